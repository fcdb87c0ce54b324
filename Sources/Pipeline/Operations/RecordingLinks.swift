import Airtable
import Foundation

/// `recops recordings url`: fresh links to stored recordings ("regenerate signed URL on demand"),
/// and on request one more history line carrying the new link.
public struct RecordingLinks: Sendable {
    let configuration: PipelineConfiguration
    let store: any JobStore
    let airtable: AirtableClient
    let history: HistoryWriter
    let links: ObjectLinks
    let now: @Sendable () -> Date

    public init(configuration: PipelineConfiguration, store: any JobStore, airtable: AirtableClient, history: HistoryWriter, links: ObjectLinks,
                now: @escaping @Sendable () -> Date) {
        self.configuration = configuration
        self.store = store
        self.airtable = airtable
        self.history = history
        self.links = links
        self.now = now
    }

    public struct NotFound: Error, CustomStringConvertible {
        public var description: String
    }

    /// The stored recordings a recording SID, call SID or job id names, each with a fresh link.
    public func links(for identifier: String) async throws -> [(job: RecordingJob, url: String)] {
        let jobs = try await store.jobs(matching: identifier).filter { $0.objectKey != nil && [.stored, .linked, .unmatched].contains($0.state) }
        guard !jobs.isEmpty else {
            throw NotFound(description: "no stored recording has the recording SID, call SID or job id '\(identifier)'")
        }
        var found: [(job: RecordingJob, url: String)] = []
        for job in jobs { found.append((job, try await links.link(for: job, key: job.objectKey!).url)) }
        return found
    }

    /// Appends the line with `url` to the job's history (read, append, PATCH, confirm: the
    /// `HistoryWriter` the service uses), even when an older line links the same object: its link
    /// may have expired. Holds the job's history claim in the shared store while it does, so a
    /// running service never writes the same record at once; waits up to `wait` for it.
    public func appendLine(for job: RecordingJob, url: String, wait: Duration = .seconds(60)) async throws {
        guard let jobID = job.jobID else { throw NotFound(description: "\(job.recordingSid) belongs to no job") }
        do {
            try await HistoryClaimHolder(store: store, owner: configuration.owner).holding(jobID: jobID, wait: wait) {
                let line = RecordingLayout(settings: configuration.history).historyLine(for: job, url: url)
                guard try await history.append([.always(line)], jobID: jobID, knownRecordID: job.recordID) != nil else {
                    let settings = configuration.airtable
                    throw NotFound(description: "no record in \(settings.table) has \(settings.jobIdField) = \(jobID)")
                }
            }
        } catch let failure as StepFailure where failure.kind == .invalid {
            throw NotFound(description: "the line is not in the record Airtable returned: another writer raced; run the command again")
        } catch let busy as HistoryClaimHolder.Busy {
            throw NotFound(description: busy.description)
        }
    }

    /// Revokes the stable links of the recordings `identifier` names (a link id, a stable URL,
    /// a recording SID, call SID or job id): they answer 410 from then on. Returns the links
    /// revoked now and those that already were.
    public func revoke(_ identifier: String) async throws -> (revoked: [RecordingLink], already: [RecordingLink]) {
        var links: [RecordingLink] = []
        if let id = RecordingLink.id(in: identifier) ?? (RecordingLink.isWellFormed(identifier[...]) ? identifier : nil),
           let link = try await store.link(id: id) {
            links = [link]
        } else {
            let sids = try await store.jobs(matching: identifier).map(\.recordingSid)
            links = try await store.links(recordingSids: sids)
            // A job's links outlive its rows (pruned by store.retention).
            for link in try await store.links(jobID: identifier) where !links.contains(where: { $0.id == link.id }) { links.append(link) }
        }
        guard !links.isEmpty else {
            throw NotFound(description: "no stable link has the id, recording SID, call SID or job id '\(identifier)'")
        }
        let already = links.filter { $0.revokedAt != nil }
        let fresh = links.filter { $0.revokedAt == nil }
        _ = try await store.revokeLinks(recordingSids: fresh.map(\.recordingSid), at: now())
        return (fresh, already)
    }

    /// Gives the unmatched recordings a recording SID or call SID names to `jobID`, once its
    /// record is found in Airtable; the history step then writes their lines as for any other.
    public func assign(_ identifier: String, to jobID: String) async throws -> [RecordingJob] {
        let unmatched = try await store.jobs(matching: identifier).filter { $0.state == .unmatched && $0.objectKey != nil }
        guard !unmatched.isEmpty else {
            throw NotFound(description: "no unmatched stored recording has the recording SID or call SID '\(identifier)'")
        }
        let settings = configuration.airtable
        guard try await airtable.findRecord(base: settings.base, table: settings.table, field: settings.jobIdField, equals: jobID) != nil else {
            throw NotFound(description: "no record in \(settings.table) has \(settings.jobIdField) = \(jobID)")
        }
        var assigned: [RecordingJob] = []
        for job in unmatched where try await store.assign(job.recordingSid, jobID: jobID, at: now()) {
            assigned.append(job)
        }
        return assigned
    }
}
