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

    public init(_ error: any Error) {
        if let failure = error as? PostgresFailure {
            self = failure
            return
        }
        guard let error = error as? PSQLError else {
            description = error is CancellationError ? "cancelled" : "\(error)"
            isUnavailable = error is ChannelError || error is IOError
            return
        }
        if let server = error.serverInfo {
            sqlState = server[.sqlState]
            description = "\(server[.message] ?? "server error") (SQLSTATE \(sqlState ?? "?"))"
            // 08: connection exceptions; 57P: shutting down; 53: out of resources; 40001/40P01:
            // serialization failure, deadlock.
            isUnavailable = sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57P") || $0.hasPrefix("53") || $0 == "40001" || $0 == "40P01" } ?? false
            return
        }
        let underlying = error.underlying.map { " (\($0))" } ?? ""
        switch error.code {
        case .connectionError: description = "cannot connect to the server\(underlying)"
        case .serverClosedConnection: description = "the server closed the connection\(underlying)"
        case .poolClosed: description = "the connection pool is closed"
        case .clientClosedConnection: description = "the connection was closed"
        case .sslUnsupported: description = "the server does not offer TLS (sslmode=require)"
        case .authMechanismRequiresPassword: description = "the server asks for a password and the store URL has none"
        case .unsupportedAuthMechanism: description = "the server asks for an authentication method recops does not support"
        case .queryCancelled: description = "the query was cancelled"
        default: description = "\(error.code)\(underlying)"
        }
        isUnavailable = [.connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown].contains(error.code)
    }
}
