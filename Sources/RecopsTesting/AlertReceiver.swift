import Foundation
import Hummingbird
import Spec
import Synchronization

/// A webhook endpoint on loopback that keeps every JSON body POSTed to it: where tests point
/// `alerts.webhook_url`.
public final class AlertReceiver: Sendable {
    public let url: String
    private let task: Task<Void, any Error>

    public init() async throws {
        let router = Router(context: BasicRequestContext.self)
        let box = Box()
        router.post("/alerts") { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) { box.append(value) }
            return Response(status: .noContent)
        }
        let (port, task) = try await startInProcess("alert receiver") { onRunning in
            Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: quietServerLogger("test.alerts"))
        }
        self.task = task
        url = "http://127.0.0.1:\(port)/alerts"
        self.box = box
    }

    private let box: Box

    /// Everything received so far, in order.
    public var received: [JSONValue] { box.values }

    deinit { task.cancel() }

    final class Box: Sendable {
        private let values_ = Mutex<[JSONValue]>([])
        func append(_ value: JSONValue) { values_.withLock { $0.append(value) } }
        var values: [JSONValue] { values_.withLock { $0 } }
    }
}
