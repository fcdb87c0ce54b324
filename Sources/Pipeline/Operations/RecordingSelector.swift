import Foundation

/// What names recordings in a privacy command (`recordings hold`, `recordings erase`), by kind,
/// so a job id can never be read as a call SID, nor a number as either.
public enum RecordingSelector: Sendable, Equatable {
    case job(String)
    case call(String)
    case recording(String)
    /// A caller's number, found through the caller index (`CallerIndex`): never stored, never logged.
    case caller(String)

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    public var scope: ErasureScope {
        switch self {
        case .job: .job
        case .call: .call
        case .recording: .recording
        case .caller: .caller
        }
    }

    /// The store's recordings the selector names, oldest first. A caller is looked up under
    /// every key of `callers` (current and previous), so a rotation loses no one.
    public func jobs(in store: any JobStore, callers: CallerIndex?) async throws -> [RecordingJob] {
        switch self {
        case .job(let id): return try await store.jobs(matching: id).filter { $0.jobID == id }
        case .call(let sid): return try await store.jobs(matching: sid).filter { $0.callSid == sid }
        case .recording(let sid): return try await store.jobs(matching: sid).filter { $0.recordingSid == sid }
        case .caller(let number):
            guard let callers else {
                throw Refused(description: "\(CallerIndex.keyVariable) is not set, so recordings cannot be found by caller: set the key the service indexes calls with")
            }
            var jobs: [RecordingJob] = []
            for call in try await store.callSids(callerHashes: callers.hashes(number)) {
                jobs += try await store.jobs(matching: call).filter { $0.callSid == call }
            }
            return jobs.sorted { ($0.receivedAt, $0.recordingSid) < ($1.receivedAt, $1.recordingSid) }
        }
    }
}

extension RecordingSelector: CustomStringConvertible {
    /// For messages and logs: a caller shows as "the caller", never the number.
    public var description: String {
        switch self {
        case .job(let id): "job \(id)"
        case .call(let sid): "call \(sid)"
        case .recording(let sid): "recording \(sid)"
        case .caller: "the caller"
        }
    }
}
