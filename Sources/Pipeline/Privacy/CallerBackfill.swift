import Foundation
import Twilio

/// `recops recordings index-callers`: the caller index for calls stored before it existed (or,
/// with `rehash`, hashed under a previous key). A number an older recops kept is hashed where it
/// is (and dropped once its call has ended); otherwise Twilio's call record gives `From`.
public struct CallerBackfill: Sendable {
    public struct Result: Sendable, Equatable {
        public var fromStore = 0
        public var fromTwilio = 0
        /// Calls Twilio has no record of: they stay unindexed.
        public var notFound: [String] = []
    }

    let store: any JobStore
    let twilio: TwilioClient
    let callers: CallerIndex

    public init(store: any JobStore, twilio: TwilioClient, callers: CallerIndex) {
        self.store = store
        self.twilio = twilio
        self.callers = callers
    }

    public func run(rehash: Bool, batch: Int = 200) async throws -> Result {
        var result = Result()
        var skipped: Set<String> = []
        while true {
            // Calls Twilio does not know stay unindexed: asked past, so the loop ends.
            let calls = try await store.unindexedCalls(staleUnder: rehash ? callers.current.id : nil, limit: batch + skipped.count)
                .filter { !skipped.contains($0.callSid) }
            guard !calls.isEmpty else { return result }
            for call in calls {
                if let from = call.from {
                    let known = try await store.call(call.callSid)
                    try await store.indexCaller(callSid: call.callSid, hash: callers.hash(from), status: known?.status ?? .completed,
                                                startedAt: known?.startedAt ?? Date())
                    result.fromStore += 1
                } else if let record = try await twilio.call(sid: call.callSid), let from = record.from, !from.isEmpty {
                    let known = try await store.call(call.callSid)
                    try await store.indexCaller(callSid: call.callSid, hash: callers.hash(from),
                                                status: known?.status ?? record.status.flatMap(CallStatus.init(rawValue:)) ?? .completed,
                                                startedAt: known?.startedAt ?? record.startTime.flatMap(Twilio.date) ?? Date())
                    result.fromTwilio += 1
                } else {
                    skipped.insert(call.callSid)
                    result.notFound.append(call.callSid)
                }
            }
        }
    }
}
