import Foundation
import Logging
import Pipeline
import PostgresStore
import RecopsBase
import RecopsTesting
import SQLiteStore
import Testing
import Twilio

/// What every `JobStore` engine must do, written once: each test runs against every engine in
/// `Engine.allCases`: SQLite, and PostgreSQL when the tests have a server (`TestPostgres`;
/// `postgresRuns` says when they do not). Time is the store's own clock, moved by the test,
/// never the caller's: the PostgreSQL store takes it in place of the database's clock.
@Suite struct JobStoreConformanceTests {
    enum Engine: String, CaseIterable, CustomStringConvertible {
        case sqlite
        case postgres
        var description: String { rawValue }

        static var allCases: [Engine] { TestPostgres.isEnabled ? [.sqlite, .postgres] : [.sqlite] }
    }

    /// Closes a PostgreSQL store's pool when its test is done.
    final class Closer: Sendable {
        let close: @Sendable () -> Void
        init(_ close: @escaping @Sendable () -> Void) { self.close = close }
        deinit { close() }
    }

    /// A store under test and the hand on its clock.
    struct Subject {
        let store: any JobStore
        let clock: Locked<Date>
        var closer: Closer? = nil

        func advance(_ seconds: TimeInterval) {
            clock.withLock { $0 = $0.addingTimeInterval(seconds) }
        }

        var now: Date { clock.value }
    }

    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func subject(_ engine: Engine) async throws -> Subject {
        let clock = Locked(start)
        switch engine {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-store-\(UUID().uuidString)")
            return Subject(store: try SQLiteJobStore(directory: directory, clock: { clock.value }), clock: clock)
        case .postgres:
            let store = try await PostgresJobStore.open(settings: try await TestPostgres.freshDatabase(), clock: { clock.value },
                                                        logger: Logger(label: "test.postgres"))
            return Subject(store: store, clock: clock, closer: Closer { store.close() })
        }
    }

    /// Says so (skipped) when the PostgreSQL engine is left out for want of a server, instead of
    /// passing quietly; with one, the server answers and takes writes.
    @Test(.enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason))) func postgresRuns() async throws {
        #expect(Engine.allCases.contains(.postgres))
        let subject = try await Self.subject(.postgres)
        #expect(await subject.store.isWritable())
    }

    static func callback(_ n: Int, call: String? = nil, status: RecordingCallback.Status = .completed) -> RecordingCallback {
        RecordingCallback(accountSid: "AC" + String(repeating: "a", count: 32), callSid: call ?? String(format: "CA%032d", n),
                          recordingSid: String(format: "RE%032d", n), status: status, duration: 9, startTime: start)
    }

    static let transfer = JobStateMachine.eligibility(.transfer)
    static let history = JobStateMachine.eligibility(.history)

    /// Accepts `count` callbacks and stores them (as a transfer would) under the jobs `jobOf` names.
    static func stored(_ subject: Subject, _ numbers: ClosedRange<Int>, jobOf: (Int) -> String?) async throws -> [RecordingJob] {
        for n in numbers { _ = try await subject.store.accept(callback(n), at: subject.now) }
        var stored: [RecordingJob] = []
        while let claim = try await subject.store.claim(transfer, jobID: nil, order: .due, limit: 10, owner: "setup", lease: 60) {
            let jobs = claim.jobs.map { job in
                var job = job
                let n = Int(job.recordingSid.dropFirst(2))!
                job.jobID = jobOf(n)
                job.state = .stored
                job.objectKey = "recordings/\(n).mp3"
                return job
            }
            #expect(try await subject.store.commit(jobs, under: claim).count == jobs.count)
            stored += jobs
        }
        return stored
    }

    @Test(arguments: Engine.allCases) func acceptIsIdempotent(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        #expect(try await store.accept(Self.callback(1), at: subject.now))
        #expect(try await !store.accept(Self.callback(1), at: subject.now.addingTimeInterval(5)))
        // "absent" first, then "completed" for the same recording: the recording exists after all.
        #expect(try await store.accept(Self.callback(2, status: .absent), at: subject.now))
        #expect(try await store.job(Self.callback(2).recordingSid)?.state == .absent)
        #expect(try await !store.accept(Self.callback(2, status: .absent), at: subject.now))
        #expect(try await store.accept(Self.callback(2), at: subject.now))
        #expect(try await store.job(Self.callback(2).recordingSid)?.state == .received)
        #expect(try await store.countsByState() == [.received: 2])
        let job = try #require(try await store.job(Self.callback(1).recordingSid))
        #expect(job.receivedAt == subject.now && job.nextAttemptAt == subject.now && job.duration == 9 && job.attempts == 0)
    }

    /// Eight replicas claiming at once: every due row is claimed exactly once.
    @Test(arguments: Engine.allCases) func claimsNeverOverlap(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        for n in 1...40 { _ = try await subject.store.accept(Self.callback(n), at: subject.now) }
        let claims = try await withThrowingTaskGroup(of: [RowClaim].self) { group in
            for replica in 0..<8 {
                group.addTask {
                    var mine: [RowClaim] = []
                    while let claim = try await subject.store.claim(Self.transfer, jobID: nil, order: .due, limit: 3, owner: "r\(replica)", lease: 60) {
                        mine.append(claim)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let sids = claims.flatMap(\.recordingSids)
        #expect(sids.count == 40 && Set(sids).count == 40)
        #expect(Set(claims.map(\.token)).count == claims.count, "a new token per claim")
        #expect(claims.allSatisfy { $0.jobs.count <= 3 })
    }

    @Test(arguments: Engine.allCases) func leasesExpireAndCommitsAreFenced(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        _ = try await store.accept(Self.callback(1), at: subject.now)
        let a = try #require(try await store.claim(Self.transfer, jobID: nil, order: .due, limit: 1, owner: "a", lease: 60))
        subject.advance(59)
        #expect(try await store.claim(Self.transfer, jobID: nil, order: .due, limit: 1, owner: "b", lease: 60) == nil)
        // A long step renews its lease: still a's a minute later.
        #expect(try await store.renew(a, lease: 60) == 1)
        subject.advance(59)
        #expect(try await store.claim(Self.transfer, jobID: nil, order: .due, limit: 1, owner: "b", lease: 60) == nil)
        // The lease ran out (a crashed worker): another replica takes the step over, under a new token.
        subject.advance(2)
        let b = try #require(try await store.claim(Self.transfer, jobID: nil, order: .due, limit: 1, owner: "b", lease: 60))
        #expect(b.token != a.token && b.recordingSids == a.recordingSids)
        // a's late renewal, commit and release change nothing: the row is b's.
        var late = a.jobs[0]
        late.state = .stored
        late.objectKey = "recordings/late.mp3"
        #expect(try await store.renew(a, lease: 600) == 0)
        #expect(try await store.commit([late], under: a).count == 0)
        try await store.release(a)
        #expect(try await store.job(late.recordingSid)?.state == .received)
        #expect(try await store.claim(Self.transfer, jobID: nil, order: .due, limit: 1, owner: "c", lease: 60) == nil, "a's release freed b's row")
        // Someone presses "retry" while b's step runs: b's commit, when it comes, changes nothing.
        #expect(try await store.requeue(late.recordingSid, as: .received, at: subject.now))
        #expect(try await store.commit([late], under: b).count == 0)
        #expect(try await store.job(late.recordingSid)?.state == .received)
        // A claim that holds commits, and frees the row.
        let c = try #require(try await store.claim(Self.transfer, jobID: nil, order: .due, limit: 1, owner: "c", lease: 60))
        late.nextAttemptAt = subject.now
        #expect(try await store.commit([late], under: c).count == 1)
        let committed = try #require(try await store.job(late.recordingSid))
        #expect(committed.state == .stored && committed.objectKey == "recordings/late.mp3")
        #expect(try await store.renew(c, lease: 60) == 0, "a commit ends the claim")
    }

    @Test(arguments: Engine.allCases) func dueTimeAndEligibilityAreTheMachines(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        _ = try await Self.stored(subject, 1...6) { "J-\($0)" }
        // Make one of each kind the machine tells apart, then ask each step's filters for its rows.
        func set(_ n: Int, _ change: (inout RecordingJob) -> Void) async throws {
            let claim = try #require(try await store.claim([RowFilter(state: .stored)], jobID: "J-\(n)", order: .due, limit: 1, owner: "set", lease: 60))
            var job = claim.jobs[0]
            change(&job)
            #expect(try await store.commit([job], under: claim).count == 1)
        }
        try await set(1) { $0.state = .received; $0.jobID = nil }
        try await set(2) { $0.state = .uploadPending; $0.pendingLineWritten = false }
        try await set(3) { $0.state = .uploadPending; $0.pendingLineWritten = true }
        try await set(4) { $0.state = .linked; $0.cleanupPending = true }
        try await set(5) { $0.state = .linked; $0.cleanupPending = false }
        try await set(6) { $0.nextAttemptAt = Self.start.addingTimeInterval(3600) }  // stored, due in an hour
        _ = try await store.accept(Self.callback(7), at: subject.now)
        let all = try await store.jobs(in: Set(RecordingJob.State.allCases), limit: 100)
        for kind in StepKind.allCases {
            let filters = JobStateMachine.eligibility(kind)
            let expected = Set(all.filter { job in filters.contains { $0.matches(job) } && job.nextAttemptAt <= subject.now }.map(\.recordingSid))
            let claim = try await store.claim(filters, jobID: nil, order: .due, limit: 100, owner: "probe-\(kind)", lease: 60)
            #expect(Set(claim?.recordingSids ?? []) == expected, "\(kind)")
            if let claim { try await store.release(claim) }
        }
        #expect(try await store.jobsDue(Self.history, limit: 10) == ["J-2"])
        subject.advance(3600)
        #expect(try await store.jobsDue(Self.history, limit: 10) == ["J-2", "J-6"])
    }

    /// `reconcile --repair` under keep_in_twilio_days: only a linked job whose copy is still in
    /// Twilio is queued, once; the clean-up step then claims it.
    @Test(arguments: Engine.allCases) func aTwilioCleanupIsQueuedOnlyForALinkedJob(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        let jobs = try await Self.stored(subject, 1...3) { "J-\($0)" }
        let sid = { (n: Int) in jobs.first { $0.jobID == "J-\(n)" }!.recordingSid }
        func set(_ n: Int, _ change: (inout RecordingJob) -> Void) async throws {
            let claim = try #require(try await store.claim([RowFilter(state: .stored)], jobID: "J-\(n)", order: .due, limit: 1, owner: "set", lease: 60))
            var job = claim.jobs[0]
            change(&job)
            #expect(try await store.commit([job], under: claim).count == 1)
        }
        try await set(1) { $0.state = .linked; $0.attempts = 3; $0.nextAttemptAt = Self.start.addingTimeInterval(86_400) }
        try await set(2) { $0.state = .linked; $0.twilioDeleted = true }
        let cleanup = JobStateMachine.eligibility(.cleanup)
        #expect(try await store.claim(cleanup, jobID: nil, order: .due, limit: 10, owner: "probe", lease: 60) == nil)

        #expect(try await store.queueTwilioCleanup(sid(1), at: subject.now))
        #expect(try await store.queueTwilioCleanup(sid(1), at: subject.now), "already queued is queued")
        #expect(try await !store.queueTwilioCleanup(sid(2), at: subject.now), "Twilio's copy is gone")
        #expect(try await !store.queueTwilioCleanup(sid(3), at: subject.now), "stored, not linked")
        #expect(try await !store.queueTwilioCleanup("RE-none", at: subject.now))

        let queued = try #require(try await store.job(sid(1)))
        #expect(queued.cleanupPending && queued.attempts == 0 && queued.nextAttemptAt <= subject.now)
        let claim = try #require(try await store.claim(cleanup, jobID: nil, order: .due, limit: 10, owner: "probe", lease: 60))
        #expect(claim.recordingSids == [sid(1)])
        // A queued clean-up under way keeps its claim: queueing it again changes nothing.
        #expect(try await store.queueTwilioCleanup(sid(1), at: subject.now))
        #expect(try await store.renew(claim, lease: 60) == 1)
    }

    /// One history writer per job: eight replicas try to take J-1's history at once.
    @Test(arguments: Engine.allCases) func oneHistoryClaimPerJobUnderEightClaimers(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        let taken = try await withThrowingTaskGroup(of: HistoryClaim?.self) { group in
            for replica in 0..<8 { group.addTask { try await store.takeHistory(jobID: "J-1", owner: "r\(replica)", lease: 60) } }
            return try await group.reduce(into: []) { $0.append($1) }.compactMap { $0 }
        }
        #expect(taken.count == 1)
        let held = try #require(taken.first)
        #expect(try await store.takeHistory(jobID: "J-1", owner: held.owner, lease: 60) == nil, "not even its own owner twice")
        #expect(try await store.takeHistory(jobID: "J-2", owner: "other", lease: 60) != nil, "another job's history is free")
        #expect(try await store.renewHistory(held, lease: 60))
        subject.advance(61)
        let next = try #require(try await store.takeHistory(jobID: "J-1", owner: "late", lease: 60))
        #expect(next.token != held.token)
        // The first holder lost it: its renewal says so, its release leaves the new claim alone.
        #expect(try await !store.renewHistory(held, lease: 60))
        try await store.releaseHistory(held)
        #expect(try await store.takeHistory(jobID: "J-1", owner: "third", lease: 60) == nil)
        try await store.releaseHistory(next)
        #expect(try await store.takeHistory(jobID: "J-1", owner: "third", lease: 60) != nil)
    }

    /// The scheduler on top: eight replicas claim at once over three jobs' stored recordings.
    /// Never two history steps on one job; every line claimed once; history before transfers. (A
    /// replica may batch several jobs in one step: each still in one step only.)
    @Test(arguments: Engine.allCases) func theSchedulerNeverRunsTwoHistoryStepsOnOneJob(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        _ = try await Self.stored(subject, 1...12) { "J-\($0 % 3)" }
        _ = try await subject.store.accept(Self.callback(13), at: subject.now)
        let steps = try await withThrowingTaskGroup(of: Work?.self) { group in
            for replica in 0..<8 { group.addTask { try await Scheduler(store: subject.store, owner: "r\(replica)", lease: 60).next() } }
            return try await group.reduce(into: []) { $0.append($1) }.compactMap { $0 }
        }
        let histories = steps.flatMap { step -> [(String, [String])] in
            guard case .history(let batch) = step else { return [] }
            return batch.map { ($0.jobID, $0.rows.recordingSids) }
        }
        #expect(histories.map(\.0).sorted() == ["J-0", "J-1", "J-2"], "each job in exactly one step")
        #expect(histories.allSatisfy { $0.1.count == 4 })
        #expect(Set(histories.flatMap(\.1)).count == 12)
        #expect(steps.filter { $0.kind == .transfer }.count == 1, "then the one transfer; the others find nothing")
        #expect(steps.count == 1 + steps.filter { $0.kind == .history }.count)
    }

    /// A history step whose commit fails (here: its task was cancelled by the shutdown bound, and
    /// the store refuses a cancelled task's writes) gives the job's history back at once, rather
    /// than holding its lines for a lease.
    @Test(arguments: Engine.allCases) func aFailedCommitGivesTheHistoryBack(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        _ = try await Self.stored(subject, 1...2) { _ in "J-1" }
        let scheduler = Scheduler(store: subject.store, owner: "a", lease: 300)
        let work = try #require(try await scheduler.next())
        #expect(work.kind == .history)
        let finishing = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await scheduler.finish(work, with: work.jobs)
        }
        let result = await finishing.result
        if case .success = result { Issue.record("the cancelled commit went through: this engine does not refuse it, so this test proves nothing") }
        #expect(try await subject.store.takeHistory(jobID: "J-1", owner: "b", lease: 60) != nil, "the history claim was kept")
        #expect(try await subject.store.claim(Self.history, jobID: "J-1", order: .received, limit: 50, owner: "b", lease: 60)?.jobs.count == 2, "the rows were kept")
    }

    @Test(arguments: Engine.allCases) func aRestartedReplicaReleasesItsOwnClaims(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        _ = try await Self.stored(subject, 1...2) { _ in "J-1" }
        _ = try await store.accept(Self.callback(3), at: subject.now)
        let work = try #require(try await Scheduler(store: store, owner: "a", lease: 300).next())
        guard case .history(let batch) = work, batch.count == 1 else { Issue.record("history first, one job"); return }
        #expect(batch[0].rows.jobs.count == 2 && batch[0].jobID == "J-1")
        _ = try #require(try await Scheduler(store: store, owner: "a", lease: 300).next())  // the transfer
        #expect(try await Scheduler(store: store, owner: "b", lease: 300).next() == nil)
        #expect(try await store.claimsByOwner() == ["a": 3])
        // a restarts: two rows, one transfer row and one history claim, all free at once (not after 300 s).
        #expect(try await store.releaseClaims(owner: "a") == 4)
        #expect(try await store.stalledHistory(heldLongerThan: 0).isEmpty)
        #expect(try await store.claimsByOwner().isEmpty)
        let resumed = try #require(try await Scheduler(store: store, owner: "b", lease: 300).next())
        #expect(resumed.kind == .history && resumed.jobs.count == 2)
        #expect(try await store.claimsByOwner() == ["b": 2])
        // An expired lease is no one's work any more.
        subject.advance(301)
        #expect(try await store.claimsByOwner().isEmpty)
    }

    @Test(arguments: Engine.allCases) func stalledHistoryIsAClaimHeldTooLong(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        let held = try #require(try await store.takeHistory(jobID: "J-1", owner: "a", lease: 60))
        // Held and renewed for ten minutes: stalled past a three-minute bound, not past an hour's.
        for _ in 0..<10 {
            subject.advance(60)
            #expect(try await store.renewHistory(held, lease: 60))
        }
        #expect(try await store.stalledHistory(heldLongerThan: 180) == [StalledStep(jobID: "J-1", owner: "a", since: Self.start)])
        #expect(try await store.stalledHistory(heldLongerThan: 3600).isEmpty)
        // A lease that ran out is no stall: the worker is gone, and the step will be taken over.
        subject.advance(120)
        #expect(try await store.stalledHistory(heldLongerThan: 180).isEmpty)
    }

    /// Each replica's signing key: one row per replica, replaced by its next report, seen at the
    /// store's clock (what `keys rotate --retire-old` waits on).
    @Test(arguments: Engine.allCases) func eachReplicaReportsTheKeyItSignsWith(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        #expect(try await store.signingKeys().isEmpty)
        let expiry = Date(timeIntervalSince1970: 1_900_000_000)
        try await store.reportSigningKey(owner: "a", accessKeyID: "AKIAOLD", source: "profile pipeline (x)", expiration: nil)
        try await store.reportSigningKey(owner: "b", accessKeyID: "ASIATEMP", source: "web identity (role)", expiration: expiry)
        subject.advance(30)
        try await store.reportSigningKey(owner: "a", accessKeyID: "AKIANEW", source: "profile pipeline (x)", expiration: nil)
        let keys = try await store.signingKeys()
        #expect(keys.map(\.owner) == ["a", "b"])
        #expect(keys.map(\.accessKeyID) == ["AKIANEW", "ASIATEMP"])
        #expect(keys[1].expiration == expiry && keys[0].expiration == nil)
        #expect(abs(keys[0].seenAt.timeIntervalSince(keys[1].seenAt) - 30) < 1, "seen by the store's clock")
        #expect(abs(keys[1].age - 30) < 1 && keys[0].age < 1, "ages by the store's clock")
    }

    @Test(arguments: Engine.allCases) func stableLinksAndTheirAudit(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        // One link per recording, whoever asks first: a retried step (or another replica) gets the same id.
        let made = try await store.link(recordingSid: "RE1", objectKey: "recordings/a.mp3", jobID: "J-1", at: subject.now)
        #expect(made.id.count == RecordingLink.idLength && RecordingLink.isWellFormed(made.id[...]))
        let concurrent = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await store.link(recordingSid: "RE2", objectKey: "recordings/b.mp3", jobID: "J-1", at: subject.now).id } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(concurrent.count == 1)
        #expect(try await store.link(recordingSid: "RE1", objectKey: "recordings/a.mp3", jobID: nil, at: subject.now.addingTimeInterval(99)) == made)
        #expect(try await store.link(id: made.id) == made)
        #expect(try await store.link(id: RecordingLink.newID()) == nil)
        #expect(Set(try await store.links(jobID: "J-1").map(\.recordingSid)) == ["RE1", "RE2"])
        #expect(try await store.links(recordingSids: ["RE2", "RE9"]).map(\.recordingSid) == ["RE2"])
        #expect(try await store.revokeLinks(recordingSids: ["RE1"], at: subject.now) == 1)
        #expect(try await store.revokeLinks(recordingSids: ["RE1"], at: subject.now.addingTimeInterval(5)) == 0, "a revoked link stays revoked as it was")
        #expect(try await store.link(id: made.id)?.revokedAt == subject.now)

        func open(_ at: TimeInterval, _ client: String, _ network: String, job: String?, _ answer: LinkOpen.Answer) -> LinkOpen {
            LinkOpen(at: Self.start.addingTimeInterval(at), linkID: job == nil ? nil : made.id, recordingSid: job == nil ? nil : "RE1",
                     objectKey: job == nil ? nil : "recordings/a.mp3", jobID: job, client: client, network: network, userAgent: "agent \u{65}\u{301}",
                     session: nil, answer: answer)
        }
        #expect(try await store.networkSeen("10.0.0.0/24", before: Self.start.addingTimeInterval(1000)) == (false, false))
        for item in [open(10, "10.0.0.1", "10.0.0.0/24", job: "J-1", .redirected), open(20, "10.0.0.2", "10.0.0.0/24", job: nil, .unknown),
                     open(30, "192.0.2.1", "192.0.2.0/24", job: "J-1", .revoked), open(5000, "10.0.0.1", "10.0.0.0/24", job: "J-1", .throttled)] {
            try await store.recordOpen(item)
        }
        let all = try await store.opens(from: .distantPast, to: .distantFuture, jobID: nil, client: nil, limit: 100)
        #expect(all.map(\.answer) == [.redirected, .unknown, .revoked, .throttled])
        #expect(all[0] == open(10, "10.0.0.1", "10.0.0.0/24", job: "J-1", .redirected), "every field back as written, the agent's scalars too")
        #expect(Array(all[0].userAgent.unicodeScalars) == Array("agent \u{65}\u{301}".unicodeScalars))
        #expect(try await store.opens(from: .distantPast, to: .distantFuture, jobID: "J-1", client: nil, limit: 100).count == 3)
        #expect(try await store.opens(from: .distantPast, to: .distantFuture, jobID: nil, client: "10.0.0.1", limit: 100).count == 2)
        #expect(try await store.opens(from: Self.start.addingTimeInterval(15), to: Self.start.addingTimeInterval(30), jobID: nil, client: nil, limit: 100).count == 2)
        #expect(try await store.opens(from: .distantPast, to: .distantFuture, jobID: nil, client: nil, limit: 1).count == 1)
        try await store.recordOpen(LinkOpen(at: Self.start.addingTimeInterval(40), linkID: "x", recordingSid: "RE2", objectKey: "recordings/b.mp3", jobID: "J-1",
                                            client: "10.0.0.1", network: "10.0.0.0/24", userAgent: "", session: nil, answer: .redirected))
        #expect(try await store.distinctRecordingsOpened(client: "10.0.0.1", from: Self.start, to: Self.start.addingTimeInterval(100)) == 2)
        #expect(try await store.distinctRecordingsOpened(client: "10.0.0.1", from: Self.start.addingTimeInterval(11), to: Self.start.addingTimeInterval(100)) == 1)
        #expect(try await store.distinctRecordingsOpened(client: "192.0.2.1", from: Self.start, to: Self.start.addingTimeInterval(100)) == 0, "a revoked answer opened nothing")
        #expect(try await store.networkSeen("192.0.2.0/24", before: Self.start.addingTimeInterval(30)) == (false, true))
        #expect(try await store.networkSeen("192.0.2.0/24", before: Self.start.addingTimeInterval(31)) == (true, true))
        #expect(try await store.pruneOpens(before: Self.start.addingTimeInterval(25)) == 2)
        #expect(try await store.opens(from: .distantPast, to: .distantFuture, jobID: nil, client: nil, limit: 100).map(\.answer) == [.revoked, .redirected, .throttled])
    }

    /// The reads status, reconcile and `/ops` use, and a person's changes.
    @Test(arguments: Engine.allCases) func readsAndAPersonsChanges(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        try await store.recordCall(CallRecord(callSid: "CA1", from: "+14155550100", to: "+14155550199", jobID: "J-1", status: .ringing, startedAt: subject.now))
        try await store.recordCall(CallRecord(callSid: "CA2", from: nil, to: nil, jobID: nil, status: .ringing, startedAt: subject.now))
        // A re-sent voice webhook without a job keeps the job; the status only moves forward.
        try await store.recordCall(CallRecord(callSid: "CA1", from: nil, to: nil, jobID: nil, status: .ringing, startedAt: subject.now))
        try await store.setCallStatus(callSid: "CA1", status: .completed, at: subject.now.addingTimeInterval(60))
        try await store.setCallStatus(callSid: "CA1", status: .ringing, at: subject.now.addingTimeInterval(61))
        let call = try #require(try await store.call("CA1"))
        // The number went with the call's end (the caller index keeps its hash instead).
        #expect(call.jobID == "J-1" && call.status == .completed && call.from == nil && call.to == "+14155550199" && call.completedAt == subject.now.addingTimeInterval(60))
        #expect(try await store.unmatchedCalls(since: Self.start).map(\.callSid) == ["CA2"])
        try await store.setCallStatus(callSid: "CA2", status: .completed, at: subject.now.addingTimeInterval(60))
        // CA2 has a recording, CA3 only Twilio's "absent": CA1 and CA3 completed without one.
        _ = try await store.accept(Self.callback(9, call: "CA2"), at: subject.now)
        try await store.recordCall(CallRecord(callSid: "CA3", from: nil, to: nil, jobID: "J-3", status: .ringing, startedAt: subject.now))
        try await store.setCallStatus(callSid: "CA3", status: .completed, at: subject.now.addingTimeInterval(60))
        _ = try await store.accept(Self.callback(10, call: "CA3", status: .absent), at: subject.now)
        #expect(try await store.takeCallsMissingRecordings(completedBefore: subject.now.addingTimeInterval(30)).isEmpty)
        let missing = try await store.takeCallsMissingRecordings(completedBefore: subject.now.addingTimeInterval(120))
        #expect(missing.map(\.callSid).sorted() == ["CA1", "CA3"])
        #expect(try await store.takeCallsMissingRecordings(completedBefore: subject.now.addingTimeInterval(120)).isEmpty, "each reported once")

        let jobs = try await Self.stored(subject, 11...12) { $0 == 11 ? "J-1" : nil }
        #expect(jobs.count == 3)  // with CA2's recording
        #expect(try await store.jobs(matching: "J-1").map(\.recordingSid) == [Self.callback(11).recordingSid])
        #expect(try await store.jobs(matching: "CA2").map(\.recordingSid) == [Self.callback(9).recordingSid])
        #expect(try await store.jobs(receivedSince: Self.start).count == 4)
        #expect(try await store.jobs(receivedSince: Self.start.addingTimeInterval(1)).isEmpty)
        #expect(try await store.overdueHistoryCount(receivedBefore: Self.start.addingTimeInterval(1)) == 3)
        #expect(try await store.countsByState() == [.stored: 3, .absent: 1])

        // `recordings link`: an unmatched, stored recording gets its job, and its call with it.
        let orphan = Self.callback(12).recordingSid
        try await store.recordCall(CallRecord(callSid: Self.callback(12).callSid, from: nil, to: nil, jobID: nil, status: .completed, startedAt: subject.now))
        #expect(try await !store.assign(orphan, jobID: "J-9", at: subject.now), "stored is not unmatched")
        _ = try await store.requeue(orphan, as: .unmatched, at: subject.now)
        #expect(try await store.assign(orphan, jobID: "J-9", at: subject.now))
        let assigned = try #require(try await store.job(orphan))
        #expect(assigned.state == .stored && assigned.jobID == "J-9")
        #expect(try await store.call(assigned.callSid)?.jobID == "J-9")
        #expect(await store.isWritable())
    }

    /// Every field a step writes comes back as written.
    @Test(arguments: Engine.allCases) func aCommitKeepsEveryField(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        _ = try await subject.store.accept(Self.callback(1), at: subject.now)
        let claim = try #require(try await subject.store.claim(Self.transfer, jobID: nil, order: .due, limit: 1, owner: "a", lease: 60))
        var job = claim.jobs[0]
        job.jobID = "J-1"
        job.recordID = "rec1"
        job.state = .linked
        job.attempts = 2
        job.nextAttemptAt = Self.start.addingTimeInterval(42)
        job.lastError = "HTTP 503"
        job.note = "a note"
        job.objectKey = "recordings/k.mp3"
        job.objectSize = 1234
        job.pendingLineWritten = true
        job.qualityProblem = "short"
        job.objectSHA256 = "c2hh"
        job.cleanupPending = true
        job.twilioDeleted = false
        job.storedAt = Self.start.addingTimeInterval(1)
        job.linkedAt = Self.start.addingTimeInterval(2)
        job.erasedAt = Self.start.addingTimeInterval(3)
        #expect(try await subject.store.commit([job], under: claim).count == 1)
        #expect(try await subject.store.job(job.recordingSid) == job)
    }

    /// The caller index keeps a hash, never a number past the call's end; a webhook replayed
    /// later cannot bring the number back.
    @Test(arguments: Engine.allCases) func theCallerIndexKeepsNoNumberOnceTheCallHasEnded(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        let call = CallRecord(callSid: "CA1", from: "+14155550123", to: "+14155550100", jobID: "J-1", status: .ringing, startedAt: subject.now, callerHash: "k1:aaa")
        try await store.recordCall(call)
        #expect(try await store.call("CA1")?.from == "+14155550123", "kept while the call runs")
        try await store.setCallStatus(callSid: "CA1", status: .completed, at: subject.now)
        let ended = try #require(try await store.call("CA1"))
        #expect(ended.from == nil && ended.callerHash == "k1:aaa" && ended.jobID == "J-1")
        try await store.recordCall(call)  // Twilio re-sends the voice webhook
        #expect(try await store.call("CA1")?.from == nil)
        // A call first heard of as ended keeps no number either.
        try await store.recordCall(CallRecord(callSid: "CA2", from: "+14155550123", to: nil, jobID: nil, status: .completed, startedAt: subject.now, callerHash: "k1:aaa"))
        #expect(try await store.call("CA2")?.from == nil)
        #expect(try await Set(store.callSids(callerHashes: ["k1:aaa", "k0:old"])) == ["CA1", "CA2"])
        #expect(try await store.callSids(callerHashes: ["k1:bbb"]).isEmpty)

        // What the backfill finds: calls without a hash (a kept number, or only a recording's
        // call), and with `staleUnder`, those hashed under another key.
        try await store.recordCall(CallRecord(callSid: "CA3", from: "+14155550999", to: nil, jobID: nil, status: .inProgress, startedAt: subject.now))
        _ = try await store.accept(Self.callback(4, call: "CA4"), at: subject.now)
        #expect(try await store.unindexedCalls(staleUnder: nil, limit: 10) == [UnindexedCall(callSid: "CA3", from: "+14155550999"), UnindexedCall(callSid: "CA4", from: nil)])
        #expect(try await store.unindexedCalls(staleUnder: "k1", limit: 10).map(\.callSid) == ["CA3", "CA4"])
        #expect(try await store.unindexedCalls(staleUnder: "k2", limit: 10).map(\.callSid) == ["CA1", "CA2", "CA3", "CA4"])
        try await store.indexCaller(callSid: "CA3", hash: "k2:ccc", status: .inProgress, startedAt: subject.now)
        #expect(try await store.call("CA3")?.from == "+14155550999", "a running call keeps its number until it ends")
        try await store.indexCaller(callSid: "CA4", hash: "k2:ddd", status: .completed, startedAt: subject.now)
        let added = try #require(try await store.call("CA4"))
        #expect(added.callerHash == "k2:ddd" && added.from == nil && added.status == .completed)
        #expect(try await store.unindexedCalls(staleUnder: nil, limit: 10).isEmpty)
    }

    /// An erasure is queued once, takes the row from a step in flight only after that step's
    /// lease, never goes back, and its log line completes in the commit that marks it erased.
    @Test(arguments: Engine.allCases) func anErasureIsQueuedOnceLoggedAndFenced(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        let jobs = try await Self.stored(subject, 1...2) { "J-\($0)" }
        let erasure = JobStateMachine.eligibility(.erasure)
        func record(_ job: RecordingJob) -> ErasureRecord {
            ErasureRecord(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, objectKey: job.objectKey, scope: .caller,
                          reason: "ticket 7", requestedAt: subject.now)
        }
        // A history step holds job 1 when the erasure comes.
        let inFlight = try #require(try await store.claim(Self.history, jobID: "J-1", order: .received, limit: 5, owner: "history", lease: 60))
        #expect(try await store.queueErasure(record(jobs[0]), at: subject.now))
        #expect(try await !store.queueErasure(record(jobs[0]), at: subject.now), "queued once")
        #expect(try await store.queueErasure(record(jobs[1]), at: subject.now))
        #expect(try await store.commit(inFlight.jobs.map { var job = $0; job.state = .linked; return job }, under: inFlight).isEmpty, "the step in flight lost its commit")
        #expect(try await store.renew(inFlight, lease: 60) == 0)
        let first = try #require(try await store.claim(erasure, jobID: nil, order: .due, limit: 10, owner: "eraser", lease: 600))
        #expect(first.recordingSids == [jobs[1].recordingSid], "job 1 waits out the lease of the step that held it")
        subject.advance(61)
        let second = try #require(try await store.claim(erasure, jobID: nil, order: .due, limit: 10, owner: "eraser", lease: 60))
        #expect(second.recordingSids == [jobs[0].recordingSid])
        #expect(try await !store.requeue(jobs[0].recordingSid, as: .stored, at: subject.now), "a retry never undoes an erasure")
        #expect(try await store.job(jobs[0].recordingSid)?.state == .erasing)

        let log = try await store.erasures(since: .distantPast, limit: 10)
        #expect(log.count == 2 && log.allSatisfy { $0.completedAt == nil && $0.scope == .caller && $0.reason == "ticket 7" })
        var done = second.jobs[0]
        let machine = JobStateMachine()
        done = try machine.apply(.erased(outcome: "1 S3 version(s), Twilio's copy"), to: done, at: subject.now).job
        #expect(try await store.commit([done], under: second).count == 1)
        let erased = try #require(try await store.job(jobs[0].recordingSid))
        #expect(erased.state == .erased && erased.erasedAt == subject.now && erased.twilioDeleted)
        let completed = try #require(try await store.erasures(since: .distantPast, limit: 10).first { $0.recordingSid == jobs[0].recordingSid })
        #expect(completed.completedAt == subject.now && completed.outcome == "1 S3 version(s), Twilio's copy" && completed.objectKey == jobs[0].objectKey)
        #expect(try await !store.queueErasure(record(jobs[0]), at: subject.now), "an erased recording is not queued again")
        #expect(try await store.erasures(since: subject.now.addingTimeInterval(1), limit: 10).isEmpty)
    }

    @Test(arguments: Engine.allCases) func legalHoldsAreRemembered(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        let jobs = try await Self.stored(subject, 1...3) { "J-\($0)" }
        try await store.setLegalHold(recordingSids: [jobs[0].recordingSid, jobs[2].recordingSid], held: true)
        #expect(try await store.heldRecordings(limit: 10).map(\.recordingSid) == [jobs[0].recordingSid, jobs[2].recordingSid])
        // A step's commit does not undo a hold (it never writes the column).
        let claim = try #require(try await store.claim([RowFilter(state: .stored)], jobID: "J-1", order: .due, limit: 1, owner: "a", lease: 60))
        #expect(claim.jobs[0].legalHold)
        var job = claim.jobs[0]
        job.legalHold = false
        job.state = .linked
        #expect(try await store.commit([job], under: claim).count == 1)
        #expect(try await store.job(jobs[0].recordingSid)?.legalHold == true)
        try await store.setLegalHold(recordingSids: [jobs[0].recordingSid], held: false)
        #expect(try await store.heldRecordings(limit: 10).map(\.recordingSid) == [jobs[2].recordingSid])
    }

    /// The scheduler hands one job's due erasures to one step: one history rewrite for them all.
    @Test(arguments: Engine.allCases) func oneJobsErasuresGoTogether(engine: Engine) async throws {
        let subject = try await Self.subject(engine)
        let store = subject.store
        let jobs = try await Self.stored(subject, 1...3) { $0 == 2 ? "J-2" : "J-1" }
        for job in jobs {
            let record = ErasureRecord(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, objectKey: job.objectKey, scope: .job,
                                       reason: nil, requestedAt: subject.now)
            #expect(try await store.queueErasure(record, at: subject.now))
        }
        let scheduler = Scheduler(store: store, owner: "eraser", lease: 60)
        let first = try #require(try await scheduler.next())
        #expect(first.kind == .erasure && Set(first.jobs.map(\.jobID)) == ["J-1"] && first.jobs.count == 2 && first.rowClaims.count == 2)
        let second = try #require(try await scheduler.next())
        #expect(second.kind == .erasure && second.jobs.map(\.jobID) == ["J-2"])
        #expect(try await scheduler.next() == nil)
    }
}
