import AWS
import Foundation
import Twilio

/// `recops recordings erase`: every copy of the recordings a caller, job, call or recording
/// names. Planning only reads; erasing queues each recording for the erasure step
/// (`ErasureStep`, run by the same durable worker as every other step) with its line in the
/// erasure log, so a crash anywhere leaves it queued and it resumes until it is complete.
///
/// A recording under legal hold is never queued: it is listed as held (the command exits 2).
public struct RecordingErasure: Sendable {
    /// One recording and what erasing it removes.
    public struct Item: Sendable, Equatable {
        public var job: RecordingJob
        /// The object's versions and delete markers (every one goes).
        public var versions: Int
        /// Whether Twilio still has its copy (asked, not remembered).
        public var twilioCopy: Bool
        public var link: Bool
        /// Whether its job's history may hold recops's line for it (its URL part is erased).
        public var historyLine: Bool
    }

    public struct Plan: Sendable, Equatable {
        public var erase: [Item] = []
        /// Under legal hold: never erased.
        public var held: [RecordingJob] = []
        /// Erased or queued already: a second run leaves them.
        public var done: [RecordingJob] = []
    }

    public struct Result: Sendable, Equatable {
        public var plan: Plan
        /// Queued now by this run (the others were queued by an earlier one).
        public var queued: [String]
        /// Still erasing when the wait ended (the worker of any replica finishes them).
        public var pending: [RecordingJob]
        /// Erased by the end, with what was removed.
        public var erased: [RecordingJob]
    }

    let configuration: PipelineConfiguration
    let store: any JobStore
    let s3: S3Client
    let twilio: TwilioClient
    let holds: RecordingHolds
    let now: @Sendable () -> Date

    public init(configuration: PipelineConfiguration, store: any JobStore, s3: S3Client, twilio: TwilioClient, holds: RecordingHolds,
                now: @escaping @Sendable () -> Date) {
        self.configuration = configuration
        self.store = store
        self.s3 = s3
        self.twilio = twilio
        self.holds = holds
        self.now = now
    }

    /// What erasing `selector` would remove, read from the store, S3 and Twilio; changes nothing.
    public func plan(_ selector: RecordingSelector) async throws -> Plan {
        let jobs = try await selector.jobs(in: store, callers: configuration.callers)
        guard !jobs.isEmpty else { throw RecordingSelector.Refused(description: "no recording in the store matches \(selector)") }
        var plan = Plan()
        let open = jobs.filter { $0.state != .erased && $0.state != .erasing }
        plan.done = jobs.filter { $0.state == .erased || $0.state == .erasing }
        guard !open.isEmpty else { return plan }
        let objectLock = try await s3.objectLockEnabled(configuration.bucket)
        let links = Set(try await store.links(recordingSids: open.map(\.recordingSid)).filter { $0.revokedAt == nil }.map(\.recordingSid))
        for job in open {
            var versions = 0
            if let key = job.objectKey {
                // S3 is the truth; the store's flag covers a hold S3 cannot be asked about.
                let held = try await holds.isHeld(key: key, objectLock: objectLock)
                if held || job.legalHold {
                    plan.held.append(job)
                    continue
                }
                versions = try await s3.versions(bucket: configuration.bucket, key: key).count
            }
            var twilioCopy = false
            if !job.twilioDeleted { twilioCopy = try await twilio.recording(sid: job.recordingSid) != nil }
            plan.erase.append(Item(job: job, versions: versions, twilioCopy: twilioCopy, link: links.contains(job.recordingSid), historyLine: job.jobID != nil))
        }
        return plan
    }

    /// Queues the plan's recordings for erasure (each with its log line), then has `work` (a
    /// worker beside any running service, given the SIDs to wait for) finish them.
    public func erase(_ selector: RecordingSelector, reason: String?, work: @Sendable ([String]) async throws -> Bool) async throws -> Result {
        let plan = try await plan(selector)
        var queued: [String] = []
        let at = now()
        for item in plan.erase {
            let job = item.job
            let record = ErasureRecord(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, objectKey: job.objectKey,
                                       scope: selector.scope, reason: reason, requestedAt: at)
            if try await store.queueErasure(record, at: at) { queued.append(job.recordingSid) }
        }
        // Those an earlier run queued but did not finish resume here too.
        let sids = plan.erase.map(\.job.recordingSid) + plan.done.filter { $0.state == .erasing }.map(\.recordingSid)
        if !sids.isEmpty { _ = try await work(sids) }
        var pending: [RecordingJob] = []
        var erased: [RecordingJob] = []
        for sid in sids {
            guard let job = try await store.job(sid) else { continue }
            if job.state == .erased { erased.append(job) } else { pending.append(job) }
        }
        return Result(plan: plan, queued: queued, pending: pending, erased: erased)
    }
}
