import Airtable
import AWS
import Foundation
import RecopsBase
import Twilio

/// `recops reconcile`: the runbook's "review any missed recordings", as a check of every Twilio
/// recording in a window against the store, S3 and the job's history.
///
/// Repairs never write S3 or Airtable themselves: they put the recording into the pipeline's own
/// store (a callback that was lost is accepted as if it had arrived; a missing object or line sends
/// the job back to that step), so the worker repairs it with the same idempotent steps as a live
/// callback, and a repair run twice changes nothing the second time.
public struct Reconciler: Sendable {
    public enum Problem: String, Sendable {
        /// The callback never reached the service (it was down, or Twilio gave up).
        case notReceived = "not_received"
        case inProgress = "in_progress"
        /// Still not stored or linked after `history_retry_within`: an outage outlasted the retries.
        case overdue
        case notStored = "not_in_s3"
        case notEncrypted = "not_encrypted_as_declared"
        case sizeMismatch = "size_differs"
        case notLinked = "not_in_history"
        case unmatched
        case pendingUpload = "upload_pending"
        /// Stored; its line waits for room in the job's history field.
        case historyFull = "history_full"
        /// Twilio still holds it past `keep_in_twilio_days`; stored and linked, so its copy may go.
        case pastTwilioRetention = "past_twilio_retention"
        /// Past `keep_in_twilio_days`, but not confirmed stored and linked: Twilio's copy is kept.
        case pastTwilioRetentionKept = "past_twilio_retention_kept"
        /// Erased (`recordings erase`), yet Twilio lists it: repair deletes Twilio's copy again.
        case erasedInTwilio = "erased_but_in_twilio"

        /// About Twilio's copies past `keep_in_twilio_days`, not the window's recordings.
        public var isRetention: Bool { self == .pastTwilioRetention || self == .pastTwilioRetentionKept }
        /// Something a person or a repair must act on (in progress is not).
        public var isMissing: Bool { self != .inProgress }
        /// What `--repair` puts back through the pipeline.
        public var isRepairable: Bool { [.notReceived, .notStored, .notLinked, .overdue, .historyFull, .pastTwilioRetention, .erasedInTwilio].contains(self) }
    }

    public struct Finding: Sendable {
        public var recordingSid: String
        public var callSid: String
        public var jobID: String?
        public var problem: Problem
        public var detail: String
        public var queued = false
    }

    public struct Report: Sendable {
        public var checked: Int
        public var findings: [Finding]
        /// Twilio recordings older than `keep_in_twilio_days` (0 when the spec sets none).
        public var pastRetention = 0
        public var missing: [Finding] { findings.filter { $0.problem.isMissing } }
    }

    let configuration: PipelineConfiguration
    let store: any JobStore
    let twilio: TwilioClient
    let airtable: AirtableClient
    let s3: S3Client
    let now: @Sendable () -> Date

    public init(configuration: PipelineConfiguration, store: any JobStore, twilio: TwilioClient, airtable: AirtableClient, s3: S3Client,
                now: @escaping @Sendable () -> Date) {
        self.configuration = configuration
        self.store = store
        self.twilio = twilio
        self.airtable = airtable
        self.s3 = s3
        self.now = now
    }

    /// `since`/`until`: days (YYYY-MM-DD, Twilio filters recordings by creation day).
    public func run(since: String?, until: String?, repair: Bool) async throws -> Report {
        let recordings = try await twilio.recordings(createdAfter: since, createdBefore: until)
            .filter { ($0.status ?? "completed") == "completed" }
        var findings: [Finding] = []
        var linked: [RecordingJob] = []
        for recording in recordings {
            guard let job = try await store.job(recording.sid) else {
                var finding = Finding(recordingSid: recording.sid, callSid: recording.callSid, jobID: try await store.call(recording.callSid)?.jobID,
                                      problem: .notReceived, detail: "Twilio holds it; the service never stored its callback")
                if repair {
                    let start = recording.startTime.flatMap(RecordingCallback.parseRFC2822) ?? now()
                    let callback = RecordingCallback(accountSid: recording.accountSid ?? configuration.accountSID, callSid: recording.callSid,
                                                     recordingSid: recording.sid, status: .completed, duration: recording.duration.flatMap(Int.init), startTime: start)
                    finding.queued = try await store.accept(callback, at: now())
                }
                findings.append(finding)
                continue
            }
            switch job.state {
            case .received, .stored:
                let age = now().timeIntervalSince(job.receivedAt)
                guard age > configuration.history.retryWithin.timeInterval else {
                    findings.append(Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .inProgress, detail: job.state.rawValue))
                    continue
                }
                var finding = Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .overdue,
                                      detail: "\(job.state.rawValue) for \(Int(age / 60)) min\(job.lastError.map { ": \($0)" } ?? "")")
                // Due again now, whatever its backoff had reached.
                if repair { finding.queued = try await store.requeue(job.recordingSid, as: job.state, at: now()) }
                findings.append(finding)
            case .uploadPending:
                findings.append(Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .pendingUpload, detail: job.lastError ?? ""))
            case .historyFull:
                // Repair sends it to the history step at once: if room was made, it is linked.
                var finding = Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .historyFull,
                                      detail: "\(job.note ?? "history field full"); stored at \(job.objectKey ?? "?")")
                if repair { finding.queued = try await store.requeue(job.recordingSid, as: .stored, at: now()) }
                findings.append(finding)
            case .unmatched:
                findings.append(Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .unmatched,
                                        detail: "\(job.note ?? job.lastError ?? "no job"); stored at \(job.objectKey ?? "?")"))
            case .linked:
                if let finding = try await checkObject(job) {
                    var finding = finding
                    if repair, finding.problem == .notStored {
                        finding.queued = try await store.requeue(job.recordingSid, as: .received, at: now())
                    }
                    findings.append(finding)
                } else {
                    linked.append(job)
                }
            case .erasing:
                findings.append(Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .inProgress,
                                        detail: "erasing\(job.lastError.map { ": \($0)" } ?? "")"))
            case .erased:
                var finding = Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .erasedInTwilio,
                                      detail: "erased \(job.erasedAt.map { ISO8601DateFormatter().string(from: $0) } ?? ""), yet Twilio lists it")
                if repair {
                    try await twilio.deleteRecording(sid: job.recordingSid)
                    finding.queued = true
                }
                findings.append(finding)
            case .absent, .failed:
                break
            }
        }
        for job in try await withoutLine(linked) {
            var finding = Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .notLinked,
                                  detail: "no line for \(job.objectKey ?? "?") in \(job.jobID ?? "?")'s \(configuration.airtable.historyField)")
            if repair { finding.queued = try await store.requeue(job.recordingSid, as: .stored, at: now()) }
            findings.append(finding)
        }
        let (old, retention) = try await pastTwilioRetention(repair: repair)
        findings += retention
        return Report(checked: recordings.count, findings: findings.sorted { $0.recordingSid < $1.recordingSid }, pastRetention: old)
    }

    /// The linked jobs whose history has no line for them. A line links a recording by its
    /// object (presigned or public URL) or by its stable link.
    private func withoutLine(_ linked: [RecordingJob]) async throws -> [RecordingJob] {
        var missing: [RecordingJob] = []
        let settings = configuration.airtable
        for (jobID, jobs) in Dictionary(grouping: linked, by: { $0.jobID ?? "" }) {
            let history = try await airtable.findRecord(base: settings.base, table: settings.table, field: settings.jobIdField, equals: jobID)?
                .fields[settings.historyField]?.stringValue ?? ""
            let stable = Dictionary(try await store.links(recordingSids: jobs.map(\.recordingSid)).map { ($0.recordingSid, RecordingLink.pathPrefix + $0.id) }) { $1 }
            missing += jobs.filter { job in
                !HistoryWriter.contains(history, RecordingLayout.marker(forKey: job.objectKey ?? ""))
                    && !(stable[job.recordingSid].map { HistoryWriter.contains(history, $0) } ?? false)
            }
        }
        return missing
    }

    /// Twilio's copies older than `keep_in_twilio_days`, whatever the window. Only a copy whose
    /// recording is linked, whose object is confirmed (there, encrypted as declared, its size) and
    /// whose line is in the history goes, and it goes through the clean-up step, which checks
    /// the object's checksum once more before it deletes.
    private func pastTwilioRetention(repair: Bool) async throws -> (Int, [Finding]) {
        guard let days = configuration.recording.keepInTwilioDays else { return (0, []) }
        let old = try await twilio.recordings(olderThanDays: days, now: now()).filter { ($0.status ?? "completed") == "completed" }
        var findings: [Finding] = []
        var confirmed: [RecordingJob] = []
        for recording in old {
            func kept(_ jobID: String?, _ why: String) -> Finding {
                Finding(recordingSid: recording.sid, callSid: recording.callSid, jobID: jobID, problem: .pastTwilioRetentionKept,
                        detail: "older than \(days) days; Twilio's copy is kept: \(why)")
            }
            guard let job = try await store.job(recording.sid) else {
                findings.append(kept(nil, "the service never stored its callback"))
                continue
            }
            guard job.state == .linked, !job.twilioDeleted else {
                findings.append(kept(job.jobID, job.twilioDeleted ? "the store has it deleted, yet Twilio lists it" : "it is \(job.state.rawValue), not linked"))
                continue
            }
            if let problem = try await checkObject(job) {
                findings.append(kept(job.jobID, problem.detail))
                continue
            }
            confirmed.append(job)
        }
        let unlinked = Set(try await withoutLine(confirmed).map(\.recordingSid))
        for job in confirmed {
            if unlinked.contains(job.recordingSid) {
                findings.append(Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .pastTwilioRetentionKept,
                                        detail: "older than \(days) days; Twilio's copy is kept: no line for it in the history"))
                continue
            }
            var finding = Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: .pastTwilioRetention,
                                  detail: "older than \(days) days, stored at \(job.objectKey ?? "?") and linked: Twilio's copy may go")
            if repair { finding.queued = try await store.queueTwilioCleanup(job.recordingSid, at: now()) }
            findings.append(finding)
        }
        return (old.count, findings)
    }

    /// The object is there, encrypted as declared, and as large as what was downloaded.
    private func checkObject(_ job: RecordingJob) async throws -> Finding? {
        func finding(_ problem: Problem, _ detail: String) -> Finding {
            Finding(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, problem: problem, detail: detail)
        }
        guard let key = job.objectKey, let info = try await s3.headObject(bucket: configuration.bucket, key: key) else {
            return finding(.notStored, "s3://\(configuration.bucket)/\(job.objectKey ?? "?") is missing")
        }
        guard let algorithm = info.serverSideEncryption else {
            return finding(.notEncrypted, "S3 reports no server-side encryption, the spec says \(configuration.encryption.algorithm)")
        }
        if algorithm != configuration.encryption.algorithm {
            return finding(.notEncrypted, "encrypted with \(algorithm), the spec says \(configuration.encryption.algorithm)")
        }
        if let size = job.objectSize, info.size != size {
            return finding(.sizeMismatch, "\(info.size) bytes in S3, \(size) downloaded: check it by hand (recops never overwrites an object)")
        }
        return nil
    }
}

extension Reconciler.Report {
    public var text: String {
        var lines = findings.map { finding in
            "\(finding.problem.isMissing ? "!" : "·") \(finding.recordingSid) call \(finding.callSid) job \(finding.jobID ?? "?"): \(finding.problem.rawValue): \(finding.detail)\(finding.queued ? " [queued for repair]" : "")"
        }
        let retention = findings.filter { $0.problem.isRetention }
        let missing = self.missing.count - retention.count
        let underWay = findings.count - retention.count - missing
        if missing > 0 {
            lines.append("\(missing) of \(checked) recordings need attention.")
        } else if underWay > 0 {
            lines.append("Nothing missing of \(checked) recordings; \(underWay) still on their way to S3 or the history.")
        } else {
            lines.append("All \(checked) recordings are stored and linked.")
        }
        if pastRetention > 0 {
            let going = retention.filter { $0.problem == .pastTwilioRetention }
            let queued = going.filter(\.queued).count
            lines.append("Twilio holds \(pastRetention) recording\(pastRetention == 1 ? "" : "s") older than keep_in_twilio_days: \(going.count) stored and linked"
                + (queued > 0 ? " (\(queued) queued for deletion)" : going.isEmpty ? "" : " (--repair deletes them)")
                + ", \(retention.count - going.count) kept.")
        }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            "checked": .number(Double(checked)), "missing": .number(Double(missing.count)), "past_twilio_retention": .number(Double(pastRetention)),
            "findings": .array(findings.map { finding in
                .object(["recording_sid": .string(finding.recordingSid), "call_sid": .string(finding.callSid),
                         "job_id": finding.jobID.map(JSONValue.string) ?? .null, "problem": .string(finding.problem.rawValue),
                         "detail": .string(finding.detail), "queued": .bool(finding.queued)])
            }),
        ])
    }
}
