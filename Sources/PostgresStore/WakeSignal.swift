import RecopsBase

/// Wakes waiting workers when a notification comes. A fire with no one waiting is remembered
/// once, so a notification between two waits is not lost. A waiter that times out or is
/// cancelled leaves no trace.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var next: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Locked(State())

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if state.waiters.isEmpty { state.pending = true }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns on a fire, after `timeout`, or when the task is cancelled.
    func wait(upTo timeout: Duration) async {
        let pending = state.withLock { state -> Bool in
            defer { state.pending = false }
            return state.pending
        }
        if pending { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.fired() }
            await group.next()
            group.cancelAll()
        }
    }

    private func fired() async {
        let id = state.withLock { state -> UInt64 in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
