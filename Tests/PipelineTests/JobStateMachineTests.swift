import Foundation
import AWS
import Pipeline
import Testing

/// The job state machine, table by table, with no server and no store: every transition it
/// allows, what each writes, and every pair of state and event it refuses.
@Suite struct JobStateMachineTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    static let now = t0.addingTimeInterval(100)
    static let machine = JobStateMachine(policy: .init(transferAttempts: 3, backoff: .exponential, retryBase: 2, maxRetryDelay: 300,
                                                       maxHistoryDelay: 60, throttleDelay: 30, deleteFromTwilio: true))

    static func job(_ state: RecordingJob.State, jobID: String? = "J-1", attempts: Int = 0, objectKey: String? = nil,
                    pendingLineWritten: Bool = false, cleanupPending: Bool = false) -> RecordingJob {
        RecordingJob(recordingSid: "RE1", callSid: "CA1", accountSid: "AC1", startTime: t0, duration: 9, jobID: jobID, state: state, attempts: attempts,
                     nextAttemptAt: t0, objectKey: objectKey ?? ([.stored, .linked, .unmatched].contains(state) ? "recordings/k.mp3" : nil),
                     pendingLineWritten: pendingLineWritten, cleanupPending: cleanupPending, receivedAt: t0)
    }

    static let object = JobEvent.StoredObject(key: "recordings/k.mp3", size: 1200, sha256: "c2hh", jobID: "J-1", qualityProblem: nil)

    /// One job of each kind the machine tells apart.
    static let jobs: [(name: String, job: RecordingJob)] = [
        ("received", job(.received)),
        ("received, no job", job(.received, jobID: nil)),
        ("upload_pending", job(.uploadPending, attempts: 3)),
        ("upload_pending, line written", job(.uploadPending, attempts: 3, pendingLineWritten: true)),
        ("stored", job(.stored)),
        ("linked", job(.linked)),
        ("linked, clean-up pending", job(.linked, cleanupPending: true)),
        ("unmatched", job(.unmatched, jobID: nil)),
        ("unmatched, not stored", RecordingJob(recordingSid: "RE1", callSid: "CA1", accountSid: "AC1", startTime: t0, duration: 9, state: .unmatched,
                                               nextAttemptAt: t0, receivedAt: t0)),
        ("absent", job(.absent)),
        ("failed", job(.failed)),
    ]

    static let events: [JobEvent] = [
        .stored(object), .transferFailed(.transient, "timeout"), .transferFailed(.credentials, "AccessDenied"),
        .historyWritten(recordID: "rec1"), .pendingLineWritten(recordID: "rec1"), .historyFailed(.transient, "503"),
        .historyFailed(.throttled, "429"), .historyFailed(.credentials, "401"), .recordMissing(reason: "no record"), .twilioCopyDeleted,
        .cleanupFailed(.transient, "503"), .cleanupFailed(.missing, "gone"), .assigned(jobID: "J-2"),
        .recordingCompleted(startTime: t0.addingTimeInterval(5), duration: 7),
        .requeued(.received), .requeued(.stored), .requeued(.uploadPending), .requeued(.linked), .requeued(.unmatched), .requeued(.absent), .requeued(.failed),
    ]

    /// Every allowed (job, event) pair and the state it leads to; any pair not listed is refused.
    static let allowed: [String: [String: RecordingJob.State]] = [
        "received": ["stored": .stored, "transfer failed (transient)": .received, "transfer failed (credentials)": .uploadPending,
                     "requeued as received": .received],
        "received, no job": ["stored": .stored, "transfer failed (transient)": .received, "transfer failed (credentials)": .uploadPending,
                             "requeued as received": .received],
        "upload_pending": ["stored": .stored, "transfer failed (transient)": .uploadPending, "transfer failed (credentials)": .uploadPending,
                           "pending line written": .uploadPending, "history failed (transient)": .uploadPending,
                           "history failed (throttled)": .uploadPending, "history failed (credentials)": .uploadPending,
                           "record missing": .uploadPending, "requeued as received": .received, "requeued as upload_pending": .uploadPending],
        "upload_pending, line written": ["stored": .stored, "transfer failed (transient)": .uploadPending, "transfer failed (credentials)": .uploadPending,
                                         "requeued as received": .received, "requeued as upload_pending": .uploadPending],
        "stored": ["history written": .linked, "history failed (transient)": .stored, "history failed (throttled)": .stored,
                   "history failed (credentials)": .stored, "record missing": .unmatched, "requeued as received": .received, "requeued as stored": .stored],
        "linked": ["requeued as received": .received, "requeued as stored": .stored],
        "linked, clean-up pending": ["Twilio copy deleted": .linked, "clean-up failed (transient)": .linked, "clean-up failed (missing)": .linked,
                                     "requeued as received": .received, "requeued as stored": .stored],
        "unmatched": ["assigned": .stored, "requeued as received": .received],
        "unmatched, not stored": ["requeued as received": .received],
        "absent": ["recording completed": .received],
        "failed": ["recording completed": .received],
    ]

    @Test func everyPairOfStateAndEventIsAllowedAsTabledOrRefused() {
        var checked = 0
        for (name, job) in Self.jobs {
            for event in Self.events {
                let expected = Self.allowed[name]?[event.name]
                do {
                    let transition = try Self.machine.apply(event, to: job, at: Self.now)
                    #expect(transition.job.state == expected, "\(name) + \(event.name)")
                    #expect(expected != nil, "\(name) + \(event.name) should be refused")
                } catch {
                    #expect(expected == nil, "\(name) + \(event.name) was refused: \(error)")
                    #expect(error == JobStateMachine.Refused(state: job.state, event: event.name))
                }
                checked += 1
            }
        }
        #expect(checked == Self.jobs.count * Self.events.count)
        // The table names no event the machine does not have.
        let names = Set(Self.events.map(\.name))
        #expect(Self.allowed.values.allSatisfy { Set($0.keys).isSubset(of: names) })
    }

    @Test func aStoredRecordingIsLinkedLaterOrKeptUnmatched() throws {
        let stored = try Self.machine.apply(.stored(Self.object), to: Self.job(.received, attempts: 2), at: Self.now)
        #expect(stored.job.state == .stored && stored.job.objectKey == "recordings/k.mp3" && stored.job.objectSize == 1200)
        #expect(stored.job.objectSHA256 == "c2hh" && stored.job.storedAt == Self.now && stored.job.attempts == 0 && stored.notice == nil)
        var jobless = Self.object
        jobless.jobID = nil
        let unmatched = try Self.machine.apply(.stored(jobless), to: Self.job(.received, jobID: nil), at: Self.now)
        // A note, not an error: a person must act, nothing failed.
        #expect(unmatched.job.state == .unmatched && unmatched.notice == .unmatched)
        #expect(unmatched.job.note == JobStateMachine.noJobNote && unmatched.job.lastError == nil)
        // The job the callback's call named wins over none.
        let named = try Self.machine.apply(.stored(jobless), to: Self.job(.received, jobID: "J-7"), at: Self.now)
        #expect(named.job.state == .stored && named.job.jobID == "J-7")
    }

    @Test func transferFailuresBackOffAndThenGoPending() throws {
        var job = Self.job(.received)
        var delays: [TimeInterval] = []
        for _ in 1...2 {
            job = try Self.machine.apply(.transferFailed(.transient, "timeout"), to: job, at: Self.now).job
            delays.append(job.nextAttemptAt.timeIntervalSince(Self.now))
            #expect(job.state == .received && job.lastError == "timeout")
        }
        #expect(delays == [2, 4])
        let third = try Self.machine.apply(.transferFailed(.transient, "timeout"), to: job, at: Self.now)
        #expect(third.job.state == .uploadPending && third.notice == .uploadPending && third.job.nextAttemptAt == Self.now)
        // The job the call named is kept from a failed transfer: the pending line can go out.
        let named = try Self.machine.apply(.transferFailed(.transient, "timeout", jobID: "J-5"), to: Self.job(.received, jobID: nil), at: Self.now)
        #expect(named.job.jobID == "J-5")
        // Pending: the line goes out, then the transfer retries on the backoff, capped.
        let written = try Self.machine.apply(.pendingLineWritten(recordID: "rec1"), to: third.job, at: Self.now)
        #expect(written.job.pendingLineWritten && written.job.recordID == "rec1" && written.job.lastError == "timeout")
        #expect(written.job.nextAttemptAt == Self.now.addingTimeInterval(8))
        var late = written.job
        late.attempts = 20
        #expect(try Self.machine.apply(.transferFailed(.transient, "x"), to: late, at: Self.now).job.nextAttemptAt == Self.now.addingTimeInterval(300))
        let fixed = JobStateMachine(policy: .init(backoff: .fixed))
        #expect(fixed.transferDelay(afterAttempts: 1) == 2 && fixed.transferDelay(afterAttempts: 5) == 2)
    }

    /// AccessDenied is not a timeout: retrying soon cannot help, so the quick attempts are used
    /// up at once (pending line and alert now) and the transfer goes on at the slow end.
    @Test func aFailureRetryingCannotHealGoesPendingAtOnce() throws {
        for kind in FailureKind.allCases where !kind.isRetryable {
            let failed = try Self.machine.apply(.transferFailed(kind, "AccessDenied"), to: Self.job(.received), at: Self.now)
            #expect(failed.job.state == .uploadPending && failed.job.attempts == 3 && failed.notice == .uploadPending, "\(kind)")
        }
        #expect(FailureKind.allCases.filter(\.isRetryable) == [.transient, .throttled, .invalid, .budget])
        #expect(Self.machine.historyDelay(afterAttempts: 1, kind: .credentials) == 2)
        #expect(Self.machine.historyDelay(afterAttempts: 1, kind: .throttled) == 30)
        #expect(Self.machine.historyDelay(afterAttempts: 1, kind: .transient) == 2)
        #expect(Self.machine.historyDelay(afterAttempts: 9, kind: .transient) == 60)
    }

    /// One classification of the clients' errors: AccessDenied is not a timeout.
    @Test func clientErrorsAreSortedIntoKinds() {
        func aws(_ code: String, _ status: Int) -> AWSError {
            AWSError(service: "s3", operation: "PutObject", code: code, message: "", status: status, requestID: nil)
        }
        #expect(StepFailure.classify(aws("AccessDenied", 403)).kind == .credentials)
        #expect(StepFailure.classify(aws("InvalidAccessKeyId", 403)).kind == .credentials)
        #expect(StepFailure.classify(aws("ExpiredToken", 400)).kind == .credentials)
        #expect(StepFailure.classify(aws("SlowDown", 503)).kind == .transient)
        #expect(StepFailure.classify(aws("InternalError", 500)).kind == .transient)
        #expect(StepFailure.classify(aws("NoSuchKey", 404)).kind == .missing)
        #expect(StepFailure.classify(aws("BadDigest", 400)).kind == .invalid)
        #expect(StepFailure.classify(CancellationError()).kind == .transient)
        let redacted = StepFailure.classify(StepFailure(.invalid, "GET https://b.s3.amazonaws.com/k?X-Amz-Signature=abc failed"))
        #expect(redacted.kind == .invalid && !redacted.message.contains("abc"))
    }

    @Test func historyOutcomes() throws {
        let linked = try Self.machine.apply(.historyWritten(recordID: "rec1"), to: Self.job(.stored, attempts: 2), at: Self.now)
        #expect(linked.job.state == .linked && linked.job.linkedAt == Self.now && linked.job.recordID == "rec1" && linked.job.attempts == 0)
        #expect(linked.job.cleanupPending, "the policy deletes Twilio's copy")
        // A 429 is Airtable's schedule: it waits the pause and counts no attempt.
        let throttled = try Self.machine.apply(.historyFailed(.throttled, "429"), to: Self.job(.stored, attempts: 1), at: Self.now)
        #expect(throttled.job.attempts == 1 && throttled.job.nextAttemptAt == Self.now.addingTimeInterval(30) && throttled.job.lastError == "429")
        let failed = try Self.machine.apply(.historyFailed(.transient, "503"), to: Self.job(.stored, attempts: 1), at: Self.now)
        #expect(failed.job.attempts == 2 && failed.job.nextAttemptAt == Self.now.addingTimeInterval(4))
        let missing = try Self.machine.apply(.recordMissing(reason: "no record in Jobs has Job ID = J-1"), to: Self.job(.stored), at: Self.now)
        #expect(missing.job.state == .unmatched && missing.notice == .unmatched && missing.job.note == "no record in Jobs has Job ID = J-1")
        #expect(missing.job.lastError == nil)
        let pendingMissing = try Self.machine.apply(.recordMissing(reason: "none"), to: Self.job(.uploadPending, attempts: 3), at: Self.now)
        #expect(pendingMissing.job.state == .uploadPending && pendingMissing.job.pendingLineWritten && pendingMissing.notice == .unmatched)
    }

    @Test func cleanUpAndAPersonsChanges() throws {
        let deleted = try Self.machine.apply(.twilioCopyDeleted, to: Self.job(.linked, attempts: 1, cleanupPending: true), at: Self.now)
        #expect(!deleted.job.cleanupPending && deleted.job.twilioDeleted && deleted.job.attempts == 0)
        let kept = try Self.machine.apply(.cleanupFailed(.missing, "gone"), to: Self.job(.linked, cleanupPending: true), at: Self.now)
        #expect(kept.job.cleanupPending && kept.job.nextAttemptAt == Self.now.addingTimeInterval(2) && kept.job.lastError == "gone")
        let assigned = try Self.machine.apply(.assigned(jobID: "J-2"), to: Self.job(.unmatched, jobID: nil), at: Self.now)
        #expect(assigned.job.state == .stored && assigned.job.jobID == "J-2" && assigned.job.note == nil)
        let completed = try Self.machine.apply(.recordingCompleted(startTime: Self.t0.addingTimeInterval(5), duration: 7), to: Self.job(.absent), at: Self.now)
        #expect(completed.job.state == .received && completed.job.duration == 7 && completed.job.startTime == Self.t0.addingTimeInterval(5))
        let requeued = try Self.machine.apply(.requeued(.stored), to: Self.job(.linked, attempts: 4), at: Self.now)
        #expect(requeued.job.state == .stored && requeued.job.attempts == 0 && requeued.job.nextAttemptAt == Self.now)
    }

    /// Which step each kind of job waits for, and the filters the stores translate agree with it
    /// (when it is due is the store's test: `dueTimeAndEligibilityAreTheMachines`).
    @Test func eligibility() {
        let expected: [String: StepKind?] = [
            "received": .transfer, "received, no job": .transfer, "upload_pending": .history, "upload_pending, line written": .transfer,
            "stored": .history, "linked": nil, "linked, clean-up pending": .cleanup, "unmatched": nil, "unmatched, not stored": nil,
            "absent": nil, "failed": nil,
        ]
        for (name, job) in Self.jobs {
            #expect(JobStateMachine.step(for: job) == expected[name]!, "\(name)")
        }
        // An upload_pending job with a job id is eligible for both: the transfer's filter takes it too.
        #expect(JobStateMachine.eligibility(.transfer).contains { $0.matches(Self.job(.uploadPending)) })
    }
}
