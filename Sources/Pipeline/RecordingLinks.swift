import Foundation
import Spec

/// `recops recordings url`: fresh links to stored recordings ("regenerate signed URL on demand"),
/// and on request one more history line carrying the new link.
public struct RecordingLinks: Sendable {
    let pipeline: RecordingPipeline

    public init(pipeline: RecordingPipeline) {
        self.pipeline = pipeline
    }

    public struct NotFound: Error, CustomStringConvertible {
        public var description: String
    }

    /// The stored recordings a recording SID, call SID or job id names, each with a fresh link.
    public func links(for identifier: String) async throws -> [(job: RecordingJob, url: String)] {
        let jobs = try await pipeline.store.jobs(matching: identifier).filter { $0.objectKey != nil && [.stored, .linked, .unmatched].contains($0.state) }
        guard !jobs.isEmpty else {
            throw NotFound(description: "no stored recording has the recording SID, call SID or job id '\(identifier)'")
        }
        return jobs.map { ($0, pipeline.objectLink($0.objectKey!)) }
    }

    /// Appends the line with `url` to the job's history (read, append, PATCH, confirm), even
    /// when an older line links the same object: its link may have expired.
    public func appendLine(for job: RecordingJob, url: String) async throws {
        guard let jobID = job.jobID else { throw NotFound(description: "\(job.recordingSid) belongs to no job") }
        let settings = pipeline.configuration.airtable
        guard let record = try await pipeline.airtable.findRecord(base: settings.base, table: settings.table, field: settings.jobIdField, equals: jobID) else {
            throw NotFound(description: "no record in \(settings.table) has \(settings.jobIdField) = \(jobID)")
        }
        let line = RecordingLayout(recordings: pipeline.configuration.recordings).historyLine(for: job, url: url)
        var history = record.fields[settings.historyField]?.stringValue ?? ""
        history += (history.isEmpty || history.hasSuffix("\n") ? "" : "\n") + line
        let updated = try await pipeline.airtable.updateRecord(base: settings.base, table: settings.table, id: record.id, fields: [settings.historyField: .string(history)])
        guard updated.fields[settings.historyField]?.stringValue?.contains(line) == true else {
            throw NotFound(description: "the line is not in the record Airtable returned: another writer raced; run the command again")
        }
    }
}
