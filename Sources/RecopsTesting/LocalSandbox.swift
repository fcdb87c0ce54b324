import Airtable
import Foundation
import Hummingbird
import Logging
import Sandbox
import Spec
import Transport
import Twilio

/// The sandbox (Twilio and Airtable) running in-process on a free loopback port, reached over
/// real HTTP like any server.
public final class LocalSandbox: Sendable {
    public let state: SandboxState
    public let seed: SandboxSeed
    public let baseURL: URL
    private let task: Task<Void, any Error>

    public init(seed: SandboxSeed = .standard, requestsPerSecond: Int = 5, tokenRequestsPerSecond: Int? = nil, throttlePause: Duration = .seconds(30),
                rateWindow: Duration = .seconds(1)) async throws {
        let state = SandboxState(seed: seed, requestsPerSecond: requestsPerSecond, tokenRequestsPerSecond: tokenRequestsPerSecond, throttlePause: throttlePause,
                                 rateWindow: rateWindow)
        self.state = state
        self.seed = seed
        let server = SandboxServer(state: state, seed: seed)
        let (port, task) = try await startInProcess("sandbox") { onRunning in
            server.buildApplication(port: 0, logger: quietServerLogger("test.sandbox"), onRunning: onRunning)
        }
        self.task = task
        baseURL = URL(string: "http://127.0.0.1:\(port)")!
    }

    /// Runs `body` with a fresh sandbox and stops it afterwards.
    public static func with<T>(seed: SandboxSeed = .standard, requestsPerSecond: Int = 5, tokenRequestsPerSecond: Int? = nil, throttlePause: Duration = .seconds(30),
                               rateWindow: Duration = .seconds(1), _ body: (LocalSandbox) async throws -> T) async throws -> T {
        let sandbox = try await LocalSandbox(seed: seed, requestsPerSecond: requestsPerSecond, tokenRequestsPerSecond: tokenRequestsPerSecond,
                                             throttlePause: throttlePause, rateWindow: rateWindow)
        defer { sandbox.task.cancel() }
        return try await body(sandbox)
    }

    /// `through`: another base URL to reach it by (a fault proxy in front of it).
    public func twilio(authToken: String? = nil, transport: any HTTPTransport = AsyncHTTPClientTransport(), through: URL? = nil) -> TwilioClient {
        TwilioClient(credentials: .init(accountSID: seed.accountSID, username: seed.accountSID, password: authToken ?? seed.authToken),
                     baseURL: through ?? baseURL, transport: transport, retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10)), logger: Logger(label: "test.twilio"))
    }

    public func airtable(token: String? = nil, limiter: any RequestBudget = RateLimiter(), transport: any HTTPTransport = AsyncHTTPClientTransport(),
                         retry: RetryPolicy = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10)), through: URL? = nil) -> AirtableClient {
        AirtableClient(token: token ?? seed.airtableToken, baseURL: through ?? baseURL, transport: transport, limiter: limiter, retry: retry, logger: Logger(label: "test.airtable"))
    }

    /// The sandbox's state as `GET /_sandbox/state` shows it.
    public func dump() async throws -> JSONValue {
        let response = try await AsyncHTTPClientTransport().send(Transport.HTTPRequest(method: "GET", url: baseURL.appendingPathComponent("_sandbox/state")))
        return try JSONDecoder().decode(JSONValue.self, from: response.body)
    }
}

/// A logger for test servers that are stopped by cancelling them: Hummingbird then logs
/// "Server shutdown error: Already closed" at error level, which is noise in test output.
public func quietServerLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}
