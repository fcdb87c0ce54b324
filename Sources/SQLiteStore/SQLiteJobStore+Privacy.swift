import Foundation
import GRDB
import Pipeline
import Twilio

// PrivacyStore (through JobStore).
extension SQLiteJobStore {
    public func callSids(callerHashes: [String]) async throws -> [String] {
        guard !callerHashes.isEmpty else { return [] }
        return try await read("find calls by caller") { db in
            try String.fetchAll(db, sql: "SELECT call_sid FROM calls WHERE caller_hash IN (\(callerHashes.map { _ in "?" }.joined(separator: ","))) ORDER BY started_at, call_sid",
                                arguments: StatementArguments(callerHashes))
        }
    }

    public func unindexedCalls(staleUnder keyID: String?, limit: Int) async throws -> [UnindexedCall] {
        try await read("find unindexed calls") { db in
            try Row.fetchAll(db, sql: """
                SELECT call_sid, from_number FROM calls WHERE caller_hash IS NULL OR (?1 IS NOT NULL AND substr(caller_hash, 1, length(?1) + 1) <> ?1 || ':')
                UNION
                SELECT DISTINCT r.call_sid, NULL FROM recordings r WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.call_sid = r.call_sid)
                ORDER BY call_sid LIMIT ?2
                """, arguments: [keyID, limit]).map { UnindexedCall(callSid: $0["call_sid"], from: $0["from_number"]) }
        }
    }

    public func indexCaller(callSid: String, hash: String, status: CallStatus, startedAt: Date) async throws {
        try await immediate("index caller") { db in
            try db.execute(sql: """
                INSERT INTO calls (call_sid, status, started_at, caller_hash) VALUES (?, ?, ?, ?)
                ON CONFLICT(call_sid) DO UPDATE SET caller_hash = excluded.caller_hash,
                    from_number = CASE WHEN calls.status IN \(Self.finalStatuses) OR excluded.status IN \(Self.finalStatuses) THEN NULL ELSE calls.from_number END
                """, arguments: [callSid, status.rawValue, startedAt.timeIntervalSince1970, hash])
        }
    }

    public func queueErasure(_ record: ErasureRecord, at now: Date) async throws -> Bool {
        try await immediate("queue erasure") { db in
            // The claim's owner and token go (its commit and renewals fail), its lease stays:
            // the row is free for the erasure step only once a step in flight can no longer write.
            try db.execute(sql: """
                UPDATE recordings SET state = 'erasing', attempts = 0, next_attempt_at = ?, last_error = NULL, cleanup_pending = 0,
                    claimed_by = NULL, claim_token = NULL, claimed_at = NULL
                WHERE recording_sid = ? AND state NOT IN ('erasing', 'erased')
                """, arguments: [now.timeIntervalSince1970, record.recordingSid])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: """
                INSERT INTO erasures (recording_sid, call_sid, job_id, object_key, scope, reason, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(recording_sid) DO NOTHING
                """, arguments: [record.recordingSid, record.callSid, record.jobID, record.objectKey, record.scope.rawValue, record.reason,
                                 record.requestedAt.timeIntervalSince1970])
            return true
        }
    }

    public func erasures(since date: Date, limit: Int) async throws -> [ErasureRecord] {
        try await read("read erasures") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM erasures WHERE requested_at >= ? ORDER BY requested_at, recording_sid LIMIT ?",
                             arguments: [date.timeIntervalSince1970, limit]).map(Self.erasure)
        }
    }

    public func setLegalHold(recordingSids: [String], held: Bool) async throws {
        guard !recordingSids.isEmpty else { return }
        try await immediate("set legal hold") { db in
            try db.execute(sql: "UPDATE recordings SET legal_hold = ? WHERE recording_sid IN (\(recordingSids.map { _ in "?" }.joined(separator: ",")))",
                           arguments: StatementArguments([held as any DatabaseValueConvertible] + recordingSids.map { $0 as any DatabaseValueConvertible }))
        }
    }

    public func heldRecordings(limit: Int) async throws -> [RecordingJob] {
        try await read("read held recordings") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recordings WHERE legal_hold = 1 ORDER BY received_at, recording_sid LIMIT ?", arguments: [limit]).map(Self.job)
        }
    }

    /// The erasure log, for `recops store copy`.
    public func exportErasures() async throws -> [ErasureRecord] {
        try await erasures(since: .distantPast, limit: Int.max)
    }

    static func erasure(_ row: Row) throws -> ErasureRecord {
        guard let scope = ErasureScope(rawValue: row["scope"]) else { throw Corrupt(description: "unknown erasure scope '\(row["scope"] as String? ?? "")'") }
        return ErasureRecord(recordingSid: row["recording_sid"], callSid: row["call_sid"], jobID: row["job_id"], objectKey: row["object_key"], scope: scope,
                             reason: row["reason"], requestedAt: Date(timeIntervalSince1970: row["requested_at"]),
                             completedAt: (row["completed_at"] as Double?).map(Date.init(timeIntervalSince1970:)), outcome: row["outcome"])
    }
}
