import Foundation
import Pipeline
import PostgresStore
import RecopsTesting
import SQLiteStore
import Testing
import Twilio

/// `recops store migrate` and `recops store copy` as a user runs them.
@Suite(.enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct StoreCommandTests {
    @Test func migrateThenCopyASQLiteStoreTwice() async throws {
        let database = try await TestPostgres.freshDatabase()
        let environment = ["RECOPS_DATABASE_URL": database.connectionURL()]
        let migrate = try await RecopsBinary.run(["store", "migrate"], environment: environment)
        #expect(migrate.status == 0, "\(migrate.stderr)")
        let password = try #require(TestPostgres.passwordOf(database))
        #expect(migrate.stdout.contains("schema current") && !migrate.stdout.contains(password))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-copy-cli-\(UUID().uuidString)")
        let sqlite = try SQLiteJobStore(directory: directory)
        for n in 1...3 {
            let callback = RecordingCallback(accountSid: "AC" + String(repeating: "a", count: 32), callSid: String(format: "CA%032d", n),
                                             recordingSid: String(format: "RE%032d", n), status: .completed, duration: 5, startTime: Date())
            try await sqlite.recordCall(CallRecord(callSid: callback.callSid, from: nil, to: nil, jobID: "J-1", status: .completed, startedAt: Date()))
            #expect(try await sqlite.accept(callback, at: Date()))
        }
        // A stable link (revoked) and its opens: links in histories must open on the new store too.
        let link = try await sqlite.link(recordingSid: String(format: "RE%032d", 1), objectKey: "recordings/a.mp3", jobID: "J-1", at: Date())
        _ = try await sqlite.revokeLinks(recordingSids: [link.recordingSid], at: Date())
        for answer in [LinkOpen.Answer.redirected, .revoked] {
            try await sqlite.recordOpen(LinkOpen(at: Date(), linkID: link.id, recordingSid: link.recordingSid, objectKey: link.objectKey, jobID: "J-1",
                                                 client: "192.0.2.1", network: "192.0.2.0/24", userAgent: "browser", session: nil, answer: answer))
        }
        let first = try await RecopsBinary.run(["store", "copy", "--from", directory.path], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("copied 3 of 3 recordings, 3 of 3 calls, 1 of 1 stable links and 2 of 2 link opens"), "\(first.stdout)")
        let second = try await RecopsBinary.run(["store", "copy", "--from", directory.path], environment: environment)
        #expect(second.status == 0 && second.stdout.contains("copied 0 of 3 recordings, 0 of 3 calls, 0 of 1 stable links and 0 of 2 link opens")
                && second.stdout.contains("nothing new"), "\(second.stdout)")
        #expect(try await TestPostgres.integer(database, "SELECT count(*) FROM recordings WHERE state = 'received'") == 3)
        #expect(try await TestPostgres.integer(database, "SELECT count(*) FROM recording_links WHERE revoked_at IS NOT NULL AND id = '\(link.id)'") == 1)
        #expect(try await TestPostgres.integer(database, "SELECT count(*) FROM link_opens WHERE link_id = '\(link.id)'") == 2)

        // No store there: a clear error, exit 1.
        let missing = try await RecopsBinary.run(["store", "copy", "--from", directory.appendingPathComponent("nope").path], environment: environment)
        #expect(missing.status == 1 && missing.stderr.contains("no SQLite store"))
        // A wrong password: the server's reason, exit 1, the password nowhere.
        var wrong = database
        wrong.password = "wrong-Password-99"
        let refused = try await RecopsBinary.run(["store", "migrate", "--store", wrong.connectionURL()], environment: [:])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("password authentication failed") && !refused.stderr.contains("wrong-Password-99"), "\(refused.stderr)")
    }
}
