import Foundation
import Synchronization
import Transport

/// EC2 instance metadata, IMDSv2 only: a session token from `PUT /latest/api/token`
/// (`X-aws-ec2-metadata-token-ttl-seconds`), kept until a minute before its TTL, then the role's
/// credentials with `X-aws-ec2-metadata-token`. One-second timeouts, so off EC2 it fails fast;
/// `AWS_EC2_METADATA_DISABLED=true` leaves it out of the chain.
public final class InstanceMetadataCredentials: CredentialSource, Sendable {
    public static let defaultEndpoint = URL(string: "http://169.254.169.254")!
    public static let tokenTTL = 21_600
    let endpoint: URL
    let transport: any HTTPTransport
    let now: @Sendable () -> Date
    /// The session token and when it stops being used.
    private let token = Mutex<(value: String, until: Date)?>(nil)

    public init(environment: [String: String], transport: any HTTPTransport = AsyncHTTPClientTransport.timingOut(after: 1),
                now: @escaping @Sendable () -> Date = { Date() }) {
        let configured = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : URL(string: $0) }
        endpoint = configured ?? Self.defaultEndpoint
        self.transport = transport
        self.now = now
    }

    public static func isDisabled(_ environment: [String: String]) -> Bool {
        environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
    }

    public var name: String { "EC2 instance metadata (IMDSv2, \(endpoint.host ?? ""))" }

    public func fetch() async throws -> AWSCredentials {
        do {
            return try await fetchOnce()
        } catch let refused as TokenRefused {
            // The instance forgot our token (a reboot, a TTL cut short): one new token, once.
            _ = refused
            token.withLock { $0 = nil }
            do {
                return try await fetchOnce()
            } catch is TokenRefused {
                throw CredentialsError(source: name, "refused a fresh session token (HTTP 401)")
            }
        }
    }

    struct TokenRefused: Error {}

    private func fetchOnce() async throws -> AWSCredentials {
        let session = try await sessionToken()
        let header = (name: "X-aws-ec2-metadata-token", value: session)
        let base = endpoint.absoluteString.hasSuffix("/") ? String(endpoint.absoluteString.dropLast()) : endpoint.absoluteString
        let list = try await get(base + "/latest/meta-data/iam/security-credentials/", header)
        guard let role = String(decoding: list, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw CredentialsError(source: name, "the instance has no IAM role (attach an instance profile)")
        }
        let document = try await get(base + "/latest/meta-data/iam/security-credentials/\(role)", header)
        return try TemporaryCredentialsDocument.decode(document, source: name)
    }

    private func get(_ url: String, _ header: (name: String, value: String)) async throws -> Data {
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(method: "GET", url: URL(string: url)!, headers: [header]))
        } catch {
            throw CredentialsError(source: name, "no answer from \(endpoint.host ?? "") within 1 s (not on EC2?): \(error)")
        }
        if response.status == 401 { throw TokenRefused() }
        guard response.status == 200 else { throw CredentialsError(source: name, "answered HTTP \(response.status) for \(URL(string: url)?.path ?? url)") }
        return response.body
    }

    private func sessionToken() async throws -> String {
        if let current = token.withLock({ $0 }), now() < current.until { return current.value }
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(
                method: "PUT", url: endpoint.appendingPathComponent("latest/api/token"),
                headers: [(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "\(Self.tokenTTL)")]))
        } catch {
            throw CredentialsError(source: name, "no answer from \(endpoint.host ?? "") within 1 s (not on EC2?): \(error)")
        }
        guard response.status == 200, !response.body.isEmpty else {
            throw CredentialsError(source: name, "the token request (PUT /latest/api/token) answered HTTP \(response.status); IMDSv1 is not used")
        }
        let value = String(decoding: response.body, as: UTF8.self)
        let ttl = response.header("X-aws-ec2-metadata-token-ttl-seconds").flatMap(Int.init) ?? Self.tokenTTL
        token.withLock { $0 = (value, now().addingTimeInterval(Double(max(0, ttl - 60)))) }
        return value
    }
}
