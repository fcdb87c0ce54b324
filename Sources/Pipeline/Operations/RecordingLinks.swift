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
        for job in jobs { found.append((job, try await links.link(forKey: job.objectKey!))) }
        return found
    }

    /// Appends the line with `url` to the job's history (read, append, PATCH, confirm: the
    /// `HistoryWriter` the service uses), even when an older line links the same object: its link
    /// may have expired. Holds the job's history claim in the shared store while it does, so a
    /// running service never writes the same record at once; waits up to `wait` for it.
    public func appendLine(for job: RecordingJob, url: String, wait: Duration = .seconds(60)) async throws {
        guard let jobID = job.jobID else { throw NotFound(description: "\(job.recordingSid) belongs to no job") }
        let owner = configuration.owner
        let deadline = ContinuousClock.now + wait
        var held = try await store.takeHistory(jobID: jobID, owner: owner, lease: 120)
        while held == nil {
            guard ContinuousClock.now < deadline else { throw NotFound(description: "\(jobID)'s history stayed busy for \(wait): try again") }
            try await Task.sleep(for: .milliseconds(200))
            held = try await store.takeHistory(jobID: jobID, owner: owner, lease: 120)
        }
        // Released even when this task is cancelled meanwhile (the store refuses a cancelled
        // task's writes): a command that gives up never keeps the job's history held.
        let claim = held!
        let release = { await Task { try await store.releaseHistory(claim) }.result }
        do {
            let line = RecordingLayout(settings: configuration.history).historyLine(for: job, url: url)
            guard try await history.append([.always(line)], jobID: jobID, knownRecordID: job.recordID) != nil else {
                let settings = configuration.airtable
                throw NotFound(description: "no record in \(settings.table) has \(settings.jobIdField) = \(jobID)")
            }
        } catch let failure as StepFailure where failure.kind == .invalid {
            _ = await release()
            throw NotFound(description: "the line is not in the record Airtable returned: another writer raced; run the command again")
        } catch {
            _ = await release()
            throw error
        }
        try await release().get()
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
