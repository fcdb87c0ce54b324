/// A bound on how many heavy test servers run at once.
///
/// Swift Testing runs every test in parallel; each live test starts its own moto_server (a Python
/// process), and on two cores forty of them at once starve each other until requests time out.
/// Tests queue for a slot instead: the run takes as long, and nothing times out.
///
/// A waiter cancelled in the queue leaves it (and throws `CancellationError`): it never takes a
/// slot that nobody will release.
public actor TestSlots {
    public static let motoServers = TestSlots(3)

    private var free: Int
    private var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID: UInt64 = 0

    public init(_ count: Int) {
        free = count
    }

    /// Waiters in the queue (for tests).
    public var queued: Int { waiting.count }

    public func acquire() async throws {
        if free > 0, waiting.isEmpty {
            free -= 1
            return
        }
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    private func cancel(_ id: UInt64) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    public func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().continuation.resume()
        }
    }
}
