import Foundation
import GRDB
import Pipeline
import RecopsBase
import Twilio

/// The embedded `JobStore`: SQLite in WAL mode under `--data-dir`, every commit fsynced
/// (`synchronous=FULL`) before the webhook answers.
///
/// Claims are columns (`claimed_by`, `claim_token`, `claimed_until`) and the `history_claims`
/// table, taken in `BEGIN IMMEDIATE` transactions, so the same SQL works across processes
/// sharing the file. Nothing relies on SQLite's database-wide lock for correctness: every
/// statement is fenced by its token, as on a server engine with `FOR UPDATE SKIP LOCKED`.
/// The clock that times leases and due rows is this store's (`clock`), not the caller's.
public final class SQLiteJobStore: JobStore, CustomStringConvertible {
    let database: DatabasePool
    let clock: @Sendable () -> Date
    public let path: String
    /// The webhook path's writes (accept, record call, call status), committed in groups.
    private let webhookWrites: GroupCommit

    /// Opens (creating if needed) `directory/recops.sqlite`.
    ///
    /// The store holds callers' numbers and job ids: the directory is made 0700 and the database
    /// 0600 whatever the umask (SQLite gives its -wal and -shm files the database's mode).
    public init(directory: URL, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.clock = clock
        let path = directory.appendingPathComponent("recops.sqlite").path
        self.path = path
        let opened = Locked<DatabasePool?>(nil)
        webhookWrites = GroupCommit { writes in
            await Self.group(writes, in: opened.value!, path: path)
        }
        do {
            try PrivateFiles.directory(directory)
            try PrivateFiles.file(path)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            database = try DatabasePool(path: path, configuration: configuration)
            opened.exchange(database)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) { try PrivateFiles.file(path + suffix) }
            try Self.migrator.migrate(database)
        } catch {
            throw JobStoreError(.setup, operation: "open \(path)", cause: Self.sendable(error))
        }
    }

    public var description: String { "SQLiteJobStore(\(path))" }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE recordings (
                    recording_sid TEXT PRIMARY KEY NOT NULL,
                    call_sid TEXT NOT NULL,
                    account_sid TEXT NOT NULL,
                    start_time REAL NOT NULL,
                    duration INTEGER,
                    job_id TEXT,
                    record_id TEXT,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    last_error TEXT,
                    object_key TEXT,
                    object_size INTEGER,
                    pending_line_written INTEGER NOT NULL DEFAULT 0,
                    received_at REAL NOT NULL,
                    stored_at REAL,
                    linked_at REAL,
                    claimed_by TEXT,
                    claimed_until REAL,
                    claim_kind TEXT
                );
                CREATE INDEX recordings_due ON recordings(state, next_attempt_at);
                CREATE INDEX recordings_job ON recordings(job_id);
                CREATE INDEX recordings_call ON recordings(call_sid);
                CREATE TABLE calls (
                    call_sid TEXT PRIMARY KEY NOT NULL,
                    from_number TEXT,
                    to_number TEXT,
                    job_id TEXT,
                    status TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    completed_at REAL,
                    missing_reported INTEGER NOT NULL DEFAULT 0
                );
                """)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE recordings ADD COLUMN quality_problem TEXT;
                ALTER TABLE recordings ADD COLUMN object_sha256 TEXT;
                ALTER TABLE recordings ADD COLUMN cleanup_pending INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE recordings ADD COLUMN twilio_deleted INTEGER NOT NULL DEFAULT 0;
                """)
        }
        migrator.registerMigration("v3") { db in
            // When a claim was taken (renewals leave it): how a stalled step is told from a long one.
            try db.execute(sql: "ALTER TABLE recordings ADD COLUMN claimed_at REAL")
        }
        migrator.registerMigration("v4") { db in
            // Fencing tokens on row claims, and the per-job history claim as a row of its own
            // (until v3, a history claim was a kind of row claim, exclusive only through SQLite's
            // database-wide write lock). Claims of an older binary are dropped: their steps run again.
            try db.execute(sql: """
                ALTER TABLE recordings ADD COLUMN claim_token TEXT;
                ALTER TABLE recordings ADD COLUMN note TEXT;
                UPDATE recordings SET claimed_by = NULL, claimed_until = NULL, claim_kind = NULL, claimed_at = NULL;
                CREATE TABLE history_claims (
                    job_id TEXT PRIMARY KEY NOT NULL,
                    owner TEXT NOT NULL,
                    token TEXT NOT NULL,
                    claimed_at REAL NOT NULL,
                    expires_at REAL NOT NULL
                );
                CREATE INDEX recordings_owner ON recordings(claimed_by);
                """)
        }
        migrator.registerMigration("v5") { db in
            // Each job's Airtable record once found (a later recording skips the lookup), and
            // recops's Airtable requests per calendar month (the monthly budget).
            try db.execute(sql: """
                CREATE TABLE job_records (job_id TEXT PRIMARY KEY NOT NULL, record_id TEXT NOT NULL, found_at REAL NOT NULL);
                CREATE TABLE airtable_usage (month TEXT PRIMARY KEY NOT NULL, requests INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration("v6") { db in
            // The AWS key each replica signs with (for status and key rotation).
            try db.execute(sql: """
                CREATE TABLE signing_keys (owner TEXT PRIMARY KEY NOT NULL, access_key_id TEXT NOT NULL, source TEXT NOT NULL,
                                           expires_at REAL, seen_at REAL NOT NULL);
                """)
        }
        migrator.registerMigration("v7") { db in
            // Stable links (never pruned with the jobs: a link in an old history must open) and
            // the access audit of their opens.
            try db.execute(sql: """
                CREATE TABLE recording_links (id TEXT PRIMARY KEY NOT NULL, recording_sid TEXT NOT NULL UNIQUE, object_key TEXT NOT NULL,
                                              job_id TEXT, created_at REAL NOT NULL, revoked_at REAL);
                CREATE INDEX recording_links_job ON recording_links (job_id);
                CREATE TABLE link_opens (seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, link_id TEXT, recording_sid TEXT, object_key TEXT,
                                         job_id TEXT, client TEXT NOT NULL, network TEXT NOT NULL, user_agent TEXT NOT NULL, session TEXT,
                                         answer TEXT NOT NULL);
                CREATE INDEX link_opens_at ON link_opens (at);
                CREATE INDEX link_opens_client ON link_opens (client, at);
                CREATE INDEX link_opens_network ON link_opens (network, at);
                CREATE INDEX link_opens_job ON link_opens (job_id, at);
                """)
        }
        migrator.registerMigration("v8") { db in
            // Privacy: the caller index (a keyed hash of From, the number dropped once the call
            // ends), legal holds as last set, and the erasure log (ids only).
            try db.execute(sql: """
                ALTER TABLE calls ADD COLUMN caller_hash TEXT;
                CREATE INDEX calls_caller ON calls (caller_hash);
                ALTER TABLE recordings ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE recordings ADD COLUMN erased_at REAL;
                CREATE TABLE erasures (recording_sid TEXT PRIMARY KEY NOT NULL, call_sid TEXT NOT NULL, job_id TEXT, object_key TEXT,
                                       scope TEXT NOT NULL, reason TEXT, requested_at REAL NOT NULL, completed_at REAL, outcome TEXT);
                CREATE INDEX erasures_requested ON erasures (requested_at);
                """)
        }
        return migrator
    }

    // MARK: Callbacks and calls

    public func accept(_ callback: RecordingCallback, at now: Date) async throws -> Bool {
        let state: RecordingJob.State = switch callback.status {
        case .completed: .received
        case .absent: .absent
        case .failed, .inProgress: .failed
        }
        return try await grouped("accept") { db in
            if let existing = try String.fetchOne(db, sql: "SELECT state FROM recordings WHERE recording_sid = ?", arguments: [callback.recordingSid]) {
                // "absent"/"failed" then "completed" for the same recording: the recording exists after all.
                guard state == .received, existing == RecordingJob.State.absent.rawValue || existing == RecordingJob.State.failed.rawValue else { return false }
                try db.execute(sql: "UPDATE recordings SET state = ?, start_time = ?, duration = ?, next_attempt_at = ? WHERE recording_sid = ?",
                               arguments: [state.rawValue, callback.startTime.timeIntervalSince1970, callback.duration, now.timeIntervalSince1970, callback.recordingSid])
                return true
            }
            try db.execute(sql: """
                INSERT INTO recordings (recording_sid, call_sid, account_sid, start_time, duration, state, next_attempt_at, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [callback.recordingSid, callback.callSid, callback.accountSid, callback.startTime.timeIntervalSince1970,
                                 callback.duration, state.rawValue, now.timeIntervalSince1970, now.timeIntervalSince1970])
            return true
        }
    }

    /// A re-sent voice webhook may name the job once more, or name one where none was known; it
    /// never moves a call whose recording is already stored under a job (`recordings link` does).
    public func recordCall(_ call: CallRecord) async throws {
        // The number is kept only while the call runs: a webhook replayed after the call ended
        // must not bring it back.
        let from = call.status.isFinal ? nil : call.from
        try await grouped("record call") { db in
            try db.execute(sql: """
                INSERT INTO calls (call_sid, from_number, to_number, job_id, status, started_at, caller_hash) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(call_sid) DO UPDATE SET
                    job_id = CASE WHEN EXISTS (SELECT 1 FROM recordings r WHERE r.call_sid = calls.call_sid AND r.job_id IS NOT NULL)
                                  THEN calls.job_id ELSE COALESCE(excluded.job_id, calls.job_id) END,
                    from_number = CASE WHEN calls.status IN \(Self.finalStatuses) THEN NULL ELSE COALESCE(excluded.from_number, calls.from_number) END,
                    to_number = COALESCE(excluded.to_number, calls.to_number),
                    caller_hash = COALESCE(excluded.caller_hash, calls.caller_hash)
                """, arguments: [call.callSid, from, call.to, call.jobID, call.status.rawValue, call.startedAt.timeIntervalSince1970, call.callerHash])
        }
    }

    /// `CallStatus`'s final statuses as an SQL list (constants, never a caller's text).
    static let finalStatuses = "(" + CallStatus.allCases.filter(\.isFinal).map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"

    /// Only forward (`CallStatus.mayMove`): a replayed "ringing" never undoes "completed".
    public func setCallStatus(callSid: String, status: CallStatus, at now: Date) async throws {
        try await grouped("set call status") { db in
            let current = try String.fetchOne(db, sql: "SELECT status FROM calls WHERE call_sid = ?", arguments: [callSid])
            if let current {
                guard CallStatus(rawValue: current).map({ $0.mayMove(to: status) }) ?? true else { return }
                // The call has ended: its number goes (the caller index keeps its hash).
                try db.execute(sql: """
                    UPDATE calls SET status = ?, completed_at = COALESCE(completed_at, ?), from_number = CASE WHEN ? THEN NULL ELSE from_number END
                    WHERE call_sid = ?
                    """, arguments: [status.rawValue, status.isFinal ? now.timeIntervalSince1970 : nil, status.isFinal, callSid])
            } else {
                try db.execute(sql: "INSERT INTO calls (call_sid, status, started_at, completed_at) VALUES (?, ?, ?, ?)",
                               arguments: [callSid, status.rawValue, now.timeIntervalSince1970, status.isFinal ? now.timeIntervalSince1970 : nil])
            }
        }
    }

    public func call(_ callSid: String) async throws -> CallRecord? {
        try await read("read call") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM calls WHERE call_sid = ?", arguments: [callSid]).map(Self.callRecord)
        }
    }

    // MARK: Row claims

    /// A row is free when no one holds it or its lease ran out.
    private static let free = "(claimed_until IS NULL OR claimed_until < :now)"

    /// `filters` as SQL over named arguments (never values in the text).
    private static func condition(_ filters: [RowFilter], into arguments: inout [String: (any DatabaseValueConvertible)?]) -> String {
        let clauses = filters.enumerated().map { index, filter in
            arguments["state\(index)"] = filter.state.rawValue
            var parts = ["state = :state\(index)"]
            if let hasJob = filter.hasJob { parts.append(hasJob ? "job_id IS NOT NULL" : "job_id IS NULL") }
            if let written = filter.pendingLineWritten { parts.append("pending_line_written = \(written ? 1 : 0)") }
            if let pending = filter.cleanupPending { parts.append("cleanup_pending = \(pending ? 1 : 0)") }
            return "(" + parts.joined(separator: " AND ") + ")"
        }
        return clauses.isEmpty ? "0" : "(" + clauses.joined(separator: " OR ") + ")"
    }

    public func claim(_ filters: [RowFilter], jobID: String?, order: ClaimOrder, limit: Int, owner: String, lease: TimeInterval) async throws -> RowClaim? {
        let now = clock().timeIntervalSince1970
        let token = ClaimToken.random()
        return try await immediate("claim") { db in
            var arguments: [String: (any DatabaseValueConvertible)?] = ["now": now, "limit": limit]
            var sql = "SELECT * FROM recordings WHERE next_attempt_at <= :now AND \(Self.free) AND \(Self.condition(filters, into: &arguments))"
            if let jobID {
                sql += " AND job_id = :job"
                arguments["job"] = jobID
            }
            sql += order == .due ? " ORDER BY next_attempt_at, recording_sid" : " ORDER BY received_at, recording_sid"
            sql += " LIMIT :limit"
            let jobs = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.job)
            guard !jobs.isEmpty else { return nil }
            for job in jobs {
                try db.execute(sql: """
                    UPDATE recordings SET claimed_by = ?, claim_token = ?, claimed_until = ?, claimed_at = ? WHERE recording_sid = ?
                    """, arguments: [owner, token.rawValue, now + lease, now, job.recordingSid])
            }
            return RowClaim(token: token, owner: owner, jobs: jobs)
        }
    }

    public func renew(_ claim: RowClaim, lease: TimeInterval) async throws -> Int {
        let now = clock().timeIntervalSince1970
        return try await immediate("renew") { db in
            try db.execute(sql: "UPDATE recordings SET claimed_until = ? WHERE claim_token = ?", arguments: [now + lease, claim.token.rawValue])
            return db.changesCount
        }
    }

    public func commit(_ jobs: [RecordingJob], under claim: RowClaim) async throws -> Set<String> {
        try await immediate("commit") { db in
            var written: Set<String> = []
            for job in jobs {
                try db.execute(sql: """
                    UPDATE recordings SET job_id = ?, record_id = ?, state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, note = ?,
                        object_key = ?, object_size = ?, pending_line_written = ?, stored_at = ?, linked_at = ?,
                        quality_problem = ?, object_sha256 = ?, cleanup_pending = ?, twilio_deleted = ?, erased_at = ?,
                        claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL
                    WHERE recording_sid = ? AND claim_token = ?
                    """, arguments: [job.jobID, job.recordID, job.state.rawValue, job.attempts, job.nextAttemptAt.timeIntervalSince1970,
                                     job.lastError, job.note, job.objectKey, job.objectSize, job.pendingLineWritten, job.storedAt?.timeIntervalSince1970,
                                     job.linkedAt?.timeIntervalSince1970, job.qualityProblem, job.objectSHA256, job.cleanupPending, job.twilioDeleted,
                                     job.erasedAt?.timeIntervalSince1970, job.recordingSid, claim.token.rawValue])
                guard db.changesCount > 0 else { continue }
                written.insert(job.recordingSid)
                if job.state == .erased {
                    // The log line completes with the row, in the same transaction.
                    try db.execute(sql: "UPDATE erasures SET completed_at = COALESCE(completed_at, ?), outcome = COALESCE(outcome, ?) WHERE recording_sid = ?",
                                   arguments: [job.erasedAt?.timeIntervalSince1970, job.note, job.recordingSid])
                }
            }
            return written
        }
    }

    public func release(_ claim: RowClaim) async throws {
        try await immediate("release") { db in
            try db.execute(sql: "UPDATE recordings SET claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL WHERE claim_token = ?",
                           arguments: [claim.token.rawValue])
        }
    }

    public func releaseClaims(owner: String) async throws -> Int {
        try await immediate("release claims") { db in
            try db.execute(sql: "UPDATE recordings SET claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL WHERE claimed_by = ?",
                           arguments: [owner])
            let rows = db.changesCount
            try db.execute(sql: "DELETE FROM history_claims WHERE owner = ?", arguments: [owner])
            return rows + db.changesCount
        }
    }

    // MARK: History claims

    public func jobsDue(_ filters: [RowFilter], limit: Int) async throws -> [String] {
        let now = clock().timeIntervalSince1970
        return try await read("jobs due") { db in
            var arguments: [String: (any DatabaseValueConvertible)?] = ["now": now, "limit": limit]
            let sql = """
                SELECT job_id FROM recordings
                WHERE job_id IS NOT NULL AND next_attempt_at <= :now AND \(Self.free) AND \(Self.condition(filters, into: &arguments))
                  AND NOT EXISTS (SELECT 1 FROM history_claims h WHERE h.job_id = recordings.job_id AND h.expires_at >= :now)
                GROUP BY job_id ORDER BY MIN(next_attempt_at), job_id LIMIT :limit
                """
            return try String.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
        }
    }

    public func takeHistory(jobID: String, owner: String, lease: TimeInterval) async throws -> HistoryClaim? {
        let now = clock().timeIntervalSince1970
        let token = ClaimToken.random()
        return try await immediate("take history") { db in
            // The upsert takes over only an expired claim: the same statement a server engine runs.
            try db.execute(sql: """
                INSERT INTO history_claims (job_id, owner, token, claimed_at, expires_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(job_id) DO UPDATE SET owner = excluded.owner, token = excluded.token,
                    claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
                WHERE history_claims.expires_at < excluded.claimed_at
                """, arguments: [jobID, owner, token.rawValue, now, now + lease])
            return db.changesCount > 0 ? HistoryClaim(jobID: jobID, owner: owner, token: token) : nil
        }
    }

    public func renewHistory(_ claim: HistoryClaim, lease: TimeInterval) async throws -> Bool {
        let now = clock().timeIntervalSince1970
        return try await immediate("renew history") { db in
            try db.execute(sql: "UPDATE history_claims SET expires_at = ? WHERE job_id = ? AND token = ?", arguments: [now + lease, claim.jobID, claim.token.rawValue])
            return db.changesCount > 0
        }
    }

    public func releaseHistory(_ claim: HistoryClaim) async throws {
        try await immediate("release history") { db in
            try db.execute(sql: "DELETE FROM history_claims WHERE job_id = ? AND token = ?", arguments: [claim.jobID, claim.token.rawValue])
        }
    }

    public func stalledHistory(heldLongerThan seconds: TimeInterval) async throws -> [StalledStep] {
        let now = clock().timeIntervalSince1970
        return try await read("stalled history") { db in
            try Row.fetchAll(db, sql: "SELECT job_id, owner, claimed_at FROM history_claims WHERE expires_at >= ? AND claimed_at < ? ORDER BY claimed_at, job_id",
                             arguments: [now, now - seconds]).map { row in
                StalledStep(jobID: row["job_id"], owner: row["owner"], since: Date(timeIntervalSince1970: row["claimed_at"]))
            }
        }
    }

    // MARK: A person's changes

    public func assign(_ recordingSid: String, jobID: String, at now: Date) async throws -> Bool {
        try await immediate("assign") { db in
            try db.execute(sql: """
                UPDATE recordings SET job_id = ?, record_id = NULL, state = 'stored', attempts = 0, next_attempt_at = ?, last_error = NULL, note = NULL,
                    claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL
                WHERE recording_sid = ? AND state = 'unmatched' AND object_key IS NOT NULL
                """, arguments: [jobID, now.timeIntervalSince1970, recordingSid])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "UPDATE calls SET job_id = ? WHERE call_sid = (SELECT call_sid FROM recordings WHERE recording_sid = ?)",
                           arguments: [jobID, recordingSid])
            return true
        }
    }

    public func requeue(_ recordingSid: String, as state: RecordingJob.State, at now: Date) async throws -> Bool {
        try await immediate("requeue") { db in
            try db.execute(sql: """
                UPDATE recordings SET state = ?, attempts = 0, next_attempt_at = ?, claimed_by = NULL, claim_token = NULL, claimed_until = NULL, claimed_at = NULL
                WHERE recording_sid = ? AND state NOT IN ('erasing', 'erased')
                """, arguments: [state.rawValue, now.timeIntervalSince1970, recordingSid])
            return db.changesCount > 0
        }
    }

    public func queueTwilioCleanup(_ recordingSid: String, at now: Date) async throws -> Bool {
        try await immediate("queue Twilio clean-up") { db in
            // A clean-up already queued keeps its attempts and its claim.
            try db.execute(sql: """
                UPDATE recordings SET cleanup_pending = 1, attempts = 0, next_attempt_at = ?
                WHERE recording_sid = ? AND state = 'linked' AND twilio_deleted = 0 AND cleanup_pending = 0
                """, arguments: [now.timeIntervalSince1970, recordingSid])
            if db.changesCount > 0 { return true }
            return try Bool.fetchOne(db, sql: """
                SELECT 1 FROM recordings WHERE recording_sid = ? AND state = 'linked' AND twilio_deleted = 0 AND cleanup_pending = 1
                """, arguments: [recordingSid]) ?? false
        }
    }

    public func takeCallsMissingRecordings(completedBefore date: Date) async throws -> [CallRecord] {
        try await immediate("take calls missing recordings") { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM calls c WHERE c.status = 'completed' AND c.completed_at < ? AND c.missing_reported = 0
                  AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.call_sid = c.call_sid AND r.state NOT IN ('absent', 'failed'))
                ORDER BY c.completed_at, c.call_sid
                """, arguments: [date.timeIntervalSince1970])
            let calls = rows.map(Self.callRecord)
            for call in calls {
                try db.execute(sql: "UPDATE calls SET missing_reported = 1 WHERE call_sid = ?", arguments: [call.callSid])
            }
            return calls
        }
    }

    // MARK: Reading

    public func job(_ recordingSid: String) async throws -> RecordingJob? {
        try await read("read job") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM recordings WHERE recording_sid = ?", arguments: [recordingSid]).map(Self.job)
        }
    }

    public func jobs(in states: Set<RecordingJob.State>, limit: Int) async throws -> [RecordingJob] {
        let names = states.map(\.rawValue).sorted()
        return try await read("read jobs") { db in
            let marks = Array(repeating: "?", count: names.count).joined(separator: ",")
            return try Row.fetchAll(db, sql: "SELECT * FROM recordings WHERE state IN (\(marks)) ORDER BY received_at, recording_sid LIMIT \(limit)",
                                    arguments: StatementArguments(names)).map(Self.job)
        }
    }

    public func countsByState() async throws -> [RecordingJob.State: Int] {
        try await read("count jobs") { db in
            var counts: [RecordingJob.State: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM recordings GROUP BY state") {
                guard let state = RecordingJob.State(rawValue: row["state"]) else { throw Corrupt(description: "unknown job state '\(row["state"] as String? ?? "")'") }
                counts[state] = row["n"]
            }
            return counts
        }
    }

    public func overdueHistoryCount(receivedBefore date: Date) async throws -> Int {
        try await read("count overdue") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM recordings WHERE state = 'stored' AND received_at < ?",
                             arguments: [date.timeIntervalSince1970]) ?? 0
        }
    }

    public func jobs(matching identifier: String) async throws -> [RecordingJob] {
        try await read("find jobs") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recordings WHERE recording_sid = ?1 OR call_sid = ?1 OR job_id = ?1 ORDER BY received_at, recording_sid",
                             arguments: [identifier]).map(Self.job)
        }
    }

    public func jobs(receivedSince date: Date) async throws -> [RecordingJob] {
        try await read("read recent jobs") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recordings WHERE received_at >= ? ORDER BY received_at, recording_sid",
                             arguments: [date.timeIntervalSince1970]).map(Self.job)
        }
    }

    public func unmatchedCalls(since date: Date) async throws -> [CallRecord] {
        try await read("read unmatched calls") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM calls WHERE job_id IS NULL AND started_at >= ? ORDER BY started_at, call_sid",
                             arguments: [date.timeIntervalSince1970]).map(Self.callRecord)
        }
    }

    public func claimsByOwner() async throws -> [String: Int] {
        let now = clock().timeIntervalSince1970
        return try await read("count claims") { db in
            var owners: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT claimed_by, COUNT(*) AS n FROM recordings WHERE claim_token IS NOT NULL AND claimed_until >= ? GROUP BY claimed_by",
                                        arguments: [now]) {
                owners[row["claimed_by"] as String? ?? "?"] = row["n"]
            }
            return owners
        }
    }

    // MARK: Airtable bookkeeping

    public func recordIDs(forJobs jobIDs: [String]) async throws -> [String: String] {
        guard !jobIDs.isEmpty else { return [:] }
        return try await read("read job records") { db in
            var found: [String: String] = [:]
            let marks = Array(repeating: "?", count: jobIDs.count).joined(separator: ",")
            for row in try Row.fetchAll(db, sql: "SELECT job_id, record_id FROM job_records WHERE job_id IN (\(marks))", arguments: StatementArguments(jobIDs)) {
                found[row["job_id"]] = row["record_id"]
            }
            return found
        }
    }

    public func rememberRecords(_ records: [String: String]) async throws {
        let now = clock().timeIntervalSince1970
        try await immediate("remember job records") { db in
            for (job, record) in records {
                try db.execute(sql: """
                    INSERT INTO job_records (job_id, record_id, found_at) VALUES (?, ?, ?)
                    ON CONFLICT(job_id) DO UPDATE SET record_id = excluded.record_id, found_at = excluded.found_at
                    """, arguments: [job, record, now])
            }
        }
    }

    public func forgetRecords(jobIDs: [String]) async throws {
        try await immediate("forget job records") { db in
            for job in jobIDs { try db.execute(sql: "DELETE FROM job_records WHERE job_id = ?", arguments: [job]) }
        }
    }

    public func countAirtableRequest(month: String, limit: Int?) async throws -> Int? {
        try await immediate("count airtable request") { db in
            try db.execute(sql: "INSERT INTO airtable_usage (month, requests) VALUES (?, 0) ON CONFLICT(month) DO NOTHING", arguments: [month])
            return try Int.fetchOne(db, sql: "UPDATE airtable_usage SET requests = requests + 1 WHERE month = ? AND (? IS NULL OR requests < ?) RETURNING requests",
                                    arguments: [month, limit, limit])
        }
    }

    public func airtableRequests(month: String) async throws -> Int {
        try await read("read airtable usage") { db in
            try Int.fetchOne(db, sql: "SELECT requests FROM airtable_usage WHERE month = ?", arguments: [month]) ?? 0
        }
    }

    public func reportSigningKey(owner: String, accessKeyID: String, source: String, expiration: Date?) async throws {
        let now = clock().timeIntervalSince1970
        try await immediate("report signing key") { db in
            try db.execute(sql: """
                INSERT INTO signing_keys (owner, access_key_id, source, expires_at, seen_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(owner) DO UPDATE SET access_key_id = excluded.access_key_id, source = excluded.source,
                    expires_at = excluded.expires_at, seen_at = excluded.seen_at
                """, arguments: [owner, accessKeyID, source, expiration?.timeIntervalSince1970, now])
        }
    }

    public func signingKeys() async throws -> [SigningKeyReport] {
        let now = clock().timeIntervalSince1970
        return try await read("read signing keys") { db in
            try Row.fetchAll(db, sql: "SELECT owner, access_key_id, source, expires_at, seen_at FROM signing_keys ORDER BY owner").map { row in
                SigningKeyReport(owner: row["owner"], accessKeyID: row["access_key_id"], source: row["source"],
                                 expiration: (row["expires_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                                 seenAt: Date(timeIntervalSince1970: row["seen_at"]), age: now - (row["seen_at"] as Double))
            }
        }
    }

    public func isWritable() async -> Bool {
        (try? await immediate("check") { db in try db.execute(sql: "SELECT 1") }) != nil
    }

    // MARK: Moving to another engine

    /// Every recording and call, with whether a call's missing recording was reported
    /// (`recops store copy`). Claims are left behind: the steps they covered run again.
    public func exportRows() async throws -> (recordings: [RecordingJob], calls: [(call: CallRecord, missingReported: Bool)]) {
        try await read("export") { db in
            let recordings = try Row.fetchAll(db, sql: "SELECT * FROM recordings ORDER BY received_at, recording_sid").map(Self.job)
            let calls = try Row.fetchAll(db, sql: "SELECT * FROM calls ORDER BY started_at, call_sid").map { row in
                (call: Self.callRecord(row), missingReported: (row["missing_reported"] as Int? ?? 0) != 0)
            }
            return (recordings, calls)
        }
    }

    // MARK: Transactions and rows

    /// A row the store cannot read back.
    struct Corrupt: Error, CustomStringConvertible {
        var description: String
    }

    /// A write transaction that takes the write lock at once, so a read followed by a write in it
    /// cannot be overtaken by another process. GRDB's errors leave as `JobStoreError`s.
    func immediate<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch {
            throw Self.storeError(operation, error)
        }
    }

    /// A webhook write, committed with the others that arrive meanwhile (`GroupCommit`).
    private func grouped<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await webhookWrites.write(body)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Self.storeError(operation, error)
        }
    }

    /// One `BEGIN IMMEDIATE` transaction over `writes`, each in its own savepoint; a transaction
    /// that fails as a whole fails every write in it.
    static func group(_ writes: [GroupCommit.Write], in database: DatabasePool, path: String) async -> [Result<any Sendable, any Error>] {
        do {
            return try await database.writeWithoutTransaction { db in
                var results: [Result<any Sendable, any Error>] = []
                try db.inTransaction(.immediate) {
                    for write in writes {
                        // SQLite rolls a transaction back by itself on some errors (a full disk,
                        // I/O): what follows would run outside it, so it all fails.
                        guard db.isInsideTransaction else {
                            results.append(.failure(DatabaseError(resultCode: .SQLITE_ABORT, message: "the group transaction was rolled back")))
                            continue
                        }
                        var result: Result<any Sendable, any Error> = .failure(CancellationError())
                        do {
                            try db.inSavepoint {
                                result = .success(try write(db))
                                return .commit
                            }
                        } catch {
                            result = .failure(error)
                        }
                        results.append(result)
                    }
                    return .commit
                }
                return results
            }
        } catch {
            return writes.map { _ in .failure(error) }
        }
    }

    func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.read(body)
        } catch {
            throw Self.storeError(operation, error)
        }
    }

    static func storeError(_ operation: String, _ error: any Error) -> JobStoreError {
        if error is Corrupt { return JobStoreError(.corrupt, operation: operation, cause: sendable(error)) }
        if let error = error as? DatabaseError, [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_FULL].contains(error.resultCode.primaryResultCode) {
            return JobStoreError(.unavailable, operation: operation, cause: error)
        }
        return JobStoreError(.failed, operation: operation, cause: sendable(error))
    }

    /// The cause as a sendable value (GRDB's errors are; anything else keeps its text).
    static func sendable(_ error: any Error) -> any Error & Sendable {
        (error as? any Error & Sendable) ?? Corrupt(description: "\(error)")
    }

    static func job(_ row: Row) throws -> RecordingJob {
        guard let state = RecordingJob.State(rawValue: row["state"]) else {
            throw Corrupt(description: "unknown job state '\(row["state"] as String? ?? "")' for \(row["recording_sid"] as String? ?? "?")")
        }
        return RecordingJob(
            recordingSid: row["recording_sid"], callSid: row["call_sid"], accountSid: row["account_sid"],
            startTime: Date(timeIntervalSince1970: row["start_time"]), duration: row["duration"], jobID: row["job_id"],
            recordID: row["record_id"], state: state, attempts: row["attempts"],
            nextAttemptAt: Date(timeIntervalSince1970: row["next_attempt_at"]), lastError: row["last_error"], note: row["note"],
            objectKey: row["object_key"], objectSize: row["object_size"], pendingLineWritten: row["pending_line_written"],
            qualityProblem: row["quality_problem"], objectSHA256: row["object_sha256"], cleanupPending: row["cleanup_pending"],
            twilioDeleted: row["twilio_deleted"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
            storedAt: (row["stored_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            linkedAt: (row["linked_at"] as Double?).map(Date.init(timeIntervalSince1970:)), legalHold: row["legal_hold"],
            erasedAt: (row["erased_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    static func callRecord(_ row: Row) -> CallRecord {
        CallRecord(callSid: row["call_sid"], from: row["from_number"], to: row["to_number"], jobID: row["job_id"], status: CallStatus(rawValue: row["status"] as String? ?? "") ?? .inProgress,
                   startedAt: Date(timeIntervalSince1970: row["started_at"]),
                   completedAt: (row["completed_at"] as Double?).map(Date.init(timeIntervalSince1970:)), callerHash: row["caller_hash"])
    }
}
