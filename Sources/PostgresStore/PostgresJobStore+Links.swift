import Foundation
import Pipeline
import PostgresNIO

// LinkStore (through JobStore).
extension PostgresJobStore {
    public func link(recordingSid: String, objectKey: String, jobID: String?, at now: Date) async throws -> RecordingLink {
        // One statement: two replicas making the same recording's link agree on one id.
        let rows = try await query("make link", """
            INSERT INTO recording_links AS l (id, recording_sid, object_key, job_id, created_at)
            VALUES (\(RecordingLink.newID()), \(recordingSid), \(objectKey), \(jobID), \(now.timeIntervalSince1970))
            ON CONFLICT (recording_sid) DO UPDATE SET object_key = excluded.object_key, job_id = COALESCE(excluded.job_id, l.job_id)
            RETURNING id, recording_sid, object_key, job_id, created_at, revoked_at
            """)
        guard let row = rows.first else { throw JobStoreError(.failed, operation: "make link", cause: PostgresFailure(text: "no row returned")) }
        return try Self.link(row)
    }

    public func link(id: String) async throws -> RecordingLink? {
        try await query("read link", "SELECT id, recording_sid, object_key, job_id, created_at, revoked_at FROM recording_links WHERE id = \(id)")
            .first.map(Self.link)
    }

    public func links(recordingSids: [String]) async throws -> [RecordingLink] {
        try await query("read links", """
            SELECT id, recording_sid, object_key, job_id, created_at, revoked_at FROM recording_links WHERE recording_sid = ANY(\(recordingSids))
            """).map(Self.link)
    }

    public func links(jobID: String) async throws -> [RecordingLink] {
        try await query("read links", """
            SELECT id, recording_sid, object_key, job_id, created_at, revoked_at FROM recording_links WHERE job_id = \(jobID) ORDER BY created_at
            """).map(Self.link)
    }

    public func revokeLinks(recordingSids: [String], at now: Date) async throws -> Int {
        try await query("revoke links", """
            UPDATE recording_links SET revoked_at = \(now.timeIntervalSince1970) WHERE revoked_at IS NULL AND recording_sid = ANY(\(recordingSids)) RETURNING 1
            """).count
    }

    public func recordOpen(_ open: LinkOpen) async throws {
        try await query("record link open", """
            INSERT INTO link_opens (at, link_id, recording_sid, object_key, job_id, client, network, user_agent, session, answer)
            VALUES (\(open.at.timeIntervalSince1970), \(open.linkID), \(open.recordingSid), \(open.objectKey), \(open.jobID), \(open.client),
                    \(open.network), \(open.userAgent), \(open.session), \(open.answer.rawValue))
            """)
    }

    public func opens(from: Date, to: Date, jobID: String?, client: String?, limit: Int) async throws -> [LinkOpen] {
        try await query("read link opens", """
            SELECT at, link_id, recording_sid, object_key, job_id, client, network, user_agent, session, answer FROM link_opens
            WHERE at >= \(from.timeIntervalSince1970) AND at <= \(to.timeIntervalSince1970)
              AND (\(jobID)::text IS NULL OR job_id = \(jobID)) AND (\(client)::text IS NULL OR client = \(client))
            ORDER BY at, seq LIMIT \(limit)
            """).map { row in
            let (at, link, sid, key, job, client, network, agent, session, answer) =
                try row.decode((Double, String?, String?, String?, String?, String, String, String, String?, String).self)
            guard let answer = LinkOpen.Answer(rawValue: answer) else {
                throw JobStoreError(.corrupt, operation: "read link opens", cause: PostgresFailure(text: "link open with answer '\(answer)'"))
            }
            return LinkOpen(at: Date(timeIntervalSince1970: at), linkID: link, recordingSid: sid, objectKey: key, jobID: job, client: client,
                            network: network, userAgent: agent, session: session, answer: answer)
        }
    }

    public func distinctRecordingsOpened(client: String, from: Date, to: Date) async throws -> Int {
        Int(try await query("count link opens", """
            SELECT count(DISTINCT recording_sid) FROM link_opens
            WHERE client = \(client) AND at >= \(from.timeIntervalSince1970) AND at <= \(to.timeIntervalSince1970) AND answer = 'redirected'
            """).first?.decode(Int64.self) ?? 0)
    }

    public func networkSeen(_ network: String, before date: Date) async throws -> (network: Bool, any: Bool) {
        let cut = date.timeIntervalSince1970
        let row = try await query("read link networks", """
            SELECT EXISTS (SELECT 1 FROM link_opens WHERE network = \(network) AND at < \(cut)), EXISTS (SELECT 1 FROM link_opens WHERE at < \(cut))
            """).first
        return try row?.decode((Bool, Bool).self) ?? (false, false)
    }

    public func pruneOpens(before date: Date) async throws -> Int {
        try await query("prune link opens", "DELETE FROM link_opens WHERE at < \(date.timeIntervalSince1970) RETURNING 1").count
    }

    /// Links and opens copied from another store (`recops store copy`): a link already here is
    /// kept as it is, an open already here (same time, client, link and answer) is not added again,
    /// so copying twice is a no-op. One transaction. Returns how many of each were new.
    public func importLinks(_ links: [RecordingLink], opens: [LinkOpen]) async throws -> (links: Int, opens: Int) {
        try await transaction("import links") { connection in
            var newLinks = 0, newOpens = 0
            for link in links {
                newLinks += try await connection.query("""
                    INSERT INTO recording_links (id, recording_sid, object_key, job_id, created_at, revoked_at)
                    VALUES (\(link.id), \(link.recordingSid), \(link.objectKey), \(link.jobID), \(link.createdAt.timeIntervalSince1970),
                            \(link.revokedAt?.timeIntervalSince1970))
                    ON CONFLICT DO NOTHING RETURNING 1
                    """, logger: self.logger).collect().count
            }
            for open in opens {
                let at = open.at.timeIntervalSince1970
                newOpens += try await connection.query("""
                    INSERT INTO link_opens (at, link_id, recording_sid, object_key, job_id, client, network, user_agent, session, answer)
                    SELECT \(at), \(open.linkID), \(open.recordingSid), \(open.objectKey), \(open.jobID), \(open.client), \(open.network),
                           \(open.userAgent), \(open.session), \(open.answer.rawValue)
                    WHERE NOT EXISTS (SELECT 1 FROM link_opens WHERE client = \(open.client) AND at = \(at) AND answer = \(open.answer.rawValue)
                                      AND link_id IS NOT DISTINCT FROM \(open.linkID))
                    RETURNING 1
                    """, logger: self.logger).collect().count
            }
            return (newLinks, newOpens)
        }
    }

    static func link(_ row: PostgresRow) throws -> RecordingLink {
        let (id, sid, key, job, created, revoked) = try row.decode((String, String, String, String?, Double, Double?).self)
        return RecordingLink(id: id, recordingSid: sid, objectKey: key, jobID: job, createdAt: Date(timeIntervalSince1970: created),
                             revokedAt: revoked.map(Date.init(timeIntervalSince1970:)))
    }
}
