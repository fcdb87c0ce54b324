import Foundation

/// Where a request's credentials come from: a fixed pair, or a source refreshed before it
/// expires (`RefreshingCredentials`). `source` names it in errors and status, never a secret.
public protocol CredentialProvider: Sendable {
    /// Credentials valid now.
    func credentials() async throws -> AWSCredentials
    var source: String { get }
}

/// A fixed pair is its own provider.
extension AWSCredentials: CredentialProvider {
    public func credentials() async throws -> AWSCredentials { self }
    public var source: String { "given credentials" }
}

/// Fetches credentials once; `RefreshingCredentials` decides when.
public protocol CredentialSource: Sendable {
    /// "environment", "web identity (arn:aws:iam::…:role/x)", "profile default (~/.aws/credentials)".
    var name: String { get }
    func fetch() async throws -> AWSCredentials
    /// Changes when what the source reads has changed without its credentials expiring (a
    /// rewritten credentials file); nil when nothing can change that way. Must be cheap.
    func fingerprint() -> String?
}

extension CredentialSource {
    public func fingerprint() -> String? { nil }
}

/// A source was tried and failed: names the source and why, never a secret.
public struct CredentialsError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var reason: String

    public init(source: String, _ reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}

/// No source in the chain was configured: each one tried, and why it did not apply.
public struct NoCredentials: Error, CustomStringConvertible, Sendable {
    public var tried: [(source: String, why: String)]

    public var description: String {
        "no AWS credentials found; tried " + tried.map { "\($0.source) (\($0.why))" }.joined(separator: ", ")
    }
}

/// Expiration times as AWS writes them (ISO 8601, with or without fractional seconds).
enum AWSTimestamp {
    static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
