import Foundation
import Pipeline
import SQLiteStore
import Testing
import Twilio

/// What only the SQLite engine promises, beyond `JobStoreConformanceTests`: the file survives a
/// reopen, and it is private.
@Suite struct SQLiteJobStoreTests {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func callback(_ n: Int) -> RecordingCallback {
        JobStoreConformanceTests.callback(n)
    }

    static func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("recops-store-\(UUID().uuidString)")
    }

    @Test func acceptedCallbacksSurviveReopening() async throws {
        let directory = Self.directory()
        do {
            let store = try SQLiteJobStore(directory: directory)
            #expect(try await store.accept(Self.callback(1), at: Self.start))
            #expect(try await store.accept(Self.callback(2), at: Self.start))
        }
        // A new process opening the same directory finds both, due now.
        let reopened = try SQLiteJobStore(directory: directory)
        let jobs = try await reopened.jobs(in: [.received], limit: 10)
        #expect(jobs.map(\.recordingSid) == [Self.callback(1).recordingSid, Self.callback(2).recordingSid])
        #expect(try await !reopened.accept(Self.callback(1), at: Self.start))
    }

    /// GRDB's errors leave as `JobStoreError`s that name the operation and keep the cause.
    @Test func errorsAreTheStoresOwn() async throws {
        let directory = Self.directory()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("not a database".utf8).write(to: directory.appendingPathComponent("recops.sqlite"))
        #expect {
            _ = try SQLiteJobStore(directory: directory)
        } throws: { error in
            guard let error = error as? JobStoreError else { return false }
            return error.kind == .setup && error.cause != nil && error.description.contains("recops.sqlite")
        }
    }

    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// The store holds callers' numbers: private whatever the umask (022 made it world-readable),
    /// and a directory made looser by hand is narrowed again.
    @Test func theStoreIsPrivate() async throws {
        let directory = Self.directory()
        do {
            let store = try SQLiteJobStore(directory: directory)
            _ = try await store.accept(Self.callback(1), at: Self.start)
        }
        #expect(try Self.mode(directory.path) == 0o700)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasPrefix("recops.sqlite") {
            #expect(try Self.mode(directory.appendingPathComponent(name).path) & 0o077 == 0, "\(name)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory.appendingPathComponent("recops.sqlite").path)
        _ = try SQLiteJobStore(directory: directory)
        #expect(try Self.mode(directory.path) == 0o700)
        #expect(try Self.mode(directory.appendingPathComponent("recops.sqlite").path) == 0o600)
    }
}
