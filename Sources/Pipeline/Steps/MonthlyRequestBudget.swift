import Airtable
import Foundation
import Logging

/// recops's monthly allowance of Airtable requests (`airtable.monthly_request_budget`), in
/// front of the per-second budget: Free and Team plans cap a base's API calls per month, and
/// recops shares them with everything else on the base.
///
/// Each request is counted in the job store before it leaves (one atomic statement that refuses
/// past the limit), so several replicas together never spend more than the budget. Alerts go
/// out when the count crosses 80% and 100%: exactly one request crosses each mark, whichever
/// replica sends it, so each alert is raised once a month. Once the budget is spent, requests
/// are held back (`MonthlyBudgetSpent`, the history waits queued) unless the spec says
/// `over_budget: continue`. With no budget set, requests are still counted, for `/metrics`.
public final class MonthlyRequestBudget: RequestBudget, CustomStringConvertible {
    let inner: any RequestBudget
    let store: any JobStore
    let budget: Int?
    let hold: Bool
    let metrics: PipelineMetrics
    let alerts: AlertSink
    let now: @Sendable () -> Date
    let logger: Logger

    public init(inner: any RequestBudget, store: any JobStore, budget: Int?, hold: Bool, metrics: PipelineMetrics, alerts: AlertSink,
                now: @escaping @Sendable () -> Date, logger: Logger) {
        self.inner = inner
        self.store = store
        self.budget = budget
        self.hold = hold
        self.metrics = metrics
        self.alerts = alerts
        self.now = now
        self.logger = logger
    }

    public var description: String { "MonthlyRequestBudget(\(budget.map(String.init) ?? "no budget"), in front of \(inner))" }

    /// The calendar month (UTC) a moment falls in: "2026-12".
    public static func month(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: date)
        return String(format: "%04d-%02d", parts.year ?? 0, parts.month ?? 0)
    }

    public func run<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        // Counted once the per-second budget gives the turn, right before the request leaves:
        // a waiter that gives up has spent nothing.
        try await inner.run(key) {
            try await count()
            return try await body()
        }
    }

    public func throttled(_ key: String) async {
        await inner.throttled(key)
    }

    private func count() async throws {
        let month = Self.month(of: now())
        let used: Int?
        do {
            used = try await store.countAirtableRequest(month: month, limit: hold ? budget : nil)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The count is bookkeeping; a store that cannot take it must not stop the history.
            logger.warning("cannot count an Airtable request: \(Redaction.message(error))")
            return
        }
        guard let used else {
            metrics.airtableBudget(used: budget ?? 0, budget: budget)
            throw MonthlyBudgetSpent(month: month, budget: budget ?? 0)
        }
        metrics.airtableBudget(used: used, budget: budget)
        guard let budget else { return }
        for mark in [80, 100] where used == Self.crossing(mark, of: budget) {
            // Not awaited: the alert's delivery must not hold the request's turn.
            let (alerts, month) = (alerts, month)
            let hold = hold
            Task { await alerts.raise(.airtableBudget, "recops has sent \(used) of its \(budget) Airtable requests for \(month) (\(mark)%)"
                + (mark == 100 ? (hold ? "; history writes wait for next month or a larger budget" : "; over_budget is continue: writes go on") : ""),
                details: ["month": month, "used": "\(used)", "budget": "\(budget)", "percent": "\(mark)"]) }
        }
    }

    /// The request whose count reaches `percent` of `budget`.
    static func crossing(_ percent: Int, of budget: Int) -> Int {
        max(1, (budget * percent + 99) / 100)
    }
}

/// The month's Airtable budget is spent: nothing was sent.
public struct MonthlyBudgetSpent: Error, Sendable, CustomStringConvertible {
    public var month: String
    public var budget: Int

    public var description: String { "the monthly Airtable budget (\(budget) requests) is spent for \(month): the work waits" }
}
