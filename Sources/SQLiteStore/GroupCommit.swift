import Foundation
import GRDB
import RecopsBase

/// Writes that arrive together share one transaction, and so one fsync: group commit for the
/// webhook path. With `synchronous=FULL` every commit waits for the disk, and SQLite takes one
/// writer at a time, so 50 callbacks at once would otherwise queue behind 50 fsyncs.
///
/// Each write runs in a savepoint of its own: one that throws is rolled back alone and gets its
/// error; the others commit. A writer answers only after the shared commit is on disk.
///
/// Cancellation-safe: a waiter whose write was not yet taken leaves the queue at once (the write
/// never happens); one already taken is committed with the rest and told the outcome. The
/// commits run in an unstructured task, so a cancelled caller cannot make the store refuse them.
final class GroupCommit: Sendable {
    typealias Write = @Sendable (Database) throws -> any Sendable

    private struct Waiter {
        let id: UInt64
        let write: Write
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var queue: [Waiter] = []
        var draining = false
        var next: UInt64 = 0
    }

    private let state = Locked(State())

    struct Unanswered: Error, CustomStringConvertible {
        var description: String { "the group transaction gave no result for this write" }
    }
    /// One transaction over the writes given (the store's `BEGIN IMMEDIATE`).
    private let transaction: @Sendable ([Write]) async -> [Result<any Sendable, any Error>]
    /// The most writes in one transaction: a long one would hold SQLite's write lock.
    static let limit = 256

    init(transaction: @escaping @Sendable ([Write]) async -> [Result<any Sendable, any Error>]) {
        self.transaction = transaction
    }

    /// Writes waiting for the next transaction (tests wait on it).
    var queued: Int { state.value.queue.count }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let id = state.withLock { state -> UInt64 in
            state.next += 1
            return state.next
        }
        let value = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
                let start = state.withLock { state -> Bool? in
                    if Task.isCancelled { return nil }
                    state.queue.append(Waiter(id: id, write: { try body($0) }, continuation: continuation))
                    if state.draining { return false }
                    state.draining = true
                    return true
                }
                switch start {
                case nil: continuation.resume(throwing: CancellationError())
                case true?: Task { await self.drain() }
                case false?: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return nil }
                return state.queue.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
        return value as! T
    }

    /// Commits what is queued, batch after batch, until the queue is empty.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                let batch = Array(state.queue.prefix(Self.limit))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            let results = await transaction(batch.map(\.write))
            for (index, waiter) in batch.enumerated() {
                // Every waiter is answered, whatever the transaction returned.
                waiter.continuation.resume(with: index < results.count ? results[index] : .failure(Unanswered()))
            }
        }
    }
}
