import Foundation
import Pipeline
import PostgresNIO
import Twilio

// PrivacyStore (through JobStore).
extension PostgresJobStore {
    public func callSids(callerHashes: [String]) async throws -> [String] {
        try await query("find calls by caller", "SELECT call_sid FROM calls WHERE caller_hash = ANY(\(callerHashes)) ORDER BY started_at, call_sid")
            .map { try $0.decode(String.self) }
    }

    public func unindexedCalls(staleUnder keyID: String?, limit: Int) async throws -> [UnindexedCall] {
        let prefix = keyID.map { $0 + ":" }
        return try await query("find unindexed calls", """
            SELECT call_sid, from_number FROM calls
            WHERE caller_hash IS NULL OR (\(prefix)::text IS NOT NULL AND left(caller_hash, length(\(prefix)::text)) <> \(prefix)::text)
            UNION
            SELECT DISTINCT r.call_sid, NULL FROM recordings r WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.call_sid = r.call_sid)
            ORDER BY call_sid LIMIT \(limit)
            """).map { row in
            let (sid, from) = try row.decode((String, String?).self)
            return UnindexedCall(callSid: sid, from: from)
        }
    }

    public func indexCaller(callSid: String, hash: String, status: CallStatus, startedAt: Date) async throws {
        let finals = Self.finalStatuses
        try await query("index caller", """
            INSERT INTO calls (call_sid, status, started_at, caller_hash) VALUES (\(callSid), \(status.rawValue), \(startedAt.timeIntervalSince1970), \(hash))
            ON CONFLICT (call_sid) DO UPDATE SET caller_hash = excluded.caller_hash,
                from_number = CASE WHEN calls.status = ANY(\(finals)) OR excluded.status = ANY(\(finals)) THEN NULL ELSE calls.from_number END
            """)
    }

    public func queueErasure(_ record: ErasureRecord, at now: Date) async throws -> Bool {
        try await transaction("queue erasure") { connection in
            // The claim's owner and token go (its commit and renewals fail), its lease stays:
            // the row is free for the erasure step only once a step in flight can no longer write.
            let rows = try await connection.query("""
                UPDATE recordings SET state = 'erasing', attempts = 0, next_attempt_at = \(now.timeIntervalSince1970), last_error = NULL,
                    cleanup_pending = false, claimed_by = NULL, claim_token = NULL, claimed_at = NULL
                WHERE recording_sid = \(record.recordingSid) AND state NOT IN ('erasing', 'erased')
                RETURNING 1
                """, logger: self.logger).collect()
            guard !rows.isEmpty else { return false }
            try await connection.query("""
                INSERT INTO erasures (recording_sid, call_sid, job_id, object_key, scope, reason, requested_at)
                VALUES (\(record.recordingSid), \(record.callSid), \(record.jobID), \(record.objectKey), \(record.scope.rawValue), \(record.reason),
                        \(record.requestedAt.timeIntervalSince1970))
                ON CONFLICT (recording_sid) DO NOTHING
                """, logger: self.logger)
            try await connection.query("SELECT pg_notify(\(Self.channel), 'erase')", logger: self.logger)
            return true
        }
    }

    public func erasures(since date: Date, limit: Int) async throws -> [ErasureRecord] {
        try await query("read erasures", """
            SELECT recording_sid, call_sid, job_id, object_key, scope, reason, requested_at, completed_at, outcome FROM erasures
            WHERE requested_at >= \(date.timeIntervalSince1970) ORDER BY requested_at, recording_sid LIMIT \(limit)
            """).map { row in
            let r = row.makeRandomAccess()
            let scopeName = try r["scope"].decode(String.self)
            guard let scope = ErasureScope(rawValue: scopeName) else {
                throw JobStoreError(.corrupt, operation: "read erasures", cause: PostgresFailure(text: "unknown erasure scope '\(scopeName)'"))
            }
            return ErasureRecord(recordingSid: try r["recording_sid"].decode(String.self), callSid: try r["call_sid"].decode(String.self),
                                 jobID: try r["job_id"].decode(String?.self), objectKey: try r["object_key"].decode(String?.self), scope: scope,
                                 reason: try r["reason"].decode(String?.self), requestedAt: Date(timeIntervalSince1970: try r["requested_at"].decode(Double.self)),
                                 completedAt: try r["completed_at"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
                                 outcome: try r["outcome"].decode(String?.self))
        }
    }

    public func setLegalHold(recordingSids: [String], held: Bool) async throws {
        try await query("set legal hold", "UPDATE recordings SET legal_hold = \(held) WHERE recording_sid = ANY(\(recordingSids))")
    }

    public func heldRecordings(limit: Int) async throws -> [RecordingJob] {
        try await query("read held recordings", "SELECT * FROM recordings WHERE legal_hold ORDER BY received_at, recording_sid LIMIT \(limit)").map(Self.job)
    }
}
