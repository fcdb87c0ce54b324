import Foundation

/// The rules of a recording's way, as one pure type: which events each state accepts, what a
/// transition writes (state, attempts, due time, error, note), which step a job is due for, and
/// the backoff between attempts. No store, no clock, no network: the steps ask it, and the store
/// only keeps what it decides.
///
/// ```
/// received ──stored──▶ stored ──history written──▶ linked ──Twilio copy deleted──▶ linked (done)
///    │  └─stored, no job─▶ unmatched ◀──record missing──┘        (only with delete_from_twilio)
///    └─transfer failed × attempts─▶ upload_pending ──stored──▶ stored
///                                   (pending line written once; transfer retried)
/// absent / failed ──recording completed──▶ received          unmatched ──assigned──▶ stored
/// stored ──line does not fit──▶ history_full ──room made (retried), line written──▶ linked
/// any state ──queueErasure (a person)──▶ erasing ──erased──▶ erased (failures retried)
/// ```
public struct JobStateMachine: Sendable {
    /// How failed steps are retried (the spec's `recordings.upload`, and the service's tuning).
    public struct Policy: Sendable, Equatable {
        /// Transfer attempts before the job becomes `upload_pending` (and its pending line goes out).
        public var transferAttempts: Int
        public var backoff: Backoff
        /// First delay after a failed attempt; doubled per attempt when `backoff` is exponential.
        public var retryBase: TimeInterval
        public var maxRetryDelay: TimeInterval
        /// History retries stay short, so a line arrives well within `history_retry_within` once
        /// Airtable answers again.
        public var maxHistoryDelay: TimeInterval
        /// Airtable's own pause after a 429.
        public var throttleDelay: TimeInterval
        /// The spec's `delete_from_twilio_after_upload`: a linked job goes on to the clean-up.
        public var deleteFromTwilio: Bool
        /// How often a `history_full` job looks again whether someone made room.
        public var historyFullRecheck: TimeInterval
        /// How long history waits when recops's monthly Airtable budget is spent.
        public var budgetDelay: TimeInterval

        public init(transferAttempts: Int = 3, backoff: Backoff = .exponential, retryBase: TimeInterval = 2, maxRetryDelay: TimeInterval = 300,
                    maxHistoryDelay: TimeInterval = 60, throttleDelay: TimeInterval = 30, deleteFromTwilio: Bool = false,
                    historyFullRecheck: TimeInterval = 600, budgetDelay: TimeInterval = 900) {
            self.historyFullRecheck = historyFullRecheck
            self.budgetDelay = budgetDelay
            self.transferAttempts = transferAttempts
            self.backoff = backoff
            self.retryBase = retryBase
            self.maxRetryDelay = maxRetryDelay
            self.maxHistoryDelay = maxHistoryDelay
            self.throttleDelay = throttleDelay
            self.deleteFromTwilio = deleteFromTwilio
        }
    }

    /// An event the job's state does not accept: a bug, or a step that lost a race to a person's
    /// change. The step's outcome is dropped (its claim released); the job's row is untouched.
    public struct Refused: Error, Sendable, Equatable, CustomStringConvertible {
        public var state: RecordingJob.State
        public var event: String

        public init(state: RecordingJob.State, event: String) {
            self.state = state
            self.event = event
        }

        public var description: String { "a \(state.rawValue) recording cannot take the event \"\(event)\"" }
    }

    /// The job after the event, and what to tell a person.
    public struct Transition: Sendable, Equatable {
        public var job: RecordingJob
        public var notice: JobNotice?
    }

    public static let noJobNote = "the call named no job: stored, not linked"

    public static func fullNote(length: Int) -> String {
        "the job's history field is full (\(length) of 100000 characters): stored, not linked; make room in the field and it is linked"
    }

    public var policy: Policy

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// The job after `event` at `now`, or `Refused`.
    public func apply(_ event: JobEvent, to original: RecordingJob, at now: Date) throws(Refused) -> Transition {
        var job = original
        var notice: JobNotice?
        let refused = Refused(state: original.state, event: event.name)
        switch (original.state, event) {
        case (.received, .stored(let object)), (.uploadPending, .stored(let object)):
            job.objectKey = object.key
            job.objectSize = object.size
            job.objectSHA256 = object.sha256
            job.qualityProblem = object.qualityProblem
            job.jobID = original.jobID ?? object.jobID
            job.storedAt = now
            job.attempts = 0
            job.lastError = nil
            job.nextAttemptAt = now
            if job.jobID == nil {
                job.state = .unmatched
                job.note = Self.noJobNote
                notice = .unmatched
            } else {
                job.state = .stored
                job.note = nil
            }

        case (.received, .transferFailed(let kind, let message, let jobID)), (.uploadPending, .transferFailed(let kind, let message, let jobID)):
            job.jobID = original.jobID ?? jobID
            // A failure retrying cannot heal uses up the quick attempts at once: the pending line
            // and the alert go out now, and the transfer goes on at the slow end of the backoff.
            job.attempts = kind.isRetryable ? job.attempts + 1 : max(job.attempts + 1, policy.transferAttempts)
            job.lastError = message
            if job.state == .received, job.attempts >= policy.transferAttempts {
                job.state = .uploadPending
                job.nextAttemptAt = now  // the pending line goes out first
                notice = .uploadPending
            } else {
                job.nextAttemptAt = now.addingTimeInterval(transferDelay(afterAttempts: job.attempts))
            }

        case (.stored, .historyWritten(let recordID)), (.historyFull, .historyWritten(let recordID)):
            job.state = .linked
            job.recordID = recordID
            job.linkedAt = now
            job.lastError = nil
            job.note = nil
            job.attempts = 0
            job.nextAttemptAt = now
            job.cleanupPending = policy.deleteFromTwilio

        case (.uploadPending, .pendingLineWritten(let recordID)) where !original.pendingLineWritten:
            job.pendingLineWritten = true
            job.recordID = recordID
            // The transfer's own error stays: it is still why the recording is not in S3.
            job.nextAttemptAt = now.addingTimeInterval(transferDelay(afterAttempts: job.attempts))

        case (.stored, .historyFull(let recordID, let length)), (.historyFull, .historyFull(let recordID, let length)):
            job.state = .historyFull
            job.recordID = recordID
            job.note = Self.fullNote(length: length)
            job.lastError = nil
            job.attempts = 0
            job.nextAttemptAt = now.addingTimeInterval(policy.historyFullRecheck)
            if original.state == .stored { notice = .historyFull }  // told once, not at every look

        case (.uploadPending, .historyFull(let recordID, let length)) where !original.pendingLineWritten:
            // No room for the pending line either: it is given up (the transfer goes on, and its
            // URL line will wait in history_full in turn), and a person is told.
            job.pendingLineWritten = true
            job.recordID = recordID
            job.note = Self.fullNote(length: length)
            notice = .historyFull

        case (.historyFull, .historyFailed(let kind, let message)):
            job.lastError = message
            job.nextAttemptAt = now.addingTimeInterval(historyDelay(afterAttempts: 1, kind: kind))

        case (.stored, .historyFailed(let kind, let message)),
             (.uploadPending, .historyFailed(let kind, let message)) where !original.pendingLineWritten:
            job.lastError = message
            // A throttle is Airtable's schedule, not a failure of this job: it counts no attempt.
            if job.state == .stored, !kind.isSchedule { job.attempts += 1 }
            job.nextAttemptAt = now.addingTimeInterval(historyDelay(afterAttempts: job.state == .stored ? job.attempts : 1, kind: kind))

        case (.stored, .recordMissing(let reason)), (.historyFull, .recordMissing(let reason)):
            job.state = .unmatched
            job.note = reason
            job.lastError = nil
            notice = .unmatched

        case (.uploadPending, .recordMissing(let reason)) where !original.pendingLineWritten:
            job.pendingLineWritten = true  // no record to write it to; the transfer goes on
            job.note = reason
            notice = .unmatched

        case (.linked, .twilioCopyDeleted) where original.cleanupPending:
            job.cleanupPending = false
            job.twilioDeleted = true
            job.attempts = 0
            job.lastError = nil

        case (.linked, .cleanupFailed(let kind, let message)) where original.cleanupPending:
            job.attempts += 1
            job.lastError = message
            job.nextAttemptAt = now.addingTimeInterval(transferDelay(afterAttempts: job.attempts))

        case (.unmatched, .assigned(let jobID)) where original.objectKey != nil:
            job.state = .stored
            job.jobID = jobID
            job.recordID = nil
            job.attempts = 0
            job.lastError = nil
            job.note = nil
            job.nextAttemptAt = now

        case (.absent, .recordingCompleted(let start, let duration)), (.failed, .recordingCompleted(let start, let duration)):
            job.state = .received
            job.startTime = start
            job.duration = duration
            job.nextAttemptAt = now

        case (.erasing, .erased(let outcome)):
            job.state = .erased
            job.erasedAt = now
            job.note = outcome
            job.lastError = nil
            job.attempts = 0
            job.cleanupPending = false
            job.twilioDeleted = true

        case (.erasing, .erasureFailed(let kind, let message)):
            job.attempts += 1
            job.lastError = message
            job.nextAttemptAt = now.addingTimeInterval(transferDelay(afterAttempts: kind.isRetryable ? job.attempts : policy.transferAttempts + job.attempts))

        case (_, .requeued(let target)) where Self.mayRequeue(original, as: target):
            job.state = target
            job.attempts = 0
            job.nextAttemptAt = now

        default:
            throw refused
        }
        return Transition(job: job, notice: notice)
    }

    /// Reconcile and the retry button send a job back: to `received` (transfer again) from any
    /// state but the terminal reports of Twilio, to `stored` (write the line again) only with its
    /// object in S3 and its job known, and to its own open state (due now).
    public static func mayRequeue(_ job: RecordingJob, as target: RecordingJob.State) -> Bool {
        // An erasure is never undone by a retry: nothing would be left to transfer or link.
        if job.state == .erasing || job.state == .erased { return false }
        return switch target {
        case .received: job.state != .absent && job.state != .failed
        case .stored: job.objectKey != nil && job.jobID != nil && [.stored, .linked, .uploadPending, .historyFull].contains(job.state)
        case .uploadPending: job.state == .uploadPending
        case .linked, .unmatched, .absent, .failed, .historyFull, .erasing, .erased: false
        }
    }

    // MARK: Backoff

    /// Delay before transfer attempt `attempts + 1`.
    public func transferDelay(afterAttempts attempts: Int) -> TimeInterval {
        min(policy.maxRetryDelay, policy.retryBase * policy.backoff.factor(afterAttempts: attempts))
    }

    /// Delay before the next history attempt: a 429's pause, otherwise short and exponential
    /// whatever the kind (the history is bounded by `history_retry_within`, and a token fixed by
    /// a person should show within a minute).
    public func historyDelay(afterAttempts attempts: Int, kind: FailureKind) -> TimeInterval {
        if kind == .budget { return policy.budgetDelay }
        return kind == .throttled ? policy.throttleDelay : min(policy.maxHistoryDelay, policy.retryBase * Backoff.exponential.factor(afterAttempts: attempts))
    }

    // MARK: Eligibility

    /// The step `job` waits for, whenever it is due; nil when nothing is left to do. When a job
    /// could go to two steps (an `upload_pending` one whose pending line is not written), the
    /// history comes first: it finishes what is already known, and Airtable is the scarcer resource.
    public static func step(for job: RecordingJob) -> StepKind? {
        StepKind.allCases.first { kind in eligibility(kind).contains { $0.matches(job) } }
    }

    /// The rows a step may claim, as filters both store engines translate (any one matches).
    public static func eligibility(_ kind: StepKind) -> [RowFilter] {
        switch kind {
        case .history: [RowFilter(state: .stored, hasJob: true), RowFilter(state: .uploadPending, hasJob: true, pendingLineWritten: false),
                        RowFilter(state: .historyFull, hasJob: true)]
        case .transfer: [RowFilter(state: .received), RowFilter(state: .uploadPending)]
        case .cleanup: [RowFilter(state: .linked, cleanupPending: true)]
        case .erasure: [RowFilter(state: .erasing)]
        }
    }
}

/// The steps, in the order the scheduler offers them.
public enum StepKind: String, Sendable, CaseIterable, Codable {
    /// Append the due lines (URL lines and pending lines) of one job, in one read-modify-write.
    case history
    /// Download from Twilio and upload to S3.
    case transfer
    /// Delete the Twilio copy of a linked recording whose S3 object is confirmed.
    case cleanup
    /// Remove every copy of a recording queued for erasure, and the URL of its history line.
    case erasure
}

/// Which rows are eligible for a step: a state and optional conditions on three columns. Plain
/// data, so each store engine writes the same condition in its own SQL, and `matches` says what
/// that SQL must mean (the conformance suite holds every engine to it).
public struct RowFilter: Sendable, Equatable, Hashable {
    public var state: RecordingJob.State
    /// Whether the job id is known.
    public var hasJob: Bool?
    public var pendingLineWritten: Bool?
    public var cleanupPending: Bool?

    public init(state: RecordingJob.State, hasJob: Bool? = nil, pendingLineWritten: Bool? = nil, cleanupPending: Bool? = nil) {
        self.state = state
        self.hasJob = hasJob
        self.pendingLineWritten = pendingLineWritten
        self.cleanupPending = cleanupPending
    }

    public func matches(_ job: RecordingJob) -> Bool {
        job.state == state && hasJob.map { $0 == (job.jobID != nil) } ?? true
            && pendingLineWritten.map { $0 == job.pendingLineWritten } ?? true
            && cleanupPending.map { $0 == job.cleanupPending } ?? true
    }
}

extension JobStateMachine.Backoff {
    func factor(afterAttempts attempts: Int) -> Double {
        switch self {
        case .fixed: 1
        case .exponential: pow(2.0, Double(max(0, attempts - 1)))
        }
    }
}

extension JobStateMachine {
    /// The spec's `recordings.upload.backoff`.
    public enum Backoff: String, Sendable, CaseIterable, Codable {
        case exponential, fixed
    }
}
