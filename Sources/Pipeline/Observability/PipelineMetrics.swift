import Prometheus

/// The service's metrics, in one Prometheus registry served at `/metrics`.
///
/// The registry is injected (not the process-wide `MetricsSystem`), so each server, and each
/// test, reads exactly its own numbers.
public final class PipelineMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static let latencyBuckets: [Duration] = [.milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
                                             .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3600)]

    public func callback(_ kind: WebhookKind, _ result: WebhookResult) {
        registry.makeCounter(name: "recops_callbacks_received_total", labels: [("kind", kind.rawValue), ("result", result.rawValue)],
                             help: "Webhook requests received, by kind and result").increment()
    }

    public func signatureFailure(_ kind: WebhookKind) {
        registry.makeCounter(name: "recops_signature_failures_total", labels: [("kind", kind.rawValue)],
                             help: "Webhook requests refused for a missing or wrong X-Twilio-Signature").increment()
    }

    public func upload(_ result: UploadResult, duration: Duration? = nil) {
        registry.makeCounter(name: "recops_uploads_total", labels: [("result", result.rawValue)], help: "Recording transfers to S3, by result").increment()
        if let duration {
            registry.makeDurationHistogram(name: "recops_upload_duration_seconds", labels: [], buckets: Self.latencyBuckets,
                                           help: "Download from Twilio plus upload to S3").record(duration)
        }
    }

    public func history(_ result: HistoryResult, count: Int = 1) {
        registry.makeCounter(name: "recops_history_updates_total", labels: [("result", result.rawValue)],
                             help: "History updates in Airtable, by result").increment(by: Int64(count))
    }

    public func callbackToHistory(_ duration: Duration) {
        registry.makeDurationHistogram(name: "recops_callback_to_history_seconds", labels: [], buckets: Self.latencyBuckets,
                                       help: "From the stored callback to the confirmed history line").record(duration)
    }

    public func queueDepth(_ counts: [RecordingJob.State: Int]) {
        for state in RecordingJob.State.allCases {
            registry.makeGauge(name: "recops_queue_depth", labels: [("state", state.rawValue)], help: "Recordings by state").set(Double(counts[state] ?? 0))
        }
    }

    /// History steps holding their claim past the stall bound (see `PipelineConfiguration.historyStallAfter`).
    public func historyStalled(_ count: Int, oldestSeconds: Double) {
        registry.makeGauge(name: "recops_history_stalled_steps", labels: [], help: "History steps making no progress past the stall bound").set(Double(count))
        registry.makeGauge(name: "recops_history_oldest_step_seconds", labels: [],
                           help: "How long the oldest stalled history step has held its claim (0: none stalled)").set(oldestSeconds)
    }

    /// A connection closed because its request did not arrive in time.
    public func connectionTimedOut(_ phase: TimeoutPhase) {
        registry.makeCounter(name: "recops_connections_timed_out_total", labels: [("phase", phase.rawValue)],
                             help: "Connections closed because a request's headers or body did not arrive in time, or it sat idle").increment()
    }

    public func openConnections(_ count: Int) {
        registry.makeGauge(name: "recops_http_connections", labels: [], help: "Open HTTP connections (at most service.max_connections)").set(Double(count))
    }

    public func qualityFailure() {
        registry.makeCounter(name: "recops_quality_failures_total", labels: [], help: "Recordings that failed the quality check (stored all the same)").increment()
    }

    public func linkOpen(_ answer: LinkOpen.Answer) {
        registry.makeCounter(name: "recops_link_opens_total", labels: [("answer", answer.rawValue)], help: "Stable link opens, by answer").increment()
    }

    public func alert(_ kind: AlertKind) {
        registry.makeCounter(name: "recops_alerts_total", labels: [("kind", kind.rawValue)], help: "Alerts raised, by kind").increment()
    }

    /// One Airtable request's answer: `operation` (ListRecords, UpdateRecords…), `result` its class.
    public func airtableRequest(_ operation: String, status: Int?) {
        let result: AirtableRequestResult = switch status {
        case nil: .network
        case let code? where code < 400: .ok
        case 429: .throttled
        case let code? where code >= 500: .error
        default: .refused
        }
        registry.makeCounter(name: "recops_airtable_requests_total", labels: [("operation", operation), ("result", result.rawValue)],
                             help: "Airtable requests sent by this replica, by operation and result").increment()
    }

    /// This month's Airtable requests (all replicas, counted in the store) against the budget.
    public func airtableBudget(used: Int, budget: Int?) {
        registry.makeGauge(name: "recops_airtable_month_requests", labels: [],
                           help: "Airtable requests recops counted this calendar month (UTC), all replicas").set(Double(used))
        if let budget {
            registry.makeGauge(name: "recops_airtable_month_budget", labels: [], help: "airtable.monthly_request_budget").set(Double(budget))
            registry.makeGauge(name: "recops_airtable_budget_used_ratio", labels: [], help: "This month's Airtable requests over the monthly budget")
                .set(Double(used) / Double(max(1, budget)))
        }
    }

    public func text() -> String {
        registry.emitToString()
    }
}
