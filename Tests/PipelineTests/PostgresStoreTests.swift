import Airtable
import Foundation
import Logging
import Pipeline
@testable import PostgresStore
import RecopsBase
import RecopsTesting
import SQLiteStore
import Testing
import Twilio

/// What only the PostgreSQL engine has: migrations shared by replicas, start-up errors, the
/// LISTEN wake-up, rescue and pruning, the copy from SQLite, and the Airtable budget every
/// replica shares. (The contract both engines keep is `JobStoreConformanceTests`.)
@Suite(.enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct PostgresStoreTests {
    static var logger: Logger {
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .warning
        return logger
    }

    static func callback(_ n: Int, call: String? = nil) -> RecordingCallback {
        RecordingCallback(accountSid: "AC" + String(repeating: "a", count: 32), callSid: call ?? String(format: "CA%032d", n),
                          recordingSid: String(format: "RE%032d", n), status: .completed, duration: 9, startTime: Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func replicasStartingTogetherMigrateOnce() async throws {
        let settings = try await TestPostgres.freshDatabase()
        let stores = try await withThrowingTaskGroup(of: PostgresJobStore.self) { group in
            for _ in 0..<3 { group.addTask { try await PostgresJobStore.open(settings: settings, logger: Self.logger) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        defer { stores.forEach { $0.close() } }
        #expect(try await TestPostgres.integer(settings, "SELECT count(*) FROM recops_schema") == PostgresSchema.migrations.count)
        // The server ends a session left idle in a transaction, and bounds every statement.
        #expect(try await stores[1].query("t", "SHOW idle_in_transaction_session_timeout").first?.decode(String.self) == "30s")
        #expect(try await stores[1].query("t", "SHOW statement_timeout").first?.decode(String.self) == "30s")
        // And they share one store: what one accepts, another reads.
        #expect(try await stores[0].accept(Self.callback(1), at: Date()))
        #expect(try await stores[2].job(Self.callback(1).recordingSid)?.state == .received)
    }

    @Test func startUpErrorsAreClearAndKeepThePasswordOut() async throws {
        let good = try PostgresSettings(url: try #require(TestPostgres.url))
        // A wrong password: the server's reason, never the password.
        var wrong = try PostgresSettings(url: "postgres://\(good.username):not-the-Password-42@\(good.host):\(good.port)/\(good.database)?sslmode=disable")
        wrong.connectTimeout = .seconds(10)
        let refused = await #expect(throws: JobStoreError.self) { try await PostgresJobStore.open(settings: wrong, logger: Self.logger) }
        #expect(refused?.kind == .setup)
        #expect("\(refused!)".contains("password authentication failed"), "\(refused!)")
        #expect(!"\(refused!)".contains("not-the-Password-42"))
        #expect("\(refused!)".contains("postgres://\(good.username):***@"))
        // Nothing listens on the port: "cannot connect".
        let closed = freeLoopbackPort()
        let nowhere = try PostgresSettings(url: "postgres://u:hunter2secret@127.0.0.1:\(closed)/db?sslmode=disable")
        let unreachable = await #expect(throws: JobStoreError.self) { try await PostgresJobStore.open(settings: nowhere, logger: Self.logger) }
        #expect("\(unreachable!)".contains("cannot connect") && !"\(unreachable!)".contains("hunter2secret"), "\(unreachable!)")
        // A URL that is not one: named, password hidden.
        let invalid = #expect(throws: PostgresSettings.InvalidURL.self) { try PostgresSettings(url: "postgres://u:hunter2secret@/db") }
        #expect("\(invalid!)".contains("names no host") && !"\(invalid!)".contains("hunter2secret"))
        #expect(throws: PostgresSettings.InvalidURL.self) { try PostgresSettings(url: "mysql://u:p@h/db") }
        #expect(throws: PostgresSettings.InvalidURL.self) { try PostgresSettings(url: "postgres://u@h/db?sslmode=sometimes") }
        #expect(PostgresSettings.redact("postgres://u:hunter2@h/db") == "postgres://u:***@h/db")
        // Forms the redaction cannot take apart are not shown at all.
        // A combining mark after "@" (or ":") must not hide it from the redaction.
        #expect(PostgresSettings.redact("postgres://u:hunter2@\u{301}h/db") == "postgres://u:***@\u{301}h/db")
        #expect(!PostgresSettings.redact("postgres://u:hunter2\u{301}@h/db").contains("hunter2"))
        for text in ["host=db user=app password=hunter2 dbname=x", "postgres://app@db/x?password=hunter2", "postgres://u:hun ter2@h/db",
                     "postgres://u:hunter2@\u{301}h/db", "postgres://u:hun\u{2003}ter2@h/db"] {
            #expect(!PostgresSettings.redact(text).contains("hunter2") && !PostgresSettings.redact(text).contains("ter2"))
            let shown: String
            do { shown = "\(try PostgresSettings(url: text))" } catch { shown = "\(error)" }
            #expect(!shown.contains("hunter2") && !shown.contains("ter2"), "\(shown)")
        }
    }

    @Test func aNewCallbackWakesAnIdleReplicaAtOnce() async throws {
        let settings = try await TestPostgres.freshDatabase()
        let idle = try await PostgresJobStore.open(settings: settings, logger: Self.logger)
        let webhook = try await PostgresJobStore.open(settings: settings, logger: Self.logger)
        defer { idle.close(); webhook.close() }
        let running = Task { try await idle.run() }
        defer { running.cancel() }
        let deadline = ContinuousClock.now + .seconds(60)
        while !idle.listening.value, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(idle.listening.value)
        // Drain the wake-up the new LISTEN gives itself.
        await idle.waitForWork(upTo: .milliseconds(1))
        let started = ContinuousClock.now
        #expect(try await webhook.accept(Self.callback(7), at: Date()))
        // The poll fallback alone would take 90 s or more (upTo × 0.75); the notification is
        // what ends this wait.
        await idle.waitForWork(upTo: .seconds(120))
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func rescueReturnsExpiredLeasesAndPruneKeepsTheHotTableSmall() async throws {
        let settings = try await TestPostgres.freshDatabase()
        let clock = Locked(Date(timeIntervalSince1970: 1_700_000_000))
        let store = try await PostgresJobStore.open(settings: settings, clock: { clock.value }, logger: Self.logger)
        defer { store.close() }
        for n in 1...3 { #expect(try await store.accept(Self.callback(n), at: clock.value)) }
        let claim = try #require(try await store.claim(JobStateMachine.eligibility(.transfer), jobID: nil, order: .due, limit: 3, owner: "dead-replica", lease: 30))
        #expect(try await store.rescue() == 0)
        clock.withLock { $0 = $0.addingTimeInterval(31) }
        // Expired, but within the grace: the holder's late commit may still land.
        #expect(try await store.rescue() == 0)
        clock.withLock { $0 = $0.addingTimeInterval(60) }
        #expect(try await store.rescue() == 3)
        #expect(try await TestPostgres.integer(settings, "SELECT count(*) FROM recordings WHERE claimed_by IS NOT NULL") == 0)
        // The dead replica's late commit is fenced out.
        #expect(try await store.commit(claim.jobs, under: claim).isEmpty)

        // Two linked long ago, one linked now, one still open: only the old linked ones go.
        let rows = try #require(try await store.claim(JobStateMachine.eligibility(.transfer), jobID: nil, order: .due, limit: 3, owner: "r", lease: 30))
        let jobs = rows.jobs.enumerated().map { index, job in
            var job = job
            job.state = .linked
            job.jobID = "J-1"
            job.objectKey = "k\(index)"
            job.linkedAt = index < 2 ? clock.value.addingTimeInterval(-100 * 86_400) : clock.value
            return job
        }
        #expect(try await store.commit(jobs, under: rows).count == 3)
        #expect(try await store.accept(Self.callback(4), at: clock.value))
        #expect(try await store.prune(linkedBefore: clock.value.addingTimeInterval(-90 * 86_400)) == 2)
        #expect(try await store.job(Self.callback(1).recordingSid) == nil)
        // Twilio sending a pruned recording's callback again stores nothing.
        #expect(try await !store.accept(Self.callback(1), at: clock.value))
        #expect(try await store.job(Self.callback(1).recordingSid) == nil)
        #expect(try await store.job(Self.callback(3).recordingSid)?.state == .linked)
        #expect(try await store.job(Self.callback(4).recordingSid)?.state == .received)
    }

    @Test func copyFromSQLiteKeepsEveryStateAndASecondCopyIsANoOp() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-copy-\(UUID().uuidString)")
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let sqlite = try SQLiteJobStore(directory: directory, clock: { start })
        for n in 1...5 {
            try await sqlite.recordCall(CallRecord(callSid: Self.callback(n).callSid, from: "+15550100\(n)", to: "+15550199", jobID: n == 5 ? nil : "J-\(n)",
                                                   status: .inProgress, startedAt: start))
            #expect(try await sqlite.accept(Self.callback(n), at: start))
        }
        try await sqlite.setCallStatus(callSid: Self.callback(1).callSid, status: .completed, at: start)
        // In flight: one stored with its line due, one failing with attempts, one held by a
        // claim of the old service (claims are not copied).
        var claim = try #require(try await sqlite.claim(JobStateMachine.eligibility(.transfer), jobID: nil, order: .due, limit: 2, owner: "old", lease: 60))
        claim.jobs[0].state = .stored
        claim.jobs[0].jobID = "J-1"
        claim.jobs[0].objectKey = "recordings/1.mp3"
        claim.jobs[0].objectSize = 1234
        claim.jobs[1].attempts = 3
        claim.jobs[1].lastError = "S3 answered 503"
        claim.jobs[1].nextAttemptAt = start.addingTimeInterval(40)
        #expect(try await sqlite.commit(claim.jobs, under: claim).count == 2)
        _ = try await sqlite.claim(JobStateMachine.eligibility(.transfer), jobID: nil, order: .due, limit: 1, owner: "old", lease: 60)

        let settings = try await TestPostgres.freshDatabase()
        let postgres = try await PostgresJobStore.open(settings: settings, clock: { start }, logger: Self.logger)
        defer { postgres.close() }
        let rows = try await sqlite.exportRows()
        #expect(try await postgres.importRows(recordings: rows.recordings, calls: rows.calls) == (5, 5))
        for n in 1...5 {
            let sid = Self.callback(n).recordingSid
            #expect(try await postgres.job(sid) == sqlite.job(sid), "recording \(n)")
            #expect(try await postgres.call(Self.callback(n).callSid) == sqlite.call(Self.callback(n).callSid), "call \(n)")
        }
        #expect(try await TestPostgres.integer(settings, "SELECT count(*) FROM recordings WHERE claimed_by IS NOT NULL") == 0)
        // The copied work goes on from where it was: the due ones can be claimed at once.
        #expect(try await postgres.claim(JobStateMachine.eligibility(.transfer), jobID: nil, order: .due, limit: 10, owner: "new", lease: 60)?.jobs.count == 3)
        let again = try await postgres.importRows(recordings: rows.recordings, calls: rows.calls)
        #expect(again == (0, 0))
    }

    /// Three replicas, each with its own in-process limiter, send 45 requests at once to one
    /// base: together they keep to 5 a second, as the sandbox itself counts, and a 429 on one
    /// pauses the others.
    @Test func threeReplicasShareOneAirtableBudget() async throws {
        try await LocalSandbox.with(throttlePause: .seconds(30)) { sandbox in
            let settings = try await TestPostgres.freshDatabase()
            var budgets: [SharedRequestBudget] = []
            var stores: [PostgresJobStore] = []
            for replica in 0..<3 {
                let store = try await PostgresJobStore.open(settings: settings, logger: Self.logger)
                stores.append(store)
                budgets.append(SharedRequestBudget(local: RateLimiter(pauseAfterThrottle: .seconds(2)), store: store, replica: "replica-\(replica)"))
            }
            defer { stores.forEach { $0.close() } }
            let seed = sandbox.seed
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, budget) in budgets.enumerated() {
                    let airtable = sandbox.airtable(limiter: budget)
                    for n in 0..<15 {
                        group.addTask {
                            _ = try await airtable.findRecord(base: seed.baseID, table: "Jobs", field: "Job ID", equals: "J-\(index)-\(n)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            let airtableState = try await sandbox.dump()["airtable"]
            #expect(airtableState?["peak_per_second"]?.numberValue ?? 99 <= 5, "\(airtableState?["peak_per_second"] as Any)")
            #expect(airtableState?["throttled"]?.numberValue == 0)
            #expect(airtableState?["served"]?.numberValue ?? 0 >= 45)
            // 45 requests at 5 a second: at least 8 s (the first five go at once).
            #expect(elapsed >= .seconds(8))
            // Every slot is back.
            #expect(try await TestPostgres.integer(settings, "SELECT count(*) FROM airtable_slots WHERE holder IS NOT NULL") == 0)

            // A 429 seen by replica 0 pauses replica 2 as well.
            await budgets[0].throttled(seed.baseID)
            let paused = ContinuousClock.now
            _ = try await sandbox.airtable(limiter: budgets[2]).findRecord(base: seed.baseID, table: "Jobs", field: "Job ID", equals: "J-after")
            #expect(ContinuousClock.now - paused >= .milliseconds(1500))
        }
    }

    /// A waiter that gives up takes no slot with it, and a request cancelled mid-flight gives
    /// its slot back.
    @Test func aCancelledWaiterLeavesTheBudgetAsItWas() async throws {
        let settings = try await TestPostgres.freshDatabase()
        let store = try await PostgresJobStore.open(settings: settings, logger: Self.logger)
        defer { store.close() }
        let throttled = SharedRequestBudget(local: RateLimiter(pauseAfterThrottle: .seconds(60)), store: store, replica: "r1")
        _ = try await throttled.run("appBASE") { 1 }
        await throttled.throttled("appBASE")
        // Paused for every replica: another replica's request waits on the shared pause.
        let budget = SharedRequestBudget(local: RateLimiter(), store: store, replica: "r3")
        // Given up at different moments: in the local queue, in a statement, between polls.
        for delay in [0, 1, 2, 5, 10, 20, 50, 100, 200] {
            let waiter = Task { try await budget.run("appBASE") { 2 } }
            try await Task.sleep(for: .milliseconds(delay))
            waiter.cancel()
            await #expect(throws: CancellationError.self, "cancelled after \(delay) ms") { _ = try await waiter.value }
        }
        #expect(try await TestPostgres.integer(settings, "SELECT count(*) FROM airtable_slots WHERE holder IS NOT NULL") == 0)
        // In flight when cancelled: the slot still comes back.
        try await TestPostgres.execute(settings, "DELETE FROM airtable_pauses")
        let other = SharedRequestBudget(local: RateLimiter(), store: store, replica: "r2")
        let inFlight = Task { try await other.run("appBASE") { try await Task.sleep(for: .seconds(30)); return 3 } }
        let deadline = ContinuousClock.now + .seconds(30)
        while try await TestPostgres.integer(settings, "SELECT count(*) FROM airtable_slots WHERE holder IS NOT NULL") == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        inFlight.cancel()
        _ = try? await inFlight.value
        #expect(try await TestPostgres.integer(settings, "SELECT count(*) FROM airtable_slots WHERE holder IS NOT NULL") == 0)
    }
}
