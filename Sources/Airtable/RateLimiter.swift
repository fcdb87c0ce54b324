import Foundation

/// Keeps to Airtable's 5 requests per second per base, and pauses a base after a 429.
///
/// Requests are spaced at least `interval` apart, in arrival order, per key; nothing is dropped,
/// callers wait. Time and sleep are injected so tests need not wait 30 s.
public actor RateLimiter {
    public let interval: Duration
    public let pauseAfterThrottle: Duration
    private let clock: ContinuousClock
    private var nextSlot: [String: ContinuousClock.Instant] = [:]

    /// Spacing is 10% wider than the limit: requests leave evenly spaced but may arrive closer
    /// together, and a base counting exactly 5 in a second would refuse the sixth.
    public init(requestsPerSecond: Int = 5, pauseAfterThrottle: Duration = .seconds(30)) {
        interval = .nanoseconds(1_100_000_000 / Int64(requestsPerSecond))
        self.pauseAfterThrottle = pauseAfterThrottle
        clock = ContinuousClock()
    }

    /// Waits for this key's next slot.
    public func acquire(_ key: String) async throws {
        let now = clock.now
        let slot = max(now, nextSlot[key] ?? now)
        nextSlot[key] = slot + interval
        if slot > now {
            try await Task.sleep(until: slot, clock: clock)
        }
    }

    /// After a 429: nothing more goes to this key until the pause is over.
    public func throttled(_ key: String) {
        let resume = clock.now + pauseAfterThrottle
        nextSlot[key] = max(nextSlot[key] ?? resume, resume)
    }
}
