import AWS
import Foundation
import RecopsBase

/// The daily check in one value: what `recops status` prints and `/ops` shows.
///
/// Success rate counts recordings, not attempts: of those received in the window, the share
/// already linked (those still in progress count as not yet linked).
public struct PipelineStatus: Sendable {
    public struct Pending: Sendable {
        public var job: RecordingJob
        public var ageSeconds: Int
    }

    public struct Hour: Sendable {
        public var start: Date
        public var recordings: Int
        public var failures: Int
    }

    public var generatedAt: Date
    public var windowHours = 24
    public var queue: [RecordingJob.State: Int]
    /// Uploads still pending, and stored recordings whose line keeps failing.
    public var pending: [Pending]
    /// History steps holding their claim past the stall bound.
    public var stalledHistory: [StalledStep] = []
    /// Rows each replica is working on now (live claims), by replica name.
    public var claims: [String: Int] = [:]
    public var unmatchedRecordings: [RecordingJob]
    /// Stored recordings whose line waits for room in their job's history field (all of them).
    public var historyFull: [RecordingJob] = []
    /// Recordings under legal hold (as `recordings hold` last set it): they outlive retention.
    public var held: [RecordingJob] = []
    /// recops's Airtable requests this calendar month (UTC), all replicas, and the budget.
    public var airtableMonth: (month: String, used: Int, budget: Int?)?
    /// The AWS key each replica last reported signing with (the id only).
    public var signingKeys: [SigningKeyReport] = []
    /// The latest opens of stable links (last 24 h, newest first), and the recordings opened most
    /// in the last 7 days.
    public var latestOpens: [LinkOpen] = []
    public var busiestRecordings: [AccessAudit.Summary.Recording] = []
    public var unmatchedCalls: [CallRecord]
    public var qualityProblems: [RecordingJob]
    public var received: Int
    public var linked: Int
    /// Callback → confirmed line, seconds, for the recordings linked in the window.
    public var latencies: [Double]
    public var hours: [Hour]
    /// Objects and bytes under `recordings/`, or why they could not be counted.
    public var storage: Result<(objects: Int, bytes: Int), StatusError>
    /// The service user's access keys: id, active, age in days; or why they could not be read.
    public var keys: Result<[(id: String, active: Bool, ageDays: Int)], StatusError>

    public struct StatusError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var successRate: Double? { received == 0 ? nil : Double(linked) / Double(received) }

    public func latency(percentile: Double) -> Double? {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int((percentile / 100 * Double(sorted.count - 1)).rounded()))]
    }

    /// `s3` and `iam` nil: not counted (the page refreshes often; listing a bucket is not free).
    public static func collect(store: any JobStore, now: Date, bucket: String, s3: S3Client?, iam: IAMClient?, user: String?,
                               stallAfter: TimeInterval = 180, airtableBudget: Int? = nil) async throws -> PipelineStatus {
        let since = now.addingTimeInterval(-24 * 3600)
        let recent = try await store.jobs(receivedSince: since)
        let open = try await store.jobs(in: [.uploadPending, .stored, .received, .erasing], limit: 1000)
        let pending = open.filter { $0.state == .uploadPending || $0.lastError != nil }
            .map { Pending(job: $0, ageSeconds: Int(now.timeIntervalSince($0.receivedAt))) }
        let unmatched = try await store.jobs(in: [.unmatched], limit: 1000).filter { $0.receivedAt >= since }
        let linked = recent.filter { $0.state == .linked }
        var hours: [Hour] = []
        let firstHour = Date(timeIntervalSince1970: (since.timeIntervalSince1970 / 3600).rounded(.down) * 3600 + 3600)
        for index in 0..<24 {
            let start = firstHour.addingTimeInterval(Double(index) * 3600)
            let inHour = recent.filter { $0.receivedAt >= start && $0.receivedAt < start.addingTimeInterval(3600) }
            hours.append(Hour(start: start, recordings: inHour.count,
                              failures: inHour.filter { [.uploadPending, .unmatched, .failed, .absent].contains($0.state) || $0.qualityProblem != nil }.count))
        }
        var storage: Result<(objects: Int, bytes: Int), StatusError> = .failure(StatusError(description: "not counted"))
        if let s3 {
            do {
                let objects = try await s3.listObjects(bucket: bucket, prefix: "recordings/")
                storage = .success((objects.count, objects.reduce(0) { $0 + $1.size }))
            } catch {
                storage = .failure(StatusError(description: Redaction.message(error)))
            }
        }
        var keys: Result<[(id: String, active: Bool, ageDays: Int)], StatusError> = .failure(StatusError(description: "not read"))
        if let iam, let user {
            do {
                keys = .success(try await iam.accessKeys(user).map { key in
                    (key.id, key.active, key.created.map { Int(now.timeIntervalSince($0) / 86400) } ?? 0)
                })
            } catch {
                keys = .failure(StatusError(description: Redaction.message(error)))
            }
        }
        var status = PipelineStatus(
            generatedAt: now, queue: try await store.countsByState(), pending: pending,
            stalledHistory: try await store.stalledHistory(heldLongerThan: stallAfter), claims: try await store.claimsByOwner(), unmatchedRecordings: unmatched,
            unmatchedCalls: try await store.unmatchedCalls(since: since), qualityProblems: recent.filter { $0.qualityProblem != nil },
            received: recent.count, linked: linked.count,
            latencies: linked.compactMap { job in job.linkedAt.map { $0.timeIntervalSince(job.receivedAt) } },
            hours: hours, storage: storage, keys: keys)
        status.historyFull = try await store.jobs(in: [.historyFull], limit: 1000)
        status.held = try await store.heldRecordings(limit: 1000)
        let month = MonthlyRequestBudget.month(of: now)
        status.airtableMonth = (month, try await store.airtableRequests(month: month), airtableBudget)
        status.signingKeys = try await store.signingKeys()
        status.latestOpens = Array(try await store.opens(from: since, to: now, jobID: nil, client: nil, limit: 10_000).suffix(20).reversed())
        let week = try await store.opens(from: now.addingTimeInterval(-7 * 86_400), to: now, jobID: nil, client: nil, limit: 100_000)
        status.busiestRecordings = Array(AccessAudit.byRecording(week).prefix(10))
        return status
    }

    /// "1234 of 100000 requests in 2026-12 (1.2 %)", or "1234 requests in 2026-12 (no budget set)".
    public var airtableMonthText: String {
        guard let (month, used, budget) = airtableMonth else { return "unknown" }
        guard let budget else { return "\(used) requests in \(month) (no monthly budget set)" }
        return "\(used) of \(budget) requests in \(month) (" + String(format: "%.1f %%", Double(used) / Double(max(1, budget)) * 100) + ")"
    }
}
