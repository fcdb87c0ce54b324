import Foundation
import RecopsBase

/// The clock a fixture's pipeline, store and AWS signer read: real time plus an offset a test
/// moves forward, so "a second later" or "past the retry window" needs no sleep.
public final class TestClock: Sendable {
    private let offset = Locked<TimeInterval>(0)

    public init() {}

    public func now() -> Date {
        Date().addingTimeInterval(offset.value)
    }

    public func advance(by seconds: TimeInterval) {
        offset.withLock { $0 += seconds }
    }
}
