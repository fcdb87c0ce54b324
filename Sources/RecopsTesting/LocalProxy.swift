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

    // Through the admin API over HTTP, as `recops sandbox proxy` is driven: every proxy test
    // exercises its JSON rules and stats too.

    public func add(_ rule: FaultProxy.Rule) async throws {
        let response = try await admin("POST", "_proxy/rules", body: JSONEncoder().encode(rule))
        guard response.status == 201 else { throw AdminFailure(description: "adding a rule: HTTP \(response.status)") }
    }

    public func clear() async throws {
        _ = try await admin("DELETE", "_proxy/rules")
    }

    public func stats() async throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: try await admin("GET", "_proxy/stats").body)
    }

    public struct AdminFailure: Error, CustomStringConvertible {
        public var description: String
    }

    private func admin(_ method: String, _ path: String, body: Data? = nil) async throws -> HTTPResponse {
        try await AsyncHTTPClientTransport().send(HTTPRequest(method: method, url: baseURL.appendingPathComponent(path),
                                                              headers: body == nil ? [] : [(name: "Content-Type", value: "application/json")], body: body ?? Data()))
    }
}
