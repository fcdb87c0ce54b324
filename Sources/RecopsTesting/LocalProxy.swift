import Foundation
import Logging
import Sandbox
import Spec
import Transport

/// The fault-injecting proxy in-process on a free loopback port, in front of `upstream`.
public final class LocalProxy: Sendable {
    public let proxy: FaultProxy
    public let baseURL: URL
    private let task: Task<Void, any Error>

    public init(upstream: URL) async throws {
        proxy = FaultProxy(upstream: upstream)
        let proxy = self.proxy
        let (port, task) = try await startInProcess("proxy") { onRunning in
            proxy.buildApplication(port: 0, logger: quietServerLogger("test.proxy"), onRunning: onRunning)
        }
        self.task = task
        baseURL = URL(string: "http://127.0.0.1:\(port)")!
    }

    deinit { task.cancel() }

    public func add(_ rule: FaultProxy.Rule) async {
        await proxy.state.add(rule)
    }

    public func clear() async {
        await proxy.state.clear()
    }

    public func stats() async -> JSONValue {
        await proxy.state.stats()
    }
}
