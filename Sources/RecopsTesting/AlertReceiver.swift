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
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let box = Box()
        router.post("/alerts") { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) { box.append(value) }
            return Response(status: .noContent)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0); continuation.finish() },
                              logger: quietServerLogger("test.alerts"))
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = stream.makeAsyncIterator()
        url = "http://127.0.0.1:\(await iterator.next() ?? 0)/alerts"
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
