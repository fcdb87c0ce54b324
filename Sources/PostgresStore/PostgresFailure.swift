import Pipeline
import PostgresNIO

/// What went wrong talking to PostgreSQL, as text that is safe to print: the client's error
/// code, the server's SQLSTATE and message (the server never echoes a password), or the
/// connection's own failure. postgres-nio's errors print a generic text on purpose, so this
/// is how an operator learns "password authentication failed" or "connection refused".
public struct PostgresFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// SQLSTATE, when the server answered.
    public var sqlState: String?
    /// The server could not be reached, is starting or stopping, or refused for a moment (too
    /// many connections, a serialization failure): try again.
    public var isUnavailable: Bool

    public init(text: String) {
        description = text
        isUnavailable = false
    }

    init(description: String, sqlState: String?, isUnavailable: Bool) {
        self.description = description
        self.sqlState = sqlState
        self.isUnavailable = isUnavailable
    }

    public init(_ error: any Error) {
        self = Self.describe(error)
    }

    static func describe(_ error: any Error) -> PostgresFailure {
        if let failure = error as? PostgresFailure { return failure }
        // A failed transaction: what failed inside it (the closure's error, else BEGIN's or COMMIT's).
        if let transaction = error as? PostgresTransactionError,
           let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError {
            return describe(inner)
        }
        if let failure = error as? JobStoreError, let cause = failure.cause { return describe(cause) }
        // The pool gave up connecting (its circuit breaker): the server is unreachable for now.
        if String(reflecting: type(of: error)).contains("ConnectionPoolError") {
            return PostgresFailure(description: "the connection pool cannot reach the server (\(error))", sqlState: nil, isUnavailable: true)
        }
        guard let error = error as? PSQLError else {
            return PostgresFailure(description: error is CancellationError ? "cancelled" : "\(error)", sqlState: nil,
                                   isUnavailable: error is ChannelError || error is IOError)
        }
        if let server = error.serverInfo {
            let state = server[.sqlState]
            // 08: connection exceptions; 57P: shutting down; 53: out of resources; 40001/40P01:
            // serialization failure, deadlock.
            let unavailable = state.map { $0.hasPrefix("08") || $0.hasPrefix("57P") || $0.hasPrefix("53") || $0 == "40001" || $0 == "40P01" } ?? false
            return PostgresFailure(description: "\(server[.message] ?? "server error") (SQLSTATE \(state ?? "?"))", sqlState: state, isUnavailable: unavailable)
        }
        let underlying = error.underlying.map { " (\($0))" } ?? ""
        let text: String = switch error.code {
        case .connectionError: "cannot connect to the server\(underlying)"
        case .serverClosedConnection: "the server closed the connection\(underlying)"
        case .poolClosed: "the connection pool is closed"
        case .clientClosedConnection: "the connection was closed"
        case .sslUnsupported: "the server does not offer TLS (sslmode=require)"
        case .authMechanismRequiresPassword: "the server asks for a password and the store URL has none"
        case .unsupportedAuthMechanism: "the server asks for an authentication method recops does not support"
        case .queryCancelled: "the query was cancelled"
        default: "\(error.code)\(underlying)"
        }
        return PostgresFailure(description: text, sqlState: nil,
                               isUnavailable: [.connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown].contains(error.code))
    }
}
