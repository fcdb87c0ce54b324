import Foundation
import GRDB
import Twilio

/// The embedded `JobStore`: SQLite in WAL mode under `--data-dir`, every commit fsynced
/// (`synchronous=FULL`) before the webhook answers.
///
/// Claims are columns, taken in `BEGIN IMMEDIATE` transactions, so the same SQL works across
/// processes sharing the file; a server engine would use `FOR UPDATE SKIP LOCKED` instead.
public final class SQLiteJobStore: JobStore {
    let database: DatabasePool

    /// Opens (creating if needed) `directory/recops.sqlite`.
    ///
    /// The store holds callers' numbers and job ids: the directory is made 0700 and the database
    /// 0600 whatever the umask (SQLite gives its -wal and -shm files the database's mode).
    public init(directory: URL) throws {
        try PrivateFiles.directory(directory)
        let path = directory.appendingPathComponent("recops.sqlite").path
        try PrivateFiles.file(path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabasePool(path: path, configuration: configuration)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) { try PrivateFiles.file(path + suffix) }
        try Self.migrator.migrate(database)
    }

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
        return migrator
    }

    // MARK: Callbacks and calls

    public func accept(_ callback: RecordingCallback, at now: Date) async throws -> Bool {
        let state: RecordingJob.State = callback.status == "completed" ? .received : (callback.status == "absent" ? .absent : .failed)
        return try await immediate { db in
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
        try await immediate { db in
            try db.execute(sql: """
                INSERT INTO calls (call_sid, from_number, to_number, job_id, status, started_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(call_sid) DO UPDATE SET
                    job_id = CASE WHEN EXISTS (SELECT 1 FROM recordings r WHERE r.call_sid = calls.call_sid AND r.job_id IS NOT NULL)
                                  THEN calls.job_id ELSE COALESCE(excluded.job_id, calls.job_id) END,
                    from_number = COALESCE(excluded.from_number, calls.from_number), to_number = COALESCE(excluded.to_number, calls.to_number)
                """, arguments: [call.callSid, call.from, call.to, call.jobID, call.status.rawValue, call.startedAt.timeIntervalSince1970])
        }
    }

    /// Only forward (`CallStatus.mayMove`): a replayed "ringing" never undoes "completed".
    public func setCallStatus(callSid: String, status: CallStatus, at now: Date) async throws {
        try await immediate { db in
            let current = try String.fetchOne(db, sql: "SELECT status FROM calls WHERE call_sid = ?", arguments: [callSid])
            if let current {
                guard CallStatus(rawValue: current).map({ $0.mayMove(to: status) }) ?? true else { return }
                try db.execute(sql: "UPDATE calls SET status = ?, completed_at = COALESCE(completed_at, ?) WHERE call_sid = ?",
                               arguments: [status.rawValue, status.isFinal ? now.timeIntervalSince1970 : nil, callSid])
            } else {
                try db.execute(sql: "INSERT INTO calls (call_sid, status, started_at, completed_at) VALUES (?, ?, ?, ?)",
                               arguments: [callSid, status.rawValue, now.timeIntervalSince1970, status.isFinal ? now.timeIntervalSince1970 : nil])
            }
        }
    }

    public func call(_ callSid: String) async throws -> CallRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM calls WHERE call_sid = ?", arguments: [callSid]).map(Self.callRecord)
        }
    }

    // MARK: Claims

    public func claim(owner: String, now: Date, lease: TimeInterval) async throws -> Work? {
        let t = now.timeIntervalSince1970
        return try await immediate { db in
            let free = "(claimed_until IS NULL OR claimed_until < :now)"
            // History first: it finishes work already stored, and Airtable is the scarcer resource.
            if let jobID = try String.fetchOne(db, sql: """
                SELECT r.job_id FROM recordings r
                WHERE r.job_id IS NOT NULL AND r.next_attempt_at <= :now AND \(free)
                  AND (r.state = 'stored' OR (r.state = 'upload_pending' AND r.pending_line_written = 0))
                  AND NOT EXISTS (SELECT 1 FROM recordings o WHERE o.job_id = r.job_id AND o.claim_kind = 'history' AND o.claimed_until >= :now)
                ORDER BY r.next_attempt_at LIMIT 1
                """, arguments: ["now": t]) {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT * FROM recordings WHERE job_id = :job AND next_attempt_at <= :now AND \(free)
                      AND (state = 'stored' OR (state = 'upload_pending' AND pending_line_written = 0))
                    ORDER BY received_at LIMIT 50
                    """, arguments: ["job": jobID, "now": t])
                // The record id found for an earlier recording of this job saves a lookup.
                let known = try String.fetchOne(db, sql: "SELECT record_id FROM recordings WHERE job_id = ? AND record_id IS NOT NULL LIMIT 1", arguments: [jobID])
                let jobs = try rows.map(Self.job).map { job in
                    var job = job
                    job.recordID = job.recordID ?? known
                    return job
                }
                try Self.mark(db, jobs.map(\.recordingSid), owner: owner, until: t + lease, kind: "history", at: t)
                return .history(jobID: jobID, jobs)
            }
            if let row = try Row.fetchOne(db, sql: """
                SELECT * FROM recordings WHERE state IN ('received', 'upload_pending') AND next_attempt_at <= :now AND \(free)
                ORDER BY next_attempt_at LIMIT 1
                """, arguments: ["now": t]) {
                let job = try Self.job(row)
                try Self.mark(db, [job.recordingSid], owner: owner, until: t + lease, kind: "transfer", at: t)
                return .transfer(job)
            }
            if let row = try Row.fetchOne(db, sql: """
                SELECT * FROM recordings WHERE state = 'linked' AND cleanup_pending = 1 AND next_attempt_at <= :now AND \(free)
                ORDER BY next_attempt_at LIMIT 1
                """, arguments: ["now": t]) {
                let job = try Self.job(row)
                try Self.mark(db, [job.recordingSid], owner: owner, until: t + lease, kind: "cleanup", at: t)
                return .cleanup(job)
            }
            return nil
        }
    }

    private static func mark(_ db: Database, _ sids: [String], owner: String, until: Double, kind: String, at now: Double) throws {
        for sid in sids {
            try db.execute(sql: "UPDATE recordings SET claimed_by = ?, claimed_until = ?, claim_kind = ?, claimed_at = ? WHERE recording_sid = ?",
                           arguments: [owner, until, kind, now, sid])
        }
    }

    public func stalledHistory(claimedBefore date: Date, now: Date) async throws -> [StalledStep] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT job_id, claimed_by, MIN(claimed_at) AS since FROM recordings
                WHERE claim_kind = 'history' AND claimed_until >= ? AND claimed_at < ? AND job_id IS NOT NULL
                GROUP BY job_id, claimed_by ORDER BY since
                """, arguments: [now.timeIntervalSince1970, date.timeIntervalSince1970]).map { row in
                StalledStep(jobID: row["job_id"], owner: row["claimed_by"] ?? "?", since: Date(timeIntervalSince1970: row["since"]))
            }
        }
    }

    public func commit(_ jobs: [RecordingJob], owner: String) async throws {
        try await immediate { db in
            for job in jobs {
                try db.execute(sql: """
                    UPDATE recordings SET job_id = ?, record_id = ?, state = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
                        object_key = ?, object_size = ?, pending_line_written = ?, stored_at = ?, linked_at = ?,
                        quality_problem = ?, object_sha256 = ?, cleanup_pending = ?, twilio_deleted = ?,
                        claimed_by = NULL, claimed_until = NULL, claim_kind = NULL
                    WHERE recording_sid = ? AND claimed_by = ?
                    """, arguments: [job.jobID, job.recordID, job.state.rawValue, job.attempts, job.nextAttemptAt.timeIntervalSince1970,
                                     job.lastError, job.objectKey, job.objectSize, job.pendingLineWritten, job.storedAt?.timeIntervalSince1970,
                                     job.linkedAt?.timeIntervalSince1970, job.qualityProblem, job.objectSHA256, job.cleanupPending, job.twilioDeleted,
                                     job.recordingSid, owner])
            }
        }
    }

    public func renew(_ recordingSids: [String], owner: String, until: Date) async throws -> Int {
        try await immediate { db in
            var held = 0
            for sid in recordingSids {
                try db.execute(sql: "UPDATE recordings SET claimed_until = ? WHERE recording_sid = ? AND claimed_by = ?",
                               arguments: [until.timeIntervalSince1970, sid, owner])
                held += db.changesCount
            }
            return held
        }
    }

    public func holdHistory(jobID: String, owner: String, now: Date, lease: TimeInterval) async throws -> String? {
        let t = now.timeIntervalSince1970
        return try await immediate { db in
            let held = try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM recordings WHERE job_id = ? AND claim_kind = 'history' AND claimed_until >= ? AND claimed_by != ?)
                """, arguments: [jobID, t, owner]) ?? false
            guard !held, let sid = try String.fetchOne(db, sql: """
                SELECT recording_sid FROM recordings WHERE job_id = ? AND (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?) LIMIT 1
                """, arguments: [jobID, t, owner]) else { return nil }
            try Self.mark(db, [sid], owner: owner, until: t + lease, kind: "history", at: t)
            return sid
        }
    }

    public func assign(_ recordingSid: String, jobID: String, at now: Date) async throws -> Bool {
        try await immediate { db in
            try db.execute(sql: """
                UPDATE recordings SET job_id = ?, record_id = NULL, state = 'stored', attempts = 0, next_attempt_at = ?, last_error = NULL,
                    claimed_by = NULL, claimed_until = NULL, claim_kind = NULL
                WHERE recording_sid = ? AND state = 'unmatched' AND object_key IS NOT NULL
                """, arguments: [jobID, now.timeIntervalSince1970, recordingSid])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "UPDATE calls SET job_id = ? WHERE call_sid = (SELECT call_sid FROM recordings WHERE recording_sid = ?)",
                           arguments: [jobID, recordingSid])
            return true
        }
    }

    public func release(_ recordingSids: [String], owner: String) async throws {
        try await immediate { db in
            for sid in recordingSids {
                try db.execute(sql: "UPDATE recordings SET claimed_by = NULL, claimed_until = NULL, claim_kind = NULL WHERE recording_sid = ? AND claimed_by = ?",
                               arguments: [sid, owner])
            }
        }
    }

    public func releaseClaims(owner: String) async throws -> Int {
        try await immediate { db in
            try db.execute(sql: "UPDATE recordings SET claimed_by = NULL, claimed_until = NULL, claim_kind = NULL WHERE claimed_by = ?", arguments: [owner])
            return db.changesCount
        }
    }

    // MARK: Reading

    public func job(_ recordingSid: String) async throws -> RecordingJob? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM recordings WHERE recording_sid = ?", arguments: [recordingSid]).map(Self.job)
        }
    }

    public func jobs(in states: Set<RecordingJob.State>, limit: Int) async throws -> [RecordingJob] {
        let names = states.map(\.rawValue)
        return try await database.read { db in
            let marks = Array(repeating: "?", count: names.count).joined(separator: ",")
            return try Row.fetchAll(db, sql: "SELECT * FROM recordings WHERE state IN (\(marks)) ORDER BY received_at LIMIT \(limit)",
                                    arguments: StatementArguments(names)).map(Self.job)
        }
    }

    public func countsByState() async throws -> [RecordingJob.State: Int] {
        try await database.read { db in
            var counts: [RecordingJob.State: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM recordings GROUP BY state") {
                if let state = RecordingJob.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    public func overdueHistoryCount(receivedBefore date: Date) async throws -> Int {
        try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM recordings WHERE state = 'stored' AND received_at < ?",
                             arguments: [date.timeIntervalSince1970]) ?? 0
        }
    }

    public func takeCallsMissingRecordings(completedBefore date: Date) async throws -> [CallRecord] {
        try await immediate { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM calls c WHERE c.status = 'completed' AND c.completed_at < ? AND c.missing_reported = 0
                  AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.call_sid = c.call_sid AND r.state NOT IN ('absent', 'failed'))
                """, arguments: [date.timeIntervalSince1970])
            let calls = rows.map(Self.callRecord)
            for call in calls {
                try db.execute(sql: "UPDATE calls SET missing_reported = 1 WHERE call_sid = ?", arguments: [call.callSid])
            }
            return calls
        }
    }

    public func jobs(matching identifier: String) async throws -> [RecordingJob] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recordings WHERE recording_sid = ?1 OR call_sid = ?1 OR job_id = ?1 ORDER BY received_at",
                             arguments: [identifier]).map(Self.job)
        }
    }

    public func jobs(receivedSince date: Date) async throws -> [RecordingJob] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recordings WHERE received_at >= ? ORDER BY received_at", arguments: [date.timeIntervalSince1970]).map(Self.job)
        }
    }

    public func unmatchedCalls(since date: Date) async throws -> [CallRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM calls WHERE job_id IS NULL AND started_at >= ? ORDER BY started_at",
                             arguments: [date.timeIntervalSince1970]).map(Self.callRecord)
        }
    }

    public func requeue(_ recordingSid: String, as state: RecordingJob.State, at now: Date) async throws -> Bool {
        try await immediate { db in
            try db.execute(sql: """
                UPDATE recordings SET state = ?, attempts = 0, next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL, claim_kind = NULL
                WHERE recording_sid = ?
                """, arguments: [state.rawValue, now.timeIntervalSince1970, recordingSid])
            return db.changesCount > 0
        }
    }

    public func isWritable() async -> Bool {
        (try? await immediate { db in try db.execute(sql: "SELECT 1") }) != nil
    }

    // MARK: Rows

    /// A write transaction that takes the write lock at once, so a read followed by a write in it
    /// cannot be overtaken by another process.
    private func immediate<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await database.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    static func job(_ row: Row) throws -> RecordingJob {
        guard let state = RecordingJob.State(rawValue: row["state"]) else {
            throw DatabaseError(message: "unknown job state '\(row["state"] as String? ?? "")'")
        }
        return RecordingJob(
            recordingSid: row["recording_sid"], callSid: row["call_sid"], accountSid: row["account_sid"],
            startTime: Date(timeIntervalSince1970: row["start_time"]), duration: row["duration"], jobID: row["job_id"],
            recordID: row["record_id"], state: state, attempts: row["attempts"],
            nextAttemptAt: Date(timeIntervalSince1970: row["next_attempt_at"]), lastError: row["last_error"],
            objectKey: row["object_key"], objectSize: row["object_size"], pendingLineWritten: row["pending_line_written"],
            qualityProblem: row["quality_problem"], objectSHA256: row["object_sha256"], cleanupPending: row["cleanup_pending"],
            twilioDeleted: row["twilio_deleted"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
            storedAt: (row["stored_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            linkedAt: (row["linked_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    static func callRecord(_ row: Row) -> CallRecord {
        CallRecord(callSid: row["call_sid"], from: row["from_number"], to: row["to_number"], jobID: row["job_id"], status: CallStatus(rawValue: row["status"] as String? ?? "") ?? .inProgress,
                   startedAt: Date(timeIntervalSince1970: row["started_at"]),
                   completedAt: (row["completed_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
