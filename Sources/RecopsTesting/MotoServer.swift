import AWS
import Foundation
import Logging
import Transport

/// moto_server (the pinned `moto[server]`) on a free loopback port: the tests' AWS.
public final class MotoServer: Sendable {
    public let process: LocalProcess
    public var endpoint: URL { process.baseURL }

    /// moto's default account, and credentials it accepts while it does not check signatures.
    public static let accountID = "123456789012"
    public static let bootstrapCredentials = AWSCredentials(accessKeyID: "MOTOTESTACCESSKEY", secretAccessKey: "moto-bootstrap-secret")

    /// `enforceAuthAfter`: with a count, moto checks signatures and IAM policies once that many
    /// requests have been made (`INITIAL_NO_AUTH_ACTION_COUNT`).
    public init(enforceAuthAfter: Int? = nil) async throws {
        var environment = ["MOTO_ALLOW_NONEXISTENT_REGION": "false"]
        if let count = enforceAuthAfter { environment["INITIAL_NO_AUTH_ACTION_COUNT"] = String(count) }
        process = try await LocalProcess.launch(
            executable: "moto_server", arguments: { ["-H", "127.0.0.1", "-p", "\($0)"] },
            environment: environment, readyPath: "moto-api/", name: "moto")
    }

    /// On a given port: a server that comes back where an outage left a dead port.
    public init(port: Int) async throws {
        process = try await LocalProcess(executable: "moto_server", arguments: ["-H", "127.0.0.1", "-p", "\(port)"], port: port,
                                         environment: ["MOTO_ALLOW_NONEXISTENT_REGION": "false"], readyPath: "moto-api/", name: "moto")
    }

    /// Runs `body` with a fresh moto_server and stops it afterwards, whatever happens.
    /// Waits for a free slot first (`TestSlots.motoServers`): a bounded number run at once.
    public static func with<T>(enforceAuthAfter: Int? = nil, _ body: (MotoServer) async throws -> T) async throws -> T {
        try await TestSlots.motoServers.acquire()
        defer { Task { await TestSlots.motoServers.release() } }
        let moto = try await MotoServer(enforceAuthAfter: enforceAuthAfter)
        // moto keeps nothing worth a graceful stop.
        defer { moto.process.killNow() }
        return try await body(moto)
    }

    /// The environment a recops process needs to use this server.
    public func environment(credentials: AWSCredentials = bootstrapCredentials, region: String = "us-east-1") -> [String: String] {
        ["AWS_ACCESS_KEY_ID": credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
         "AWS_ENDPOINT_URL": endpoint.absoluteString, "AWS_REGION": region]
    }

    public func client(credentials: AWSCredentials = bootstrapCredentials, region: String = "us-east-1",
                       transport: any HTTPTransport = AsyncHTTPClientTransport(),
                       retry: RetryPolicy = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10))) -> AWSClient {
        let overrides = Dictionary(uniqueKeysWithValues: ["s3", "iam", "sts", "cloudtrail"].map { ($0, endpoint) })
        return AWSClient(
            configuration: AWSConfiguration(credentials: credentials, region: region, endpointOverrides: overrides),
            transport: transport, retry: retry, now: { Date() }, logger: Logger(label: "test.aws"))
    }
}

extension MotoServer {
    public static let adminPolicy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#

    /// An administrator made inside moto's free window (`enforceAuthAfter`): its key signs
    /// everything once moto starts checking.
    public func administrator() async throws -> AWSCredentials {
        let iam = IAMClient(aws: client())
        try await iam.createUser("admin")
        try await iam.putUserPolicy(user: "admin", name: "admin", document: Self.adminPolicy)
        let key = try await iam.createAccessKey(user: "admin")
        return AWSCredentials(accessKeyID: key.id, secretAccessKey: key.secret)
    }
}
