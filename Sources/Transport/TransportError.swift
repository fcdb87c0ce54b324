/// No HTTP answer at all: connection refused or reset, timeout, name resolution.
///
/// Distinct from an HTTP error status, which the clients turn into their own error types.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case connect = "could not connect"
        case timeout = "timed out"
        case interrupted = "connection interrupted"
    }

    public var kind: Kind
    /// Scheme, host and port only: never the path or query, which may carry signatures.
    public var endpoint: String
    public var underlying: String

    public init(kind: Kind, endpoint: String, underlying: String) {
        self.kind = kind
        self.endpoint = endpoint
        self.underlying = underlying
    }

    public var description: String { "\(kind.rawValue) to \(endpoint): \(underlying)" }
}
