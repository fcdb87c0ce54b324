/// Jittered exponential backoff for throttling and server errors.
///
/// "Full jitter" (a random delay up to the exponential cap), as AWS's SDKs do, so that many
/// clients retrying together spread out instead of colliding again.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// Waits between attempts; tests pass one that records instead of sleeping.
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        maxAttempts: Int = 5,
        baseDelay: Duration = .milliseconds(100),
        maxDelay: Duration = .seconds(20),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.sleep = sleep
    }

    /// The longest delay before retry number `attempt` (1 for the first retry).
    public func cap(forRetry attempt: Int) -> Duration {
        let factor = 1 << min(attempt - 1, 30)
        return min(maxDelay, baseDelay * factor)
    }

    /// Runs `operation` until it succeeds, `shouldRetry` says no, or the attempts run out; the
    /// last error is thrown.
    public func run<T: Sendable>(
        shouldRetry: (any Error) -> Bool,
        _ operation: () async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                guard attempt < maxAttempts, shouldRetry(error) else { throw error }
                let cap = cap(forRetry: attempt)
                let jittered = cap * Double.random(in: 0...1)
                try await sleep(jittered)
                attempt += 1
            }
        }
    }
}
