import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The service as one application: the webhook routes and, as a service beside the HTTP server,
/// the worker. The executable and the tests build it the same way.
public enum PipelineServer {
    public static func buildRouter(routes: WebhookRoutes, ops: OpsRoutes? = nil) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        routes.add(to: router)
        ops?.add(to: router)
        return router
    }

    /// `worker` nil builds the routes alone (route tests drive the pipeline's steps themselves).
    public static func buildApplication(routes: WebhookRoutes, ops: OpsRoutes? = nil, worker: RecordingWorker?, host: String, port: Int, logger: Logger,
                                        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var app = Application(
            router: buildRouter(routes: routes, ops: ops),
            configuration: .init(address: .hostname(host, port: port), serverName: "recops"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
        if let worker { app.addServices(worker) }
        return app
    }
}
