import Foundation
import PostgresNIO

/// Where the PostgreSQL store is and how it connects: parsed from a `postgres://` URL.
///
/// The password never leaves this value: `description` and every error print the URL with it
/// replaced by `***`.
public struct PostgresSettings: Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable {
        /// `sslmode=disable`: plain TCP (loopback, or a private network the operator trusts).
        case disable
        /// `sslmode=prefer` (libpq's default): TLS when the server offers it.
        case prefer
        /// `sslmode=require`: TLS or no connection.
        case require
    }

    /// A URL that is not a usable `postgres://` URL. Its text never holds the password.
    public struct InvalidURL: Error, CustomStringConvertible {
        public var description: String
    }

    public var host: String
    public var port: Int
    public var username: String
    /// Never printed (`description` hides it); settable for tests and for a password read apart from the URL.
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// Connections in the pool at most (the LISTEN connection is one more).
    public var maximumConnections: Int
    /// The server ends a session left idle inside a transaction this long: a replica that hangs
    /// mid-transaction cannot hold row locks for ever.
    public var idleInTransactionTimeout: Duration = .seconds(30)
    /// No statement runs longer: the store's statements are short, so a long one is stuck.
    public var statementTimeout: Duration = .seconds(30)
    public var connectTimeout: Duration = .seconds(5)

    /// `postgres://user:password@host:port/database?sslmode=disable&pool_max=10` (also
    /// `postgresql://`). Percent-escapes in the user and password are decoded.
    public init(url text: String, maximumConnections: Int = 10) throws {
        let redacted = Self.redact(text)
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql" else {
            throw InvalidURL(description: "store URL '\(redacted)' is not a postgres:// URL (postgres://user:password@host:5432/database)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw InvalidURL(description: "store URL '\(redacted)' names no host")
        }
        guard let user = components.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw InvalidURL(description: "store URL '\(redacted)' names no user (postgres://user@host/database)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw InvalidURL(description: "store URL '\(redacted)' names no database (…/database at its end)")
        }
        self.host = host
        port = components.port ?? 5432
        username = user
        password = components.percentEncodedPassword?.removingPercentEncoding
        self.database = database
        tls = .prefer
        self.maximumConnections = maximumConnections
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw InvalidURL(description: "store URL '\(redacted)': sslmode must be disable, prefer or require")
                }
            case "pool_max":
                guard let value = item.value.flatMap(Int.init), (1...200).contains(value) else {
                    throw InvalidURL(description: "store URL '\(redacted)': pool_max must be a number from 1 to 200")
                }
                self.maximumConnections = value
            default:
                throw InvalidURL(description: "store URL '\(redacted)': unknown parameter '\(item.name)' (sslmode and pool_max are known)")
            }
        }
    }

    /// The full URL, password included: for handing to another process (a test starting
    /// replicas), never for printing.
    public func connectionURL() -> String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.password = password
        components.host = host
        components.port = port
        components.path = "/" + database
        components.queryItems = [URLQueryItem(name: "sslmode", value: tls.rawValue), URLQueryItem(name: "pool_max", value: "\(maximumConnections)")]
        return components.string!
    }

    /// The URL with its password replaced, for logs and errors.
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }

    /// `text` with anything between "://user:" and "@" replaced: safe to print even when the
    /// URL does not parse.
    public static func redact(_ text: String) -> String {
        // By Unicode scalar, never by grapheme: a combining mark after "@" or ":" would hide it
        // from a Character search and leave the password in the text.
        let scalars = Array(text.unicodeScalars)
        // Anything that is not plainly scheme://user[:password]@host/… (a libpq keyword string,
        // a password with spaces, ?password=) is not shown at all.
        let hidden = "(not shown: it may hold a password)"
        guard let scheme = text.range(of: "://"), !scalars.contains(where: \.properties.isWhitespace),
              !text.lowercased().contains("password") else { return hidden }
        let start = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: scheme.upperBound)
        guard let at = scalars[start...].lastIndex(of: "@") else {
            // No user part: a ":" can only be a port, unless the "@" was mistyped away.
            return scalars[start...].contains(":") && !scalars[start...].contains("/") ? hidden : text
        }
        guard let colon = scalars[start..<at].firstIndex(of: ":") else { return text }
        var shown = String.UnicodeScalarView()
        shown.append(contentsOf: scalars[..<colon])
        shown.append(contentsOf: ":***".unicodeScalars)
        shown.append(contentsOf: scalars[at...])
        return String(shown)
    }

    var startupParameters: [(String, String)] {
        [("idle_in_transaction_session_timeout", "\(Int(idleInTransactionTimeout.components.seconds * 1000))"),
         ("statement_timeout", "\(Int(statementTimeout.components.seconds * 1000))"),
         ("application_name", "recops")]
    }

    func clientConfiguration() -> PostgresClient.Configuration {
        let tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        let tls: PostgresClient.Configuration.TLS = switch self.tls {
        case .disable: .disable
        case .prefer: .prefer(tlsConfiguration)
        case .require: .require(tlsConfiguration)
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch self.tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(connectTimeout.components.seconds)
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }
}
