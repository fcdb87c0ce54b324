import Foundation
import GRDB
import RecopsBase
@testable import SQLiteStore
import Testing

/// The SQLite store's group commit: writes that arrive together share a transaction, one that
/// fails fails alone, and a waiter that gives up leaves no write behind.
@Suite struct GroupCommitTests {
    static func database() throws -> DatabasePool {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("recops-group-\(UUID().uuidString).sqlite").path
        let pool = try DatabasePool(path: path)
        try pool.write { try $0.execute(sql: "CREATE TABLE t (n INTEGER PRIMARY KEY)") }
        return pool
    }

    struct Refused: Error {}

    @Test func writesThatArriveTogetherShareATransactionAndFailAlone() async throws {
        let pool = try Self.database()
        let transactions = Locked(0)
        let group = GroupCommit { writes in
            transactions.withLock { $0 += 1 }
            return await SQLiteJobStore.group(writes, in: pool, path: "test")
        }
        let results = await withTaskGroup(of: (Int, Bool).self) { tasks in
            for n in 0..<200 {
                tasks.addTask {
                    do {
                        try await group.write { db in
                            try db.execute(sql: "INSERT INTO t (n) VALUES (?)", arguments: [n])
                            if n == 17 { throw Refused() }  // after its insert: the savepoint must undo it
                        }
                        return (n, true)
                    } catch {
                        return (n, false)
                    }
                }
            }
            return await tasks.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 200)
        #expect(results.filter { !$0.value }.map(\.key) == [17])
        #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } == 199)
        #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t WHERE n = 17") } == 0)
        // 200 writes at once: a handful of commits, not 200.
        #expect(transactions.value < 100, "\(transactions.value) transactions for 200 writes")
    }

    @Test func aWaiterThatGivesUpLeavesNoWrite() async throws {
        let pool = try Self.database()
        let gate = Locked(false)
        let entered = Locked(false)
        let group = GroupCommit { writes in
            // The first transaction waits until the test has cancelled the queued waiter.
            entered.exchange(true)
            while !gate.value { try? await Task.sleep(for: .milliseconds(5)) }
            return await SQLiteJobStore.group(writes, in: pool, path: "test")
        }
        let first = Task { try await group.write { db in try db.execute(sql: "INSERT INTO t (n) VALUES (1)") } }
        // The first write is taken (its transaction waits on the gate) …
        let deadline = ContinuousClock.now + .seconds(60)
        while !entered.value, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let queued = Task { try await group.write { db in try db.execute(sql: "INSERT INTO t (n) VALUES (2)") } }
        // … and the second waits in the queue behind it.
        while group.queued == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(entered.value && group.queued == 1)
        queued.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        gate.exchange(true)
        try await first.value
        #expect(try await pool.read { try Int.fetchAll($0, sql: "SELECT n FROM t ORDER BY n") } == [1])
    }
}
