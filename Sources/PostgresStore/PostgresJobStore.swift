import Foundation
import Logging
import Pipeline
import PostgresNIO
import RecopsBase
import ServiceLifecycle
import Twilio

/// The `JobStore` several replicas share: PostgreSQL through postgres-nio's bounded pool.
///
/// The same contract as the SQLite store, with the server doing the locking:
/// - due rows are claimed by one statement, `FOR UPDATE SKIP LOCKED` inside a CTE, so two
///   replicas never claim the same row and never wait on each other;
/// - every commit, renewal and release is fenced by the claim's token (a claimed row is one
///   with a token: the "running" state);
/// - a job's history claim is a row of its own, taken by an upsert that only takes over an
///   expired row;
/// - `rescue` clears expired leases in one statement; every replica runs it now and then, so no
///   leader is needed (an expired lease is free to claim either way: rescue keeps `status`
///   honest about who holds what).
///
/// No transaction or advisory lock is ever held across an HTTP call: every transaction here is
/// a few statements long, and the server ends a session idle in a transaction
/// (`idle_in_transaction_session_timeout`).
///
/// An accepted callback and every commit notify the `recops_work` channel in their own
/// transaction; one connection per replica listens (`run`), and `waitForWork` returns when a
/// notification comes or the poll interval (with jitter) passes, whichever is first: a lost
/// notification costs latency only.
public final class PostgresJobStore: JobStore, CustomStringConvertible {
    static let channel = "recops_work"

    let client: PostgresClient
    public let settings: PostgresSettings
    /// The store's clock: nil is the database's (`clock_timestamp()`); tests pass their own.
    let clock: (@Sendable () -> Date)?
    let logger: Logger
    let wake = WakeSignal()
    /// Whether the LISTEN connection is up (tests wait for it; `/readyz` does not need it).
    public let listening = Locked(false)
    /// Linked rows older than this are pruned (nil: kept).
    let retention: TimeInterval?
    /// How often this replica rescues expired leases and prunes.
    let maintenanceInterval: Duration

    init(settings: PostgresSettings, clock: (@Sendable () -> Date)? = nil, retention: TimeInterval? = nil,
                maintenanceInterval: Duration = .seconds(60), logger: Logger) {
        self.settings = settings
        self.clock = clock
        self.retention = retention
        self.maintenanceInterval = maintenanceInterval
        self.logger = logger
        client = PostgresClient(configuration: settings.clientConfiguration(), backgroundLogger: logger)
    }

    /// Never the password.
    public var description: String { "PostgresJobStore(\(settings))" }

    /// The fixed time to pass to `recops_now`, or nil for the database's clock.
    var fixedNow: Double? { clock?().timeIntervalSince1970 }

    // MARK: Running

    /// The pool runs from here (postgres-nio's queries wait until `PostgresClient.run` runs) so
    /// a store can be opened, checked and migrated before the service group starts.
    private let pool = Locked<Task<Void, Never>?>(nil)

    /// Starts the pool, checks the connection and applies the migrations (under the advisory
    /// lock). A bad URL, a refused connection, a wrong password or a newer schema is a
    /// `JobStoreError(.setup)` naming the URL without its password.
    public static func open(settings: PostgresSettings, clock: (@Sendable () -> Date)? = nil, retention: TimeInterval? = nil,
                            maintenanceInterval: Duration = .seconds(60), logger: Logger) async throws -> PostgresJobStore {
        // On one connection of its own, before the pool: it fails with the server's own reason
        // (refused, no such database, password authentication failed), where a pool only says
        // it gave up.
        do {
            let connection = try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(), id: 0, logger: logger)
            do {
                let applied = try await PostgresSchema.migrate(connection, logger: logger)
                if !applied.isEmpty { logger.notice("store migrated", metadata: ["versions": "\(applied.map(String.init).joined(separator: ","))"]) }
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        } catch {
            throw JobStoreError(.setup, operation: "open \(settings)", cause: PostgresFailure(error))
        }
        let store = PostgresJobStore(settings: settings, clock: clock, retention: retention, maintenanceInterval: maintenanceInterval, logger: logger)
        store.pool.exchange(Task { [client = store.client] in await client.run() })
        return store
    }

    /// Closes the pool: queries after it fail.
    public func close() {
        pool.withLock { $0?.cancel() }
    }

    /// Listens for new work and runs the maintenance (rescue, prune) until shutdown, then
    /// closes the pool. The service group stops it last (it is the first service).
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.listen() }
            group.addTask { await self.maintain() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        if Task.isCancelled {
            // The shutdown bound cancelled everything at once: the steps cut short are giving
            // their claims back right now, through this pool. Close it a moment later.
            Task { [self] in
                try? await Task.sleep(for: .seconds(3))
                close()
            }
        } else {
            close()
        }
    }

    /// Keeps one connection of its own listening on the channel; reconnects after a failure.
    private func listen() async {
        var delay: Duration = .milliseconds(200)
        while !Task.isCancelled {
            do {
                let configuration = try settings.connectionConfiguration()
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                defer { Task { try? await connection.close() } }
                delay = .milliseconds(200)
                try await connection.listen(on: Self.channel) { notifications in
                    // Anything may have arrived between a failure and the new LISTEN. (Fired
                    // before `listening` turns true, so a test that waits for it sees this wake.)
                    wake.fire()
                    listening.exchange(true)
                    defer { listening.exchange(false) }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await _ in notifications { self.wake.fire() }
                            throw ListenerLost()
                        }
                        // A connection dropped without a reset (a NAT's idle timeout, a failover)
                        // would wait for ever: a query every 30 s, which must answer within 10 s.
                        group.addTask {
                            while true {
                                try await Task.sleep(for: .seconds(30))
                                try await withThrowingTaskGroup(of: Bool.self) { ping in
                                    ping.addTask { try await connection.query("SELECT 1", logger: self.logger); return true }
                                    ping.addTask { try await Task.sleep(for: .seconds(10)); return false }
                                    let answered = try await ping.next() ?? false
                                    ping.cancelAll()
                                    if !answered { throw ListenerLost() }
                                }
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("store notifications unavailable (polling meanwhile): \(PostgresFailure(error))")
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(10))
        }
    }

    /// The LISTEN connection ended or stopped answering.
    struct ListenerLost: Error, CustomStringConvertible {
        var description: String { "the notification connection stopped answering" }
    }

    private func maintain() async {
        while !Task.isCancelled {
            // Jitter keeps replicas started together from running it in step.
            let jitter = Double.random(in: 0.8...1.2)
            try? await Task.sleep(for: maintenanceInterval * jitter)
            if Task.isCancelled { return }
            do {
                let rescued = try await rescue()
                if rescued > 0 { logger.info("expired leases returned to due", metadata: ["count": "\(rescued)"]) }
                if let retention {
                    let pruned = try await prune(linkedBefore: (clock?() ?? Date()).addingTimeInterval(-retention))
                    if pruned > 0 { logger.info("linked rows pruned", metadata: ["count": "\(pruned)"]) }
                }
            } catch {
                logger.warning("store maintenance failed: \(error)")
            }
        }
    }

    public func waitForWork(upTo timeout: Duration) async {
        // A notification wakes at once; the poll stays behind it, with jitter against herds.
        await wake.wait(upTo: timeout * Double.random(in: 0.75...1.25))
    }

    // MARK: Callbacks and calls

    public func accept(_ callback: RecordingCallback, at now: Date) async throws -> Bool {
        let state: RecordingJob.State = switch callback.status {
        case .completed: .received
        case .absent: .absent
        case .failed, .inProgress: .failed
        }
        let at = now.timeIntervalSince1970
        // One statement: the insert (or the absent → completed revival) and its notification
        // commit together, and the webhook answers only after that.
        let rows = try await query("accept", """
            WITH changed AS (
                INSERT INTO recordings (recording_sid, call_sid, account_sid, start_time, duration, state, next_attempt_at, received_at)
                SELECT \(callback.recordingSid), \(callback.callSid), \(callback.accountSid), \(callback.startTime.timeIntervalSince1970),
                       \(callback.duration), \(state.rawValue), \(at), \(at)
                WHERE NOT EXISTS (SELECT 1 FROM pruned_recordings p WHERE p.recording_sid = \(callback.recordingSid))
                ON CONFLICT (recording_sid) DO UPDATE SET state = excluded.state, start_time = excluded.start_time,
                    duration = excluded.duration, next_attempt_at = excluded.next_attempt_at
                WHERE excluded.state = 'received' AND recordings.state IN ('absent', 'failed')
                RETURNING recording_sid, state)
            SELECT pg_notify(\(Self.channel), recording_sid) FROM changed
            """)
        return !rows.isEmpty
    }

    public func recordCall(_ call: CallRecord) async throws {
        // The number is kept only while the call runs: a webhook replayed after the call ended
        // must not bring it back.
        let from = call.status.isFinal ? nil : call.from
        let finals = Self.finalStatuses
        try await query("record call", """
            INSERT INTO calls (call_sid, from_number, to_number, job_id, status, started_at, caller_hash)
            VALUES (\(call.callSid), \(from), \(call.to), \(call.jobID), \(call.status.rawValue), \(call.startedAt.timeIntervalSince1970), \(call.callerHash))
            ON CONFLICT (call_sid) DO UPDATE SET
                job_id = CASE WHEN EXISTS (SELECT 1 FROM recordings r WHERE r.call_sid = calls.call_sid AND r.job_id IS NOT NULL)
                              THEN calls.job_id ELSE COALESCE(excluded.job_id, calls.job_id) END,
                from_number = CASE WHEN calls.status = ANY(\(finals)) THEN NULL ELSE COALESCE(excluded.from_number, calls.from_number) END,
                to_number = COALESCE(excluded.to_number, calls.to_number),
                caller_hash = COALESCE(excluded.caller_hash, calls.caller_hash)
            """)
    }

    /// `CallStatus`'s final statuses.
    static let finalStatuses = CallStatus.allCases.filter(\.isFinal).map(\.rawValue)

    public func setCallStatus(callSid: String, status: CallStatus, at now: Date) async throws {
        let at = now.timeIntervalSince1970
        let completed: Double? = status.isFinal ? at : nil
        try await transaction("set call status") { connection in
            let inserted = try await connection.query("""
                INSERT INTO calls (call_sid, status, started_at, completed_at) VALUES (\(callSid), \(status.rawValue), \(at), \(completed))
                ON CONFLICT (call_sid) DO NOTHING RETURNING 1
                """, logger: self.logger).collect()
            guard inserted.isEmpty else { return }
            // The row lock orders concurrent status callbacks; only a forward move is written.
            let current = try await connection.query("SELECT status FROM calls WHERE call_sid = \(callSid) FOR UPDATE", logger: self.logger).collect()
            guard let text = try current.first?.decode(String.self),
                  CallStatus(rawValue: text).map({ $0.mayMove(to: status) }) ?? true else { return }
            try await connection.query("""
                UPDATE calls SET status = \(status.rawValue), completed_at = COALESCE(completed_at, \(completed)),
                    from_number = CASE WHEN \(status.isFinal) THEN NULL ELSE from_number END
                WHERE call_sid = \(callSid)
                """, logger: self.logger)
        }
    }

    public func call(_ callSid: String) async throws -> CallRecord? {
        try await query("read call", "SELECT * FROM calls WHERE call_sid = \(callSid)").first.map(Self.callRecord)
    }

    // MARK: Row claims

    /// `filters` as SQL; the values are the state names and constants of `RowFilter`, never a
    /// caller's text (states are an enum).
    static func condition(_ filters: [RowFilter]) -> String {
        let clauses = filters.map { filter in
            var parts = ["state = '\(filter.state.rawValue)'"]
            if let hasJob = filter.hasJob { parts.append(hasJob ? "job_id IS NOT NULL" : "job_id IS NULL") }
            if let written = filter.pendingLineWritten { parts.append("pending_line_written = \(written)") }
            if let pending = filter.cleanupPending { parts.append("cleanup_pending = \(pending)") }
            return "(" + parts.joined(separator: " AND ") + ")"
        }
        return clauses.isEmpty ? "false" : "(" + clauses.joined(separator: " OR ") + ")"
    }

    public func claim(_ filters: [RowFilter], jobID: String?, order: ClaimOrder, limit: Int, owner: String, lease: TimeInterval) async throws -> RowClaim? {
        let token = ClaimToken.random()
        let now = fixedNow
        let ordering = order == .due ? "next_attempt_at, recording_sid" : "received_at, recording_sid"
        let sql: PostgresQuery = """
            WITH due AS (
                SELECT recording_sid FROM recordings
                WHERE next_attempt_at <= recops_now(\(now)) AND (claimed_until IS NULL OR claimed_until < recops_now(\(now)))
                  AND \(unescaped: Self.condition(filters)) AND (\(jobID)::text IS NULL OR job_id = \(jobID))
                ORDER BY \(unescaped: ordering) LIMIT \(limit)
                FOR UPDATE SKIP LOCKED)
            UPDATE recordings r SET claimed_by = \(owner), claim_token = \(token.rawValue),
                claimed_until = recops_now(\(now)) + \(lease), claimed_at = recops_now(\(now))
            FROM due WHERE r.recording_sid = due.recording_sid
            RETURNING r.*
            """
        var jobs = try await query("claim", sql).map(Self.job)
        guard !jobs.isEmpty else { return nil }
        // RETURNING has no order of its own.
        jobs.sort { order == .due ? ($0.nextAttemptAt, $0.recordingSid) < ($1.nextAttemptAt, $1.recordingSid)
                                  : ($0.receivedAt, $0.recordingSid) < ($1.receivedAt, $1.recordingSid) }
        return RowClaim(token: token, owner: owner, jobs: jobs)
    }

    public func renew(_ claim: RowClaim, lease: TimeInterval) async throws -> Int {
        try await query("renew", """
            UPDATE recordings SET claimed_until = recops_now(\(fixedNow)) + \(lease) WHERE claim_token = \(claim.token.rawValue) RETURNING 1
            """).count
    }

    public func commit(_ jobs: [RecordingJob], under claim: RowClaim) async throws -> Set<String> {
        try await transaction("commit") { connection in
            var written: Set<String> = []
            for job in jobs {
                let rows = try await connection.query("""
                    UPDATE recordings SET job_id = \(job.jobID), record_id = \(job.recordID), state = \(job.state.rawValue), attempts = \(job.attempts),
                        next_attempt_at = \(job.nextAttemptAt.timeIntervalSince1970), last_error = \(job.lastError), note = \(job.note),
                        object_key = \(job.objectKey), object_size = \(job.objectSize), pending_line_written = \(job.pendingLineWritten),
                        stored_at = \(job.storedAt?.timeIntervalSince1970), linked_at = \(job.linkedAt?.timeIntervalSince1970),
                        quality_problem = \(job.qualityProblem), object_sha256 = \(job.objectSHA256), cleanup_pending = \(job.cleanupPending),
                        twilio_deleted = \(job.twilioDeleted), erased_at = \(job.erasedAt?.timeIntervalSince1970),
                        claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL
                    WHERE recording_sid = \(job.recordingSid) AND claim_token = \(claim.token.rawValue)
                    RETURNING 1
                    """, logger: self.logger).collect()
                guard !rows.isEmpty else { continue }
                written.insert(job.recordingSid)
                if job.state == .erased {
                    // The log line completes with the row, in the same transaction.
                    try await connection.query("""
                        UPDATE erasures SET completed_at = COALESCE(completed_at, \(job.erasedAt?.timeIntervalSince1970)), outcome = COALESCE(outcome, \(job.note))
                        WHERE recording_sid = \(job.recordingSid)
                        """, logger: self.logger)
                }
            }
            // The next step of what was written may be due now, on any replica.
            if !written.isEmpty { try await connection.query("SELECT pg_notify(\(Self.channel), 'commit')", logger: self.logger) }
            return written
        }
    }

    public func release(_ claim: RowClaim) async throws {
        try await query("release", """
            UPDATE recordings SET claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL WHERE claim_token = \(claim.token.rawValue)
            """)
    }

    public func releaseClaims(owner: String) async throws -> Int {
        try await transaction("release claims") { connection in
            let rows = try await connection.query("""
                UPDATE recordings SET claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL WHERE claimed_by = \(owner) RETURNING 1
                """, logger: self.logger).collect().count
            let histories = try await connection.query("DELETE FROM history_claims WHERE owner = \(owner) RETURNING 1", logger: self.logger).collect().count
            return rows + histories
        }
    }

    /// Returns leases expired for over `grace` to due, whoever held them; any replica may run it.
    /// (An expired lease is free to claim either way; until it is taken, its holder's late
    /// commit still counts, as with SQLite: the grace leaves it that chance.)
    public func rescue(grace: TimeInterval = 60) async throws -> Int {
        let now = fixedNow
        return try await transaction("rescue") { connection in
            let rows = try await connection.query("""
                UPDATE recordings SET claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL
                WHERE claim_token IS NOT NULL AND claimed_until < recops_now(\(now)) - \(grace) RETURNING 1
                """, logger: self.logger).collect().count
            let histories = try await connection.query("DELETE FROM history_claims WHERE expires_at < recops_now(\(now)) - \(grace) RETURNING 1",
                                                       logger: self.logger).collect().count
            return rows + histories
        }
    }

    /// Deletes linked recordings (with nothing left to clean up) linked before `date`, and calls
    /// older than it with no recording left: the hot table stays small. At most 1,000 rows at a
    /// time, so the statement stays short.
    public func prune(linkedBefore date: Date) async throws -> Int {
        let cut = date.timeIntervalSince1970
        return try await transaction("prune") { connection in
            // Each pruned recording leaves its SID behind (a small table): a callback Twilio
            // re-sends, or a reconcile over an old window, must not store it a second time.
            let recordings = try await connection.query("""
                WITH gone AS (
                    DELETE FROM recordings WHERE recording_sid IN (
                        SELECT recording_sid FROM recordings
                        WHERE state = 'linked' AND NOT cleanup_pending AND NOT legal_hold AND claim_token IS NULL AND linked_at < \(cut)
                        LIMIT 1000 FOR UPDATE SKIP LOCKED)
                    RETURNING recording_sid)
                INSERT INTO pruned_recordings (recording_sid, pruned_at) SELECT recording_sid, recops_now(NULL) FROM gone
                ON CONFLICT DO NOTHING
                RETURNING 1
                """, logger: self.logger).collect().count
            let calls = try await connection.query("""
                DELETE FROM calls c WHERE c.call_sid IN (
                    SELECT call_sid FROM calls WHERE started_at < \(cut)
                      AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.call_sid = calls.call_sid)
                    LIMIT 1000)
                RETURNING 1
                """, logger: self.logger).collect().count
            return recordings + calls
        }
    }

    // MARK: History claims

    public func jobsDue(_ filters: [RowFilter], limit: Int) async throws -> [String] {
        let now = fixedNow
        return try await query("jobs due", """
            SELECT job_id FROM recordings
            WHERE job_id IS NOT NULL AND next_attempt_at <= recops_now(\(now))
              AND (claimed_until IS NULL OR claimed_until < recops_now(\(now))) AND \(unescaped: Self.condition(filters))
              AND NOT EXISTS (SELECT 1 FROM history_claims h WHERE h.job_id = recordings.job_id AND h.expires_at >= recops_now(\(now)))
            GROUP BY job_id ORDER BY MIN(next_attempt_at), job_id LIMIT \(limit)
            """).map { try $0.decode(String.self) }
    }

    public func takeHistory(jobID: String, owner: String, lease: TimeInterval) async throws -> HistoryClaim? {
        let token = ClaimToken.random()
        let now = fixedNow
        let rows = try await query("take history", """
            INSERT INTO history_claims AS c (job_id, owner, token, claimed_at, expires_at)
            VALUES (\(jobID), \(owner), \(token.rawValue), recops_now(\(now)), recops_now(\(now)) + \(lease))
            ON CONFLICT (job_id) DO UPDATE SET owner = excluded.owner, token = excluded.token,
                claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
            WHERE c.expires_at < excluded.claimed_at
            RETURNING 1
            """)
        return rows.isEmpty ? nil : HistoryClaim(jobID: jobID, owner: owner, token: token)
    }

    public func renewHistory(_ claim: HistoryClaim, lease: TimeInterval) async throws -> Bool {
        try await !query("renew history", """
            UPDATE history_claims SET expires_at = recops_now(\(fixedNow)) + \(lease)
            WHERE job_id = \(claim.jobID) AND token = \(claim.token.rawValue) RETURNING 1
            """).isEmpty
    }

    public func releaseHistory(_ claim: HistoryClaim) async throws {
        try await query("release history", "DELETE FROM history_claims WHERE job_id = \(claim.jobID) AND token = \(claim.token.rawValue)")
    }

    public func stalledHistory(heldLongerThan seconds: TimeInterval) async throws -> [StalledStep] {
        let now = fixedNow
        return try await query("stalled history", """
            SELECT job_id, owner, claimed_at FROM history_claims
            WHERE expires_at >= recops_now(\(now)) AND claimed_at < recops_now(\(now)) - \(seconds)
            ORDER BY claimed_at, job_id
            """).map { row in
            let (job, owner, since) = try row.decode((String, String, Double).self)
            return StalledStep(jobID: job, owner: owner, since: Date(timeIntervalSince1970: since))
        }
    }

    // MARK: A person's changes

    public func assign(_ recordingSid: String, jobID: String, at now: Date) async throws -> Bool {
        try await transaction("assign") { connection in
            let rows = try await connection.query("""
                UPDATE recordings SET job_id = \(jobID), record_id = NULL, state = 'stored', attempts = 0, next_attempt_at = \(now.timeIntervalSince1970),
                    last_error = NULL, note = NULL, claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL
                WHERE recording_sid = \(recordingSid) AND state = 'unmatched' AND object_key IS NOT NULL
                RETURNING call_sid
                """, logger: self.logger).collect()
            guard let call = try rows.first?.decode(String.self) else { return false }
            try await connection.query("UPDATE calls SET job_id = \(jobID) WHERE call_sid = \(call)", logger: self.logger)
            try await connection.query("SELECT pg_notify(\(Self.channel), 'assign')", logger: self.logger)
            return true
        }
    }

    public func requeue(_ recordingSid: String, as state: RecordingJob.State, at now: Date) async throws -> Bool {
        try await !query("requeue", """
            UPDATE recordings SET state = \(state.rawValue), attempts = 0, next_attempt_at = \(now.timeIntervalSince1970),
                claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL
            WHERE recording_sid = \(recordingSid) AND state NOT IN ('erasing', 'erased') RETURNING 1
            """).isEmpty
    }

    public func queueTwilioCleanup(_ recordingSid: String, at now: Date) async throws -> Bool {
        // One statement; the second branch reads the snapshot before the update, so a row counts once.
        try await !query("queue Twilio clean-up", """
            WITH queued AS (
                UPDATE recordings SET cleanup_pending = true, attempts = 0, next_attempt_at = \(now.timeIntervalSince1970)
                WHERE recording_sid = \(recordingSid) AND state = 'linked' AND NOT twilio_deleted AND NOT cleanup_pending RETURNING 1)
            SELECT 1 FROM queued
            UNION ALL
            SELECT 1 FROM recordings WHERE recording_sid = \(recordingSid) AND state = 'linked' AND NOT twilio_deleted AND cleanup_pending
            """).isEmpty
    }

    public func takeCallsMissingRecordings(completedBefore date: Date) async throws -> [CallRecord] {
        // One statement: two replicas' sweeps never report the same call.
        var calls = try await query("take calls missing recordings", """
            UPDATE calls SET missing_reported = true WHERE call_sid IN (
                SELECT c.call_sid FROM calls c WHERE c.status = 'completed' AND c.completed_at < \(date.timeIntervalSince1970) AND NOT c.missing_reported
                  AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.call_sid = c.call_sid AND r.state NOT IN ('absent', 'failed'))
                FOR UPDATE SKIP LOCKED)
            RETURNING *
            """).map(Self.callRecord)
        calls.sort { ($0.completedAt ?? .distantPast, $0.callSid) < ($1.completedAt ?? .distantPast, $1.callSid) }
        return calls
    }

    // MARK: Reading

    public func job(_ recordingSid: String) async throws -> RecordingJob? {
        try await query("read job", "SELECT * FROM recordings WHERE recording_sid = \(recordingSid)").first.map(Self.job)
    }

    public func jobs(in states: Set<RecordingJob.State>, limit: Int) async throws -> [RecordingJob] {
        try await query("read jobs", """
            SELECT * FROM recordings WHERE state = ANY(\(states.map(\.rawValue).sorted())) ORDER BY received_at, recording_sid LIMIT \(limit)
            """).map(Self.job)
    }

    public func countsByState() async throws -> [RecordingJob.State: Int] {
        var counts: [RecordingJob.State: Int] = [:]
        for row in try await query("count jobs", "SELECT state, count(*) FROM recordings GROUP BY state") {
            let (name, count) = try row.decode((String, Int).self)
            guard let state = RecordingJob.State(rawValue: name) else {
                throw JobStoreError(.corrupt, operation: "count jobs", cause: PostgresFailure(text: "unknown job state '\(name)'"))
            }
            counts[state] = count
        }
        return counts
    }

    public func overdueHistoryCount(receivedBefore date: Date) async throws -> Int {
        try await query("count overdue", "SELECT count(*) FROM recordings WHERE state = 'stored' AND received_at < \(date.timeIntervalSince1970)")
            .first?.decode(Int.self) ?? 0
    }

    public func jobs(matching identifier: String) async throws -> [RecordingJob] {
        try await query("find jobs", """
            SELECT * FROM recordings WHERE recording_sid = \(identifier) OR call_sid = \(identifier) OR job_id = \(identifier)
            ORDER BY received_at, recording_sid
            """).map(Self.job)
    }

    public func jobs(receivedSince date: Date) async throws -> [RecordingJob] {
        try await query("read recent jobs", "SELECT * FROM recordings WHERE received_at >= \(date.timeIntervalSince1970) ORDER BY received_at, recording_sid")
            .map(Self.job)
    }

    public func unmatchedCalls(since date: Date) async throws -> [CallRecord] {
        try await query("read unmatched calls", "SELECT * FROM calls WHERE job_id IS NULL AND started_at >= \(date.timeIntervalSince1970) ORDER BY started_at, call_sid")
            .map(Self.callRecord)
    }

    public func claimsByOwner() async throws -> [String: Int] {
        var owners: [String: Int] = [:]
        for row in try await query("count claims", """
            SELECT claimed_by, count(*) FROM recordings WHERE claim_token IS NOT NULL AND claimed_until >= recops_now(\(fixedNow)) GROUP BY claimed_by
            """) {
            let (owner, count) = try row.decode((String?, Int).self)
            owners[owner ?? "?"] = count
        }
        return owners
    }

    // MARK: Airtable bookkeeping

    public func recordIDs(forJobs jobIDs: [String]) async throws -> [String: String] {
        guard !jobIDs.isEmpty else { return [:] }
        var found: [String: String] = [:]
        for row in try await query("read job records", "SELECT job_id, record_id FROM job_records WHERE job_id = ANY(\(jobIDs))") {
            let (job, record) = try row.decode((String, String).self)
            found[job] = record
        }
        return found
    }

    public func rememberRecords(_ records: [String: String]) async throws {
        let jobs = Array(records.keys), ids = jobs.map { records[$0]! }
        try await query("remember job records", """
            INSERT INTO job_records (job_id, record_id, found_at)
            SELECT j, r, recops_now(\(fixedNow)) FROM unnest(\(jobs)::text[], \(ids)::text[]) AS t(j, r)
            ON CONFLICT (job_id) DO UPDATE SET record_id = excluded.record_id, found_at = excluded.found_at
            """)
    }

    public func forgetRecords(jobIDs: [String]) async throws {
        try await query("forget job records", "DELETE FROM job_records WHERE job_id = ANY(\(jobIDs))")
    }

    public func countAirtableRequest(month: String, limit: Int?) async throws -> Int? {
        // One statement: the row lock orders concurrent replicas, and the condition is judged
        // on the count each one finds after the one before it.
        try await query("count airtable request", """
            INSERT INTO airtable_usage AS u (month, requests) VALUES (\(month), 1)
            ON CONFLICT (month) DO UPDATE SET requests = u.requests + 1 WHERE \(limit)::bigint IS NULL OR u.requests < \(limit)::bigint
            RETURNING requests
            """).first.map { Int(try $0.decode(Int64.self)) }
    }

    public func reportSigningKey(owner: String, accessKeyID: String, source: String, expiration: Date?) async throws {
        try await query("report signing key", """
            INSERT INTO signing_keys (owner, access_key_id, source, expires_at, seen_at)
            VALUES (\(owner), \(accessKeyID), \(source), \(expiration?.timeIntervalSince1970), recops_now(\(fixedNow)))
            ON CONFLICT (owner) DO UPDATE SET access_key_id = excluded.access_key_id, source = excluded.source,
                expires_at = excluded.expires_at, seen_at = excluded.seen_at
            """)
    }

    public func signingKeys() async throws -> [SigningKeyReport] {
        try await query("read signing keys", """
            SELECT owner, access_key_id, source, expires_at, seen_at, recops_now(\(fixedNow)) - seen_at FROM signing_keys ORDER BY owner
            """).map { row in
            let (owner, key, source, expires, seen, age) = try row.decode((String, String, String, Double?, Double, Double).self)
            return SigningKeyReport(owner: owner, accessKeyID: key, source: source, expiration: expires.map(Date.init(timeIntervalSince1970:)),
                                    seenAt: Date(timeIntervalSince1970: seen), age: age)
        }
    }

    public func airtableRequests(month: String) async throws -> Int {
        Int(try await query("read airtable usage", "SELECT requests FROM airtable_usage WHERE month = \(month)").first?.decode(Int64.self) ?? 0)
    }

    /// Writable: reachable, and not a standby in recovery (after a failover the old primary may
    /// come back read-only).
    public func isWritable() async -> Bool {
        (try? await query("check", "SELECT NOT pg_is_in_recovery()").first?.decode(Bool.self)) ?? false
    }

    // MARK: Moving over

    /// Inserts rows copied from another store (`recops store copy`), keeping every state, due
    /// time and attempt count; a row already here is left as it is, so a second copy is a
    /// no-op. Returns how many recordings and calls were new. One transaction: a copy is all or
    /// nothing.
    public func importRows(recordings: [RecordingJob], calls: [(call: CallRecord, missingReported: Bool)], erasures: [ErasureRecord] = []) async throws -> (recordings: Int, calls: Int) {
        try await transaction("import") { connection in
            var newCalls = 0
            for (call, reported) in calls {
                let rows = try await connection.query("""
                    INSERT INTO calls (call_sid, from_number, to_number, job_id, status, started_at, completed_at, missing_reported, caller_hash)
                    VALUES (\(call.callSid), \(call.status.isFinal ? nil : call.from), \(call.to), \(call.jobID), \(call.status.rawValue),
                            \(call.startedAt.timeIntervalSince1970), \(call.completedAt?.timeIntervalSince1970), \(reported), \(call.callerHash))
                    ON CONFLICT (call_sid) DO NOTHING RETURNING 1
                    """, logger: self.logger).collect()
                newCalls += rows.count
            }
            var newRecordings = 0
            for job in recordings {
                let rows = try await connection.query("""
                    INSERT INTO recordings (recording_sid, call_sid, account_sid, start_time, duration, job_id, record_id, state, attempts,
                        next_attempt_at, last_error, note, object_key, object_size, pending_line_written, quality_problem, object_sha256,
                        cleanup_pending, twilio_deleted, received_at, stored_at, linked_at, legal_hold, erased_at)
                    VALUES (\(job.recordingSid), \(job.callSid), \(job.accountSid), \(job.startTime.timeIntervalSince1970), \(job.duration), \(job.jobID),
                        \(job.recordID), \(job.state.rawValue), \(job.attempts), \(job.nextAttemptAt.timeIntervalSince1970), \(job.lastError), \(job.note),
                        \(job.objectKey), \(job.objectSize), \(job.pendingLineWritten), \(job.qualityProblem), \(job.objectSHA256),
                        \(job.cleanupPending), \(job.twilioDeleted), \(job.receivedAt.timeIntervalSince1970), \(job.storedAt?.timeIntervalSince1970),
                        \(job.linkedAt?.timeIntervalSince1970), \(job.legalHold), \(job.erasedAt?.timeIntervalSince1970))
                    ON CONFLICT (recording_sid) DO NOTHING RETURNING 1
                    """, logger: self.logger).collect()
                newRecordings += rows.count
            }
            for record in erasures {
                try await connection.query("""
                    INSERT INTO erasures (recording_sid, call_sid, job_id, object_key, scope, reason, requested_at, completed_at, outcome)
                    VALUES (\(record.recordingSid), \(record.callSid), \(record.jobID), \(record.objectKey), \(record.scope.rawValue), \(record.reason),
                            \(record.requestedAt.timeIntervalSince1970), \(record.completedAt?.timeIntervalSince1970), \(record.outcome))
                    ON CONFLICT (recording_sid) DO NOTHING
                    """, logger: self.logger)
            }
            if newRecordings > 0 { try await connection.query("SELECT pg_notify(\(Self.channel), 'import')", logger: self.logger) }
            return (newRecordings, newCalls)
        }
    }

    // MARK: Statements and rows

    @discardableResult
    func query(_ operation: String, _ sql: PostgresQuery) async throws -> [PostgresRow] {
        do {
            return try await client.query(sql, logger: logger).collect()
        } catch {
            // A caller that gave up hears so as such (the budget's waiters, the worker's steps).
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            throw Self.storeError(operation, error)
        }
    }

    func transaction<T: Sendable>(_ operation: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as JobStoreError {
            throw error
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            throw Self.storeError(operation, error)
        }
    }

    static func storeError(_ operation: String, _ error: any Error) -> JobStoreError {
        if let error = error as? JobStoreError { return error }
        let failure = PostgresFailure(error)
        return JobStoreError(failure.isUnavailable ? .unavailable : .failed, operation: operation, cause: failure)
    }

    static func job(_ row: PostgresRow) throws -> RecordingJob {
        let r = row.makeRandomAccess()
        let name = try r["state"].decode(String.self)
        let sid = try r["recording_sid"].decode(String.self)
        guard let state = RecordingJob.State(rawValue: name) else {
            throw JobStoreError(.corrupt, operation: "read job", cause: PostgresFailure(text: "unknown job state '\(name)' for \(sid)"))
        }
        func date(_ column: String) throws -> Date? { try r[column].decode(Double?.self).map(Date.init(timeIntervalSince1970:)) }
        return RecordingJob(
            recordingSid: sid, callSid: try r["call_sid"].decode(String.self), accountSid: try r["account_sid"].decode(String.self),
            startTime: try date("start_time")!, duration: try r["duration"].decode(Int?.self), jobID: try r["job_id"].decode(String?.self),
            recordID: try r["record_id"].decode(String?.self), state: state, attempts: try r["attempts"].decode(Int.self),
            nextAttemptAt: try date("next_attempt_at")!, lastError: try r["last_error"].decode(String?.self), note: try r["note"].decode(String?.self),
            objectKey: try r["object_key"].decode(String?.self), objectSize: try r["object_size"].decode(Int?.self),
            pendingLineWritten: try r["pending_line_written"].decode(Bool.self), qualityProblem: try r["quality_problem"].decode(String?.self),
            objectSHA256: try r["object_sha256"].decode(String?.self), cleanupPending: try r["cleanup_pending"].decode(Bool.self),
            twilioDeleted: try r["twilio_deleted"].decode(Bool.self), receivedAt: try date("received_at")!,
            storedAt: try date("stored_at"), linkedAt: try date("linked_at"), legalHold: try r["legal_hold"].decode(Bool.self),
            erasedAt: try date("erased_at"))
    }

    static func callRecord(_ row: PostgresRow) throws -> CallRecord {
        let r = row.makeRandomAccess()
        return CallRecord(callSid: try r["call_sid"].decode(String.self), from: try r["from_number"].decode(String?.self),
                          to: try r["to_number"].decode(String?.self), jobID: try r["job_id"].decode(String?.self),
                          status: CallStatus(rawValue: try r["status"].decode(String.self)) ?? .inProgress,
                          startedAt: Date(timeIntervalSince1970: try r["started_at"].decode(Double.self)),
                          completedAt: try r["completed_at"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
                          callerHash: try r["caller_hash"].decode(String?.self))
    }
}
