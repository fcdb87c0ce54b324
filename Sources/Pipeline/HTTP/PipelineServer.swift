import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// The request context of the service's routes: Hummingbird's, plus the client's address (the
/// operations page throttles failed sign-ins per client).
public struct PipelineRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text ("unknown" without one, as in router tests).
    public var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}

/// The service as one application: the webhook routes and, as a service beside the HTTP server,
/// the worker. The executable and the tests build it the same way.
public enum PipelineServer {
    public static func buildRouter(routes: WebhookRoutes, ops: OpsRoutes? = nil, links: LinkRoutes? = nil) -> Router<PipelineRequestContext> {
        let router = Router(context: PipelineRequestContext.self)
        routes.add(to: router)
        ops?.add(to: router)
        links?.add(to: router)
        return router
    }

    /// `services` run beside the HTTP server (the store, the worker; none: the routes alone).
    /// The listener keeps `limits`: header, body and idle deadlines, and a connection cap.
    public static func buildApplication(routes: WebhookRoutes, ops: OpsRoutes? = nil, links: LinkRoutes? = nil, services: [any Service], host: String, port: Int, logger: Logger,
                                        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let limits = routes.configuration.limits
        let metrics = routes.metrics
        var app = Application(
            router: buildRouter(routes: routes, ops: ops, links: links),
            server: .http1(configuration: .init(additionalChannelHandlers: [RequestDeadlineHandler(limits: limits) { metrics.connectionTimedOut($0) }])),
            configuration: .init(address: .hostname(host, port: port), serverName: "recops",
                                 availableConnectionsDelegate: CountedConnections(maximum: limits.maxConnections, metrics: metrics)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
        app.addServices(services)
        return app
    }

    /// Runs the application until SIGTERM or SIGINT, then stops within `limits.shutdownBound`:
    /// the HTTP server stops accepting and the worker claims nothing new; steps in flight get
    /// `shutdownTimeout` to finish, after which they are cancelled (their claims are released by
    /// the next start, or expire for another replica). A client that never finishes its request
    /// is cut off by the body deadline long before that.
    public static func run(_ app: some ApplicationProtocol, limits: ServiceLimits, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = limits.shutdownTimeout
        configuration.maximumCancellationDuration = ServiceLimits.cancellationGrace
        try await ServiceGroup(configuration: configuration).run()
    }
}
