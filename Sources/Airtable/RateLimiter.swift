import Foundation

/// Keeps to Airtable's 5 requests per second per base, and pauses a base after a 429.
///
/// A request may leave only while fewer than `limit` requests to its base are in flight or
/// finished less than a second ago. Since a request reaches the server before its answer comes
/// back, no one-second window at the server can then hold more than `limit` arrivals, however the
/// network delays them (spacing departures evenly gives no such guarantee). Callers queue in
/// arrival order; nothing is dropped.
public actor RateLimiter {
    public let limit: Int
    public let window: Duration
    public let pauseAfterThrottle: Duration

    private struct Base {
        var inFlight = 0
        var finished: [ContinuousClock.Instant] = []
        var pausedUntil: ContinuousClock.Instant?
        var nextTicket = 0
        var serving = 0
    }

    private var bases: [String: Base] = [:]

    public init(requestsPerSecond: Int = 5, pauseAfterThrottle: Duration = .seconds(30)) {
        limit = max(1, requestsPerSecond)
        window = .seconds(1)
        self.pauseAfterThrottle = pauseAfterThrottle
    }

    /// Runs `body` as one request to `key`'s base, when the limit allows.
    public func run<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: String) async throws {
        let ticket = bases[key, default: Base()].nextTicket
        bases[key, default: Base()].nextTicket += 1
        while true {
            let now = ContinuousClock.now
            var base = bases[key, default: Base()]
            base.finished.removeAll { now - $0 >= window }
            bases[key] = base
            let paused = base.pausedUntil.map { now < $0 } ?? false
            if ticket == base.serving, !paused, base.inFlight + base.finished.count < limit {
                bases[key]!.inFlight += 1
                bases[key]!.serving += 1
                return
            }
            // Sleep until the earliest moment anything can change, polled at most every 20 ms.
            var wake = now + .milliseconds(20)
            if let until = base.pausedUntil, until > now { wake = max(wake, until) }
            try await Task.sleep(until: wake, clock: .continuous)
        }
    }

    private func release(_ key: String) {
        bases[key]?.inFlight -= 1
        bases[key]?.finished.append(.now)
    }

    /// After a 429: nothing more goes to this base until the pause is over.
    public func throttled(_ key: String) {
        let resume = ContinuousClock.now + pauseAfterThrottle
        bases[key, default: Base()].pausedUntil = max(bases[key]?.pausedUntil ?? resume, resume)
    }
}
