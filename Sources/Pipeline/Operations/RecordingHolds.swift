import AWS
import Foundation

/// `recops recordings hold`: S3 Object Lock legal holds on every version of the recordings a job,
/// call, caller or recording names. A held version cannot be deleted by anyone (lifecycle expiration
/// included) until the hold is released: S3 enforces it, not recops.
public struct RecordingHolds: Sendable {
    public typealias Selector = RecordingSelector

    /// One recording's object and the versions whose hold was set (or found).
    public struct Recording: Sendable, Equatable {
        public var recordingSid: String
        public var callSid: String
        public var jobID: String?
        public var key: String
        /// Version ids, oldest last as S3 lists them; empty when the object is gone.
        public var versions: [String]
        /// Under legal hold, each of `versions` (after a `set`, the state it was set to).
        public var held: Bool
    }

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    let store: any JobStore
    let s3: S3Client
    let bucket: String
    let callers: CallerIndex?

    public init(store: any JobStore, s3: S3Client, bucket: String, callers: CallerIndex?) {
        self.store = store
        self.s3 = s3
        self.bucket = bucket
        self.callers = callers
    }

    /// Sets (`on`) or releases the hold of every version of every recording `selector` names.
    public func set(_ selector: Selector, on: Bool) async throws -> [Recording] {
        let jobs = try await stored(selector)
        // Asked first, as AWS refuses a hold without it (moto would take one all the same).
        guard try await s3.objectLockEnabled(bucket) else { throw Self.noObjectLock(bucket) }
        var done: [Recording] = []
        for job in jobs {
            let key = job.objectKey!
            let versions = try await s3.versions(bucket: bucket, key: key).filter { !$0.isDeleteMarker }.map(\.versionID)
            for version in versions {
                do {
                    try await s3.setLegalHold(bucket: bucket, key: key, versionID: version, on: on)
                } catch let error as AWSError where error.code == "InvalidRequest" && error.message.contains("Object Lock") {
                    throw Self.noObjectLock(bucket)
                }
            }
            done.append(Recording(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, key: key, versions: versions, held: on && !versions.isEmpty))
            // Remembered for status and /ops once S3 took it (S3 stays the truth).
            try await store.setLegalHold(recordingSids: [job.recordingSid], held: on)
        }
        return done
    }

    static func noObjectLock(_ bucket: String) -> Refused {
        Refused(description: "bucket \(bucket) has no Object Lock, so nothing can be held: set bucket.object_lock: true (with versioning: true) in the spec and run recops apply")
    }

    /// The recordings `selector` names and whether every version of each is held.
    public func status(_ selector: Selector) async throws -> [Recording] {
        var found: [Recording] = []
        for job in try await stored(selector) {
            let key = job.objectKey!
            let versions = try await s3.versions(bucket: bucket, key: key).filter { !$0.isDeleteMarker }.map(\.versionID)
            var held = !versions.isEmpty
            for version in versions where held {
                held = try await s3.legalHold(bucket: bucket, key: key, versionID: version)
            }
            found.append(Recording(recordingSid: job.recordingSid, callSid: job.callSid, jobID: job.jobID, key: key, versions: versions, held: held))
        }
        return found
    }

    /// Whether any version of `key` is under legal hold (the erasure's check; false without Object Lock).
    func isHeld(key: String, objectLock: Bool) async throws -> Bool {
        guard objectLock else { return false }
        for version in try await s3.versions(bucket: bucket, key: key) where !version.isDeleteMarker {
            if try await s3.legalHold(bucket: bucket, key: key, versionID: version.versionID) { return true }
        }
        return false
    }

    /// The store's recordings with an object that `selector` names; refused when there are none.
    private func stored(_ selector: Selector) async throws -> [RecordingJob] {
        let jobs = try await selector.jobs(in: store, callers: callers).filter { $0.objectKey != nil && $0.state != .erased && $0.state != .erasing }
        guard !jobs.isEmpty else { throw Refused(description: "no stored recording matches \(selector.description)") }
        return jobs
    }
}
