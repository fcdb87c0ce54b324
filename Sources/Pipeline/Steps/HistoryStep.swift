import Airtable
import Foundation
import Logging

/// The due lines of up to ten jobs' recordings (URL lines for stored ones, the pending line for
/// `upload_pending` ones), in one batched read-modify-write of their records. Idempotent: a line
/// whose object key (or, for a pending line, whose count of exact copies) is already in the
/// history is not written again.
struct HistoryStep: Sendable {
    let store: any JobStore
    let writer: HistoryWriter
    let layout: RecordingLayout
    let links: ObjectLinks
    let airtable: AirtableSettings
    let throttleDelay: TimeInterval
    let metrics: PipelineMetrics
    let logger: Logger

    /// Which line of an entry each job's outcome follows.
    private struct Plan {
        var entry: HistoryWriter.Entry
        /// Per job of the job's rows, the index of its line in `entry.lines`.
        var lineOf: [Int]
    }

    /// What happened to each job's rows, in the order of `batch` and of each job's rows.
    func run(_ batch: [JobLines]) async -> [[JobEvent]] {
        var plans: [Plan] = []
        do {
            for job in batch { plans.append(try await plan(job)) }
            let outcomes = try await writer.append(plans.map(\.entry))
            await remember(batch, outcomes)
            return zip(batch, zip(plans, outcomes)).map { job, planned in events(job, planned.0, planned.1) }
        } catch {
            let failure = StepFailure.classify(error)
            let count = batch.map(\.rows.jobs.count).reduce(0, +)
            metrics.history(failure.kind.isSchedule ? .throttled : .failed, count: count)
            switch failure.kind {
            case .throttled:
                // Routine, not a fault: any client of the base (an automation, a sync) can push it past
                // 5 requests/s, and Airtable then pauses everyone on it for 30 s. The lines wait, in order.
                logger.notice("Airtable paused the base (429); the lines wait and are retried", metadata: ["jobs": "\(batch.count)", "retry_in_seconds": "\(Int(throttleDelay))"])
            case .budget:
                logger.notice("the monthly Airtable budget is spent; the lines wait", metadata: ["jobs": "\(batch.count)"])
            default:
                logger.warning("history update failed", metadata: ["jobs": "\(batch.map(\.jobID).joined(separator: ","))", "kind": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
            }
            return batch.map { $0.rows.jobs.map { _ in .historyFailed(failure.kind, failure.message) } }
        }
    }

    private func plan(_ job: JobLines) async throws -> Plan {
        let jobs = job.rows.jobs
        var lines: [HistoryWriter.Line] = []
        var lineOf: [Int] = []
        var pending: [String: (count: Int, jobs: [Int])] = [:]
        for (position, row) in jobs.enumerated() {
            if row.state != .uploadPending, let key = row.objectKey {
                lineOf.append(lines.count)
                let link = try await links.link(for: row, key: key)
                lines.append(.marked(layout.historyLine(for: row, url: link.url), marker: link.marker))
            } else {
                lineOf.append(-1)
                let text = layout.pendingLine(for: row)
                pending[text, default: (0, [])].count += 1
                pending[text]!.jobs.append(position)
            }
        }
        if !pending.isEmpty {
            // Every other recording of this job whose pending line was written owns one line of
            // its text, a stored one of this batch included (its pending line stays in the history).
            let here = Set(jobs.filter { $0.state == .uploadPending }.map(\.recordingSid))
            for other in try await store.jobs(matching: job.jobID) where other.jobID == job.jobID && other.pendingLineWritten && !here.contains(other.recordingSid) {
                let text = layout.pendingLine(for: other)
                if pending[text] != nil { pending[text]!.count += 1 }
            }
            for (text, group) in pending.sorted(by: { $0.key < $1.key }) {
                for position in group.jobs { lineOf[position] = lines.count }
                lines.append(.counted(text, count: group.count))
            }
        }
        let known = job.recordID ?? jobs.compactMap(\.recordID).first
        return Plan(entry: .init(jobID: job.jobID, knownRecordID: known, lines: lines), lineOf: lineOf)
    }

    private func events(_ job: JobLines, _ plan: Plan, _ outcome: HistoryWriter.Outcome) -> [JobEvent] {
        let jobs = job.rows.jobs
        switch outcome {
        case .written(let recordID):
            logger.info("history updated", metadata: ["job_id": "\(job.jobID)", "lines": "\(jobs.count)"])
            return jobs.map { written($0, recordID) }
        case .full(let recordID, let present, let length):
            logger.warning("the job's history field is full: lines that do not fit wait in history_full", metadata: [
                "job_id": "\(job.jobID)", "length": "\(length)", "waiting": "\(plan.lineOf.filter { !present.contains($0) }.count)"])
            return zip(jobs, plan.lineOf).map { row, line in
                if present.contains(line) { return written(row, recordID) }
                metrics.history(.full)
                return .historyFull(recordID: recordID, length: length)
            }
        case .missing:
            metrics.history(.unmatched, count: jobs.count)
            let reason = "no record in \(airtable.table) has \(airtable.jobIdField) = \(job.jobID)"
            return jobs.map { _ in .recordMissing(reason: reason) }
        case .failed(let failure):
            metrics.history(.failed, count: jobs.count)
            logger.warning("history update failed", metadata: ["job_id": "\(job.jobID)", "kind": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
            return jobs.map { _ in .historyFailed(failure.kind, failure.message) }
        }
    }

    private func written(_ row: RecordingJob, _ recordID: String) -> JobEvent {
        if row.state == .uploadPending {
            metrics.history(.pendingLine)
            return .pendingLineWritten(recordID: recordID)
        }
        metrics.history(.linked)
        return .historyWritten(recordID: recordID)
    }

    /// Keeps each job's record id for its later recordings, and forgets one that has gone. A
    /// failure here costs a lookup later, never a line: logged, not thrown.
    private func remember(_ batch: [JobLines], _ outcomes: [HistoryWriter.Outcome]) async {
        var found: [String: String] = [:]
        var gone: [String] = []
        for (job, outcome) in zip(batch, outcomes) {
            if let id = outcome.recordID, id != job.recordID { found[job.jobID] = id }
            if case .missing = outcome, job.recordID != nil { gone.append(job.jobID) }
        }
        do {
            if !found.isEmpty { try await store.rememberRecords(found) }
            if !gone.isEmpty { try await store.forgetRecords(jobIDs: gone) }
        } catch {
            logger.warning("cannot remember the jobs' Airtable records: \(Redaction.message(error))")
        }
    }
}
