import Foundation
import Twilio

/// One recording's way from Twilio's callback to a line in its job's history.
///
/// States (see ../shared/PIPELINE.md): `received` → `stored` → `linked`. A transfer that fails
/// its attempts becomes `uploadPending` (the pending line is appended once, the transfer keeps
/// being retried). A recording whose call names no job, or a job with no Airtable record, ends
/// `unmatched`: stored in S3, kept and reported, never dropped. `absent` and `failed` are Twilio's
/// own answer that there is nothing to download; they are kept for the report. A line that does
/// not fit in the history field leaves the job `historyFull` (stored, never truncated to fit).
///
/// Download and upload are one step: a downloaded file lives on one replica's disk, so keeping a
/// "downloaded" state would tie the job to that replica; downloading again is cheap and safe.
public struct RecordingJob: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable, Codable {
        case received, uploadPending = "upload_pending", stored, linked, unmatched, absent, failed
        /// Stored, but its line does not fit in the job's history field (Airtable's 100,000
        /// characters): kept, reported, and linked once someone makes room (it is retried now and
        /// then, and at once by the retry button).
        case historyFull = "history_full"
        /// Queued for erasure (`recops recordings erase`): the erasure step removes its S3
        /// versions, Twilio's copy and its link, and erases the URL of its history line.
        case erasing
        /// Erased everywhere; the row stays (ids only) so a second erasure is a no-op.
        case erased

        /// Work remains to be done by the pipeline alone (`history_full` and `unmatched` wait for a person).
        public var isOpen: Bool { [.received, .uploadPending, .stored, .erasing].contains(self) }
    }

    public var recordingSid: String
    public var callSid: String
    public var accountSid: String
    /// The recording's start (UTC): it dates the key and the history line, so a retry changes neither.
    public var startTime: Date
    public var duration: Int?
    public var jobID: String?
    public var recordID: String?
    public var state: State
    /// Failed attempts at the current step.
    public var attempts: Int
    public var nextAttemptAt: Date
    /// The last step's failure, redacted (no URL query, no credentials); nil once a step succeeds.
    public var lastError: String?
    /// What a person should know that is not an error: "the call named no job", "no record has
    /// this job id". Kept apart so a status or a retry button never treats it as a failure.
    public var note: String?
    public var objectKey: String?
    public var objectSize: Int?
    public var pendingLineWritten: Bool
    /// What the quality check found wrong with the audio (stored all the same), or nil.
    public var qualityProblem: String?
    /// SHA-256 of the uploaded bytes (base64, as S3 reports it).
    public var objectSHA256: String?
    /// The Twilio copy is to be deleted (spec: `delete_from_twilio_after_upload`) once the object
    /// and the line are confirmed.
    public var cleanupPending: Bool
    public var twilioDeleted: Bool
    public var receivedAt: Date
    public var storedAt: Date?
    public var linkedAt: Date?
    /// Under S3 legal hold, as `recordings hold` last set it (S3 is the truth; this is what
    /// `status` and `/ops` list). Written by `setLegalHold` only, never by a step's commit.
    public var legalHold: Bool
    public var erasedAt: Date?

    public init(recordingSid: String, callSid: String, accountSid: String, startTime: Date, duration: Int?, jobID: String? = nil,
                recordID: String? = nil, state: State, attempts: Int = 0, nextAttemptAt: Date, lastError: String? = nil, note: String? = nil,
                objectKey: String? = nil, objectSize: Int? = nil, pendingLineWritten: Bool = false, qualityProblem: String? = nil,
                objectSHA256: String? = nil, cleanupPending: Bool = false, twilioDeleted: Bool = false, receivedAt: Date,
                storedAt: Date? = nil, linkedAt: Date? = nil, legalHold: Bool = false, erasedAt: Date? = nil) {
        self.legalHold = legalHold
        self.erasedAt = erasedAt
        self.recordingSid = recordingSid
        self.callSid = callSid
        self.accountSid = accountSid
        self.startTime = startTime
        self.duration = duration
        self.jobID = jobID
        self.recordID = recordID
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.note = note
        self.objectKey = objectKey
        self.objectSize = objectSize
        self.pendingLineWritten = pendingLineWritten
        self.qualityProblem = qualityProblem
        self.objectSHA256 = objectSHA256
        self.cleanupPending = cleanupPending
        self.twilioDeleted = twilioDeleted
        self.receivedAt = receivedAt
        self.storedAt = storedAt
        self.linkedAt = linkedAt
    }
}
