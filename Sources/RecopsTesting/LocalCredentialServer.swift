import AWS
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The two credential endpoints an AWS workload reads, on loopback, speaking their documented
/// protocols: ECS's container credentials (`GET` with the `Authorization` token) and EC2's
/// IMDSv2 (`PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`, then `GET`s with
/// `X-aws-ec2-metadata-token`; a missing, wrong or expired token is 401, as on EC2). What it
/// hands out comes from `issue` (real keys made in moto, so they sign), with the expiry it says.
public final class LocalCredentialServer: Sendable {
    public let baseURL: URL
    public static let containerPath = "/v2/credentials/task-role"
    public static let role = "recops-instance-role"
    public let authorizationToken = "container-token-" + UUID().uuidString
    private let task: Task<Void, any Error>
    private let state: State

    public struct Issued: Sendable {
        public var credentials: AWSCredentials
        public var expiration: Date

        public init(credentials: AWSCredentials, expiration: Date) {
            self.credentials = credentials
            self.expiration = expiration
        }
    }

    final class State: Sendable {
        let counts = Mutex<[String: Int]>([:])
        /// Token → when it expires (by `now`).
        let tokens = Mutex<[String: Date]>([:])
        func count(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }
    }

    /// `now`: the server's clock, for token TTLs (a test clock can expire them).
    public init(now: @escaping @Sendable () -> Date = { Date() }, issue: @escaping @Sendable () async throws -> Issued) async throws {
        let state = State()
        let authorization = authorizationToken
        let router = Router(context: BasicRequestContext.self)
        @Sendable func document(_ issued: Issued, imds: Bool) -> Response {
            let formatter = ISO8601DateFormatter()
            var object: [String: Any] = [
                "AccessKeyId": issued.credentials.accessKeyID, "SecretAccessKey": issued.credentials.secretAccessKey,
                "Token": issued.credentials.sessionToken ?? "", "Expiration": formatter.string(from: issued.expiration),
            ]
            if imds { object["Code"] = "Success"; object["Type"] = "AWS-HMAC"; object["LastUpdated"] = formatter.string(from: now()) }
            else { object["RoleArn"] = "arn:aws:iam::123456789012:role/recops-task-role" }
            let body = try! JSONSerialization.data(withJSONObject: object)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get(RouterPath(stringLiteral: Self.containerPath)) { request, _ in
            state.count("container")
            guard request.headers[.authorization] == authorization else { return Response(status: .forbidden) }
            return document(try await issue(), imds: false)
        }
        router.put("/latest/api/token") { request, _ in
            state.count("token")
            guard let ttl = request.headers[HTTPField.Name("X-aws-ec2-metadata-token-ttl-seconds")!].flatMap(Int.init), (1...21_600).contains(ttl) else {
                return Response(status: .badRequest)
            }
            let token = UUID().uuidString
            state.tokens.withLock { $0[token] = now().addingTimeInterval(Double(ttl)) }
            return Response(status: .ok, headers: [HTTPField.Name("X-aws-ec2-metadata-token-ttl-seconds")!: "\(ttl)"],
                            body: .init(byteBuffer: ByteBuffer(string: token)))
        }
        @Sendable func tokenValid(_ request: Request) -> Bool {
            guard let token = request.headers[HTTPField.Name("X-aws-ec2-metadata-token")!] else { return false }
            return state.tokens.withLock { $0[token].map { now() < $0 } ?? false }
        }
        router.get("/latest/meta-data/iam/security-credentials/") { request, _ in
            state.count("role")
            guard tokenValid(request) else { return Response(status: .unauthorized) }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: Self.role)))
        }
        router.get("/latest/meta-data/iam/security-credentials/\(Self.role)") { request, _ in
            state.count("instance")
            guard tokenValid(request) else { return Response(status: .unauthorized) }
            return document(try await issue(), imds: true)
        }
        let (port, task) = try await startInProcess("credential server") { onRunning in
            Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: quietServerLogger("test.credentials"))
        }
        self.task = task
        self.state = state
        baseURL = URL(string: "http://127.0.0.1:\(port)")!
    }

    /// Requests answered, by kind: `container`, `token`, `role`, `instance`.
    public func count(_ kind: String) -> Int { state.counts.withLock { $0[kind] ?? 0 } }

    /// The environment that points the chain at this server as a container's credentials.
    public var containerEnvironment: [String: String] {
        ["AWS_CONTAINER_CREDENTIALS_FULL_URI": baseURL.absoluteString + Self.containerPath, "AWS_CONTAINER_AUTHORIZATION_TOKEN": authorizationToken]
    }

    /// The environment that points the chain at this server as the instance's metadata service.
    public var instanceEnvironment: [String: String] {
        ["AWS_EC2_METADATA_SERVICE_ENDPOINT": baseURL.absoluteString]
    }

    /// Every token handed out stops working (as after its TTL).
    public func expireTokens() { state.tokens.withLock { $0.removeAll() } }

    deinit { task.cancel() }
}
