import Foundation
import GRDB
import Pipeline

// LinkStore (through JobStore).
extension SQLiteJobStore {
    public func link(recordingSid: String, objectKey: String, jobID: String?, at now: Date) async throws -> RecordingLink {
        try await immediate("make link") { db in
            try db.execute(sql: """
                INSERT INTO recording_links (id, recording_sid, object_key, job_id, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(recording_sid) DO UPDATE SET object_key = excluded.object_key, job_id = COALESCE(excluded.job_id, recording_links.job_id)
                """, arguments: [RecordingLink.newID(), recordingSid, objectKey, jobID, now.timeIntervalSince1970])
            return try Self.link(Row.fetchOne(db, sql: "SELECT * FROM recording_links WHERE recording_sid = ?", arguments: [recordingSid])!)
        }
    }

    public func link(id: String) async throws -> RecordingLink? {
        try await read("read link") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM recording_links WHERE id = ?", arguments: [id]).map(Self.link)
        }
    }

    public func links(recordingSids: [String]) async throws -> [RecordingLink] {
        guard !recordingSids.isEmpty else { return [] }
        return try await read("read links") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recording_links WHERE recording_sid IN (\(recordingSids.map { _ in "?" }.joined(separator: ",")))",
                             arguments: StatementArguments(recordingSids)).map(Self.link)
        }
    }

    public func links(jobID: String) async throws -> [RecordingLink] {
        try await read("read links") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recording_links WHERE job_id = ? ORDER BY created_at", arguments: [jobID]).map(Self.link)
        }
    }

    public func revokeLinks(recordingSids: [String], at now: Date) async throws -> Int {
        guard !recordingSids.isEmpty else { return 0 }
        return try await immediate("revoke links") { db in
            try db.execute(sql: "UPDATE recording_links SET revoked_at = ? WHERE revoked_at IS NULL AND recording_sid IN (\(recordingSids.map { _ in "?" }.joined(separator: ",")))",
                           arguments: StatementArguments([now.timeIntervalSince1970] + recordingSids.map { $0 as any DatabaseValueConvertible }))
            return db.changesCount
        }
    }

    public func recordOpen(_ open: LinkOpen) async throws {
        try await immediate("record link open") { db in
            try db.execute(sql: """
                INSERT INTO link_opens (at, link_id, recording_sid, object_key, job_id, client, network, user_agent, session, answer)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [open.at.timeIntervalSince1970, open.linkID, open.recordingSid, open.objectKey, open.jobID, open.client, open.network,
                                 open.userAgent, open.session, open.answer.rawValue])
        }
    }

    public func opens(from: Date, to: Date, jobID: String?, client: String?, limit: Int) async throws -> [LinkOpen] {
        try await read("read link opens") { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM link_opens WHERE at >= ? AND at <= ? AND (? IS NULL OR job_id = ?) AND (? IS NULL OR client = ?)
                ORDER BY at, seq LIMIT ?
                """, arguments: [from.timeIntervalSince1970, to.timeIntervalSince1970, jobID, jobID, client, client, limit]).map(Self.open)
        }
    }

    public func distinctRecordingsOpened(client: String, from: Date, to: Date) async throws -> Int {
        try await read("count link opens") { db in
            try Int.fetchOne(db, sql: """
                SELECT count(DISTINCT recording_sid) FROM link_opens WHERE client = ? AND at >= ? AND at <= ? AND answer = 'redirected'
                """, arguments: [client, from.timeIntervalSince1970, to.timeIntervalSince1970]) ?? 0
        }
    }

    public func networkSeen(_ network: String, before date: Date) async throws -> (network: Bool, any: Bool) {
        try await read("read link networks") { db in
            let cut = date.timeIntervalSince1970
            let seen = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM link_opens WHERE network = ? AND at < ?)", arguments: [network, cut]) ?? false
            let any = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM link_opens WHERE at < ?)", arguments: [cut]) ?? false
            return (seen, any)
        }
    }

    public func pruneOpens(before date: Date) async throws -> Int {
        try await immediate("prune link opens") { db in
            try db.execute(sql: "DELETE FROM link_opens WHERE at < ?", arguments: [date.timeIntervalSince1970])
            return db.changesCount
        }
    }

    /// Every link and every open (`recops store copy`): links in histories must open on the new store too.
    public func exportLinks() async throws -> (links: [RecordingLink], opens: [LinkOpen]) {
        try await read("export links") { db in
            (try Row.fetchAll(db, sql: "SELECT * FROM recording_links ORDER BY created_at, id").map(Self.link),
             try Row.fetchAll(db, sql: "SELECT * FROM link_opens ORDER BY at, seq").map(Self.open))
        }
    }

    static func link(_ row: Row) throws -> RecordingLink {
        RecordingLink(id: row["id"], recordingSid: row["recording_sid"], objectKey: row["object_key"], jobID: row["job_id"],
                      createdAt: Date(timeIntervalSince1970: row["created_at"]),
                      revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    static func open(_ row: Row) throws -> LinkOpen {
        guard let answer = LinkOpen.Answer(rawValue: row["answer"]) else { throw Corrupt(description: "link open with answer '\(row["answer"] as String? ?? "")'") }
        return LinkOpen(at: Date(timeIntervalSince1970: row["at"]), linkID: row["link_id"], recordingSid: row["recording_sid"], objectKey: row["object_key"],
                        jobID: row["job_id"], client: row["client"], network: row["network"], userAgent: row["user_agent"], session: row["session"],
                        answer: answer)
    }
}
