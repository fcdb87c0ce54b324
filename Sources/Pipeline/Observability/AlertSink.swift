import Foundation
import Logging
import RecopsBase
import Transport

/// Where alerts go: always an error-level log line and a metric; also a JSON POST to the spec's
/// `alerts.webhook_url` when one is set. Delivery to the webhook is best effort and off the
/// pipeline's path (a slow or failing receiver never delays a recording; a failure is logged):
/// the log and the metric are the record.
public struct AlertSink: Sendable {
    let webhookURL: URL?
    let transport: any HTTPTransport
    let metrics: PipelineMetrics
    let logger: Logger
    let now: @Sendable () -> Date

    public init(webhookURL: URL?, transport: any HTTPTransport, metrics: PipelineMetrics, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.webhookURL = webhookURL
        self.transport = transport
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    public func raise(_ kind: AlertKind, _ message: String, details: [String: String] = [:]) async {
        metrics.alert(kind)
        var metadata: Logger.Metadata = ["alert": "\(kind.rawValue)"]
        for (key, value) in details { metadata[key] = "\(value)" }
        logger.error("\(message)", metadata: metadata)
        guard let webhookURL else { return }
        var body: [String: JSONValue] = ["alert": .string(kind.rawValue), "message": .string(message),
                                         "at": .string(ISO8601DateFormatter().string(from: now()))]
        for (key, value) in details { body[key] = .string(value) }
        let request = HTTPRequest(method: "POST", url: webhookURL, headers: [(name: "Content-Type", value: "application/json")],
                                  body: Data(JSONValue.object(body).encoded().utf8))
        Task { [transport, logger] in
            do {
                let response = try await transport.send(request)
                if !response.isSuccess { logger.warning("alert webhook answered HTTP \(response.status)", metadata: ["alert": "\(kind.rawValue)"]) }
            } catch {
                logger.warning("alert webhook unreachable: \(Redaction.message(error))", metadata: ["alert": "\(kind.rawValue)"])
            }
        }
    }
}
