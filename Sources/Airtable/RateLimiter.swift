import Foundation

/// Keeps to Airtable's 5 requests per second per base, and pauses a base after a 429.
///
/// A request may leave only while fewer than `limit` requests to its base are in flight or
/// finished less than a second ago. Since a request reaches the server before its answer comes
/// back, no one-second window at the server can then hold more than `limit` arrivals, however the
/// network delays them (spacing departures evenly gives no such guarantee). Callers queue in
/// arrival order; nothing is dropped.
///
/// Every wait is cancellation-safe: a waiter is an entry in its base's queue, and a cancelled
/// waiter is taken out of the queue and told so at once, wherever it stands. Only the limiter
/// hands out turns (to the head of the queue, when the limit allows), so a waiter that gives up
/// can never keep a turn that the others wait for. (The first version let each waiter poll for
/// its own ticket; one cancelled at the head left every later ticket waiting forever.)
///
/// A 429 is routine, not a fault: any other client of the same base (an automation, a sync, a
/// person's script) can push the base past 5/s, and Airtable then refuses everyone on it for 30 s.
/// The base is paused here for that long and the queue waits, in order.
public actor RateLimiter {
    nonisolated public let limit: Int
    nonisolated public let window: Duration
    nonisolated public let pauseAfterThrottle: Duration

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct Base {
        var inFlight = 0
        var finished: [ContinuousClock.Instant] = []
        var pausedUntil: ContinuousClock.Instant?
        var queue: [Waiter] = []
        /// When the one pending wake-up (if any) will look at the queue again.
        var wakeAt: ContinuousClock.Instant?
    }

    private var bases: [String: Base] = [:]
    private var nextID: UInt64 = 0

    public init(requestsPerSecond: Int = 5, pauseAfterThrottle: Duration = .seconds(30)) {
        limit = max(1, requestsPerSecond)
        window = .seconds(1)
        self.pauseAfterThrottle = pauseAfterThrottle
    }

    /// Runs `body` as one request to `key`'s base, when the limit allows. Throws
    /// `CancellationError` (having left the queue) when the task is cancelled while it waits.
    public func run<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await acquire(key)
        defer { release(key) }
        return try await body()
    }

    /// Waiters queued for `key` (for tests and diagnostics).
    public func waiting(_ key: String) -> Int {
        bases[key]?.queue.count ?? 0
    }

    /// Whether `key` is paused after a 429 (for diagnostics).
    public func isPaused(_ key: String) -> Bool {
        bases[key]?.pausedUntil.map { ContinuousClock.now < $0 } ?? false
    }

    private func acquire(_ key: String) async throws {
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Runs on the actor before any suspension: a cancellation that came earlier is seen
                // here; one that comes later finds the waiter in the queue.
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                bases[key, default: Base()].queue.append(Waiter(id: id, continuation: continuation))
                pump(key)
            }
        } onCancel: {
            Task { await self.cancel(id, key: key) }
        }
    }

    /// Takes a cancelled waiter out of the queue. A waiter already given its turn is not in the
    /// queue: it runs (its request sees the cancellation) and releases as usual.
    private func cancel(_ id: UInt64, key: String) {
        guard let index = bases[key]?.queue.firstIndex(where: { $0.id == id }) else { return }
        let waiter = bases[key]!.queue.remove(at: index)
        waiter.continuation.resume(throwing: CancellationError())
        pump(key)
    }

    private func release(_ key: String) {
        bases[key]?.inFlight -= 1
        bases[key]?.finished.append(.now)
        pump(key)
    }

    /// After a 429: nothing more goes to this base until the pause is over.
    public func throttled(_ key: String) {
        let resume = ContinuousClock.now + pauseAfterThrottle
        bases[key, default: Base()].pausedUntil = max(bases[key]?.pausedUntil ?? resume, resume)
        pump(key)
    }

    /// Ends a pause now (tests decide when a staged pause is over, instead of racing a clock).
    func endPause(_ key: String) {
        bases[key]?.pausedUntil = nil
        pump(key)
    }

    /// Gives turns to the head of the queue while the limit allows; otherwise arranges one wake-up
    /// for the earliest moment that can change (the pause's end, or a finished request leaving the
    /// window). A request still in flight wakes the queue itself when it releases.
    private func pump(_ key: String) {
        guard var base = bases[key] else { return }
        let now = ContinuousClock.now
        base.finished.removeAll { now - $0 >= window }
        if let until = base.pausedUntil, until <= now { base.pausedUntil = nil }
        while !base.queue.isEmpty, base.pausedUntil == nil, base.inFlight + base.finished.count < limit {
            let waiter = base.queue.removeFirst()
            base.inFlight += 1
            waiter.continuation.resume()
        }
        if !base.queue.isEmpty {
            let wake: ContinuousClock.Instant? = base.pausedUntil ?? base.finished.min().map { $0 + window }
            if let wake, base.wakeAt.map({ $0 > wake }) ?? true {
                base.wakeAt = wake
                Task { [weak self] in
                    try? await Task.sleep(until: wake, clock: .continuous)
                    await self?.woke(key, at: wake)
                }
            }
        }
        bases[key] = base
    }

    private func woke(_ key: String, at wake: ContinuousClock.Instant) {
        if bases[key]?.wakeAt == wake { bases[key]?.wakeAt = nil }
        pump(key)
    }
}
