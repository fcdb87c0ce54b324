import Foundation

/// What happened to a job: the only inputs of `JobStateMachine`. Each step turns its outcome
/// into one event; the machine decides the new state, attempts, due time and error.
public enum JobEvent: Sendable, Equatable {
    /// Downloaded from Twilio and uploaded to S3 under `key` (download and upload are one step:
    /// a downloaded file lives on one replica's disk; see `RecordingJob`).
    case stored(StoredObject)
    /// The download or the upload failed; `jobID`: the job the call named, if known by then (so
    /// the pending line can go out).
    case transferFailed(FailureKind, String, jobID: String? = nil)
    /// The job's URL line is in its record's history, read back.
    case historyWritten(recordID: String)
    /// The job's pending line ("upload pending") is in its record's history, read back.
    case pendingLineWritten(recordID: String)
    /// The line does not fit: the history field of `recordID` is at Airtable's limit.
    case historyFull(recordID: String, length: Int)
    /// The history update failed (a 429 is `.throttled`).
    case historyFailed(FailureKind, String)
    /// The job id names no record in the table.
    case recordMissing(reason: String)
    /// Twilio's copy is deleted, the S3 object confirmed first.
    case twilioCopyDeleted
    /// The clean-up failed; Twilio's copy is kept.
    case cleanupFailed(FailureKind, String)
    /// A person named the job of an unmatched recording (`recops recordings link`).
    case assigned(jobID: String)
    /// Twilio's "completed" callback for a recording it first called absent or failed.
    case recordingCompleted(startTime: Date, duration: Int?)
    /// A person or reconcile sends the job back to a step (the retry button, a missing line).
    case requeued(RecordingJob.State)
    /// Every copy is gone and the history line's URL erased; `outcome` says what was removed.
    case erased(outcome: String)
    /// The erasure stopped short (a legal hold set meanwhile, a service down): it resumes.
    case erasureFailed(FailureKind, String)

    /// What an upload produced.
    public struct StoredObject: Sendable, Equatable {
        public var key: String
        public var size: Int
        public var sha256: String
        /// The job id the call named, if any: none means the recording is kept unmatched.
        public var jobID: String?
        /// What the quality check found wrong (stored all the same), or nil.
        public var qualityProblem: String?

        public init(key: String, size: Int, sha256: String, jobID: String?, qualityProblem: String?) {
            self.key = key
            self.size = size
            self.sha256 = sha256
            self.jobID = jobID
            self.qualityProblem = qualityProblem
        }
    }

    /// The event's name in logs and refusals.
    public var name: String {
        switch self {
        case .stored: "stored"
        case .transferFailed(let kind, _, _): "transfer failed (\(kind.rawValue))"
        case .historyWritten: "history written"
        case .pendingLineWritten: "pending line written"
        case .historyFull: "history full"
        case .historyFailed(let kind, _): "history failed (\(kind.rawValue))"
        case .recordMissing: "record missing"
        case .twilioCopyDeleted: "Twilio copy deleted"
        case .cleanupFailed(let kind, _): "clean-up failed (\(kind.rawValue))"
        case .assigned: "assigned"
        case .recordingCompleted: "recording completed"
        case .requeued(let state): "requeued as \(state.rawValue)"
        case .erased: "erased"
        case .erasureFailed(let kind, _): "erasure failed (\(kind.rawValue))"
        }
    }
}

/// Something the transition asks the caller to tell a person (the alert sink).
public enum JobNotice: Sendable, Equatable {
    /// The transfer used up its attempts: the pending line goes out, the transfer goes on.
    case uploadPending
    /// Stored but linked nowhere: the call named no job, or the job has no record.
    case unmatched
    /// Stored, its line refused for room: the job's history field is full.
    case historyFull
}
