import Foundation
import Logging

/// The due lines of one job's recordings (URL lines for stored ones, the pending line for
/// `upload_pending` ones), in one read-modify-write of its record. Idempotent: a line whose
/// object key (or, for a pending line, whose count of exact copies) is already in the history
/// is not written again.
struct HistoryStep: Sendable {
    let store: any JobStore
    let writer: HistoryWriter
    let layout: RecordingLayout
    let links: ObjectLinks
    let airtable: AirtableSettings
    let throttleDelay: TimeInterval
    let metrics: PipelineMetrics
    let logger: Logger

    /// What happened to each of `jobs` (all of job `jobID`).
    func run(jobID: String, _ jobs: [RecordingJob]) async -> [JobEvent] {
        do {
            var lines: [HistoryWriter.Line] = []
            var pending: [String: Int] = [:]
            for job in jobs {
                if job.state == .stored, let key = job.objectKey {
                    lines.append(.marked(layout.historyLine(for: job, url: links.link(forKey: key)), marker: RecordingLayout.marker(forKey: key)))
                } else {
                    pending[layout.pendingLine(for: job), default: 0] += 1
                }
            }
            if !pending.isEmpty {
                // Every other recording of this job whose pending line was written owns one line of
                // its text, a stored one of this batch included (its pending line stays in the history).
                let here = Set(jobs.filter { $0.state != .stored }.map(\.recordingSid))
                for other in try await store.jobs(matching: jobID) where other.jobID == jobID && other.pendingLineWritten && !here.contains(other.recordingSid) {
                    let text = layout.pendingLine(for: other)
                    if pending[text] != nil { pending[text]! += 1 }
                }
                lines += pending.sorted { $0.key < $1.key }.map { .counted($0.key, count: $0.value) }
            }
            guard let recordID = try await writer.append(lines, jobID: jobID, knownRecordID: jobs.compactMap(\.recordID).first) else {
                let reason = "no record in \(airtable.table) has \(airtable.jobIdField) = \(jobID)"
                metrics.history(.unmatched, count: jobs.count)
                return jobs.map { _ in .recordMissing(reason: reason) }
            }
            logger.info("history updated", metadata: ["job_id": "\(jobID)", "lines": "\(jobs.count)"])
            return jobs.map { job in
                if job.state == .stored {
                    metrics.history(.linked)
                    return .historyWritten(recordID: recordID)
                }
                metrics.history(.pendingLine)
                return .pendingLineWritten(recordID: recordID)
            }
        } catch {
            let failure = StepFailure.classify(error)
            metrics.history(failure.kind == .throttled ? .throttled : .failed, count: jobs.count)
            if failure.kind == .throttled {
                // Routine, not a fault: any client of the base (an automation, a sync) can push it past
                // 5 requests/s, and Airtable then pauses everyone on it for 30 s. The lines wait, in order.
                logger.notice("Airtable paused the base (429); the lines wait and are retried", metadata: ["job_id": "\(jobID)", "retry_in_seconds": "\(Int(throttleDelay))"])
            } else {
                logger.warning("history update failed", metadata: ["job_id": "\(jobID)", "kind": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
            }
            return jobs.map { _ in .historyFailed(failure.kind, failure.message) }
        }
    }
}
