/// What every Airtable request passes through: the base's request budget.
///
/// `RateLimiter` keeps one process to the limit; a budget shared through a database keeps
/// several replicas to it together (PostgresStore's `SharedRequestBudget`). Either way a 429
/// pauses the base for everyone that draws on the same budget.
public protocol RequestBudget: Sendable {
    /// Runs `body` as one request to `key`'s base when the budget allows. A waiter that is
    /// cancelled leaves the queue at once and throws `CancellationError`.
    func run<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T
    /// The base answered 429: nothing more goes to it for the pause.
    func throttled(_ key: String) async
}

extension RateLimiter: RequestBudget {}
