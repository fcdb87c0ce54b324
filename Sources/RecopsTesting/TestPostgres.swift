import Foundation
import Logging
import PostgresNIO
import PostgresStore

/// The PostgreSQL server the tests share: the cluster `scripts/test` starts
/// (`RECOPS_TEST_POSTGRES_URL`). Each test takes a database of its own, so tests never see each
/// other's rows.
///
/// Without the variable the PostgreSQL tests are skipped and say why; under CI (`CI` set) they
/// run all the same and fail, so a CI that lost its database cannot pass by skipping.
public enum TestPostgres {
    public static let url = ProcessInfo.processInfo.environment["RECOPS_TEST_POSTGRES_URL"]
    /// Whether the PostgreSQL tests run.
    public static let isEnabled = url != nil || ProcessInfo.processInfo.environment["CI"] != nil
    public static let skipReason = "no PostgreSQL: set RECOPS_TEST_POSTGRES_URL (scripts/test starts a server and sets it)"

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String { "RECOPS_TEST_POSTGRES_URL is not set (scripts/test starts PostgreSQL and sets it)" }
    }

    /// A new, empty database on the test server; returns its settings.
    public static func freshDatabase(maximumConnections: Int = 6) async throws -> PostgresSettings {
        guard let url else { throw Unavailable() }
        let admin = try PostgresSettings(url: url)
        let name = "recops_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await execute(admin, "CREATE DATABASE \(name)")
        var settings = admin
        settings.database = name
        settings.maximumConnections = maximumConnections
        return settings
    }

    /// The password in `settings` (to check it is printed nowhere).
    public static func passwordOf(_ settings: PostgresSettings) -> String? { settings.password }

    /// The first column of the first row of `sql`, as an integer (a count, for assertions).
    public static func integer(_ settings: PostgresSettings, _ sql: String) async throws -> Int? {
        try await scalar(settings, sql, as: Int.self)
    }

    /// The first column of the first row of `sql`, as text (nil: no row, or NULL).
    public static func text(_ settings: PostgresSettings, _ sql: String) async throws -> String? {
        try await scalar(settings, sql, as: String.self)
    }

    static func scalar<T: PostgresDecodable & Sendable>(_ settings: PostgresSettings, _ sql: String, as type: T.Type) async throws -> T? where T._DecodableType == T {
        let connection = try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(), id: 1, logger: Logger(label: "test.postgres"))
        defer { Task { try? await connection.close() } }
        do {
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test.postgres")).decode(T?.self) {
                return value
            }
            return nil
        } catch {
            throw PostgresFailure(error)
        }
    }

    /// Runs one statement on its own connection (administration: CREATE DATABASE cannot run
    /// in a transaction, nor through a pool that may be in one).
    public static func execute(_ settings: PostgresSettings, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(configuration: try settings.connectionConfiguration(), id: 1, logger: Logger(label: "test.postgres"))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test.postgres"))
        } catch {
            try? await connection.close()
            throw PostgresFailure(error)
        }
        try await connection.close()
    }
}
