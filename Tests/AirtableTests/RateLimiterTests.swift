@testable import Airtable
import Foundation
import Testing

/// The limiter's waits are cancellation-safe: a waiter that gives up, wherever it stands in the
/// queue, leaves it, and the others keep their order and the 5/s bound. (A waiter cancelled at
/// the head while the base was paused once froze every later request of the process.)
@Suite struct RateLimiterTests {
    /// Records the order in which requests got their turn, and when.
    actor Turns {
        var order: [Int] = []
        var times: [ContinuousClock.Instant] = []
        func add(_ id: Int) {
            order.append(id)
            times.append(.now)
        }
    }

    static func waitUntil(_ limiter: RateLimiter, queued: Int, _ key: String = "base") async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while await limiter.waiting(key) != queued {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Seven requests queue behind a paused base; the head, one in the middle and the tail give up.
    /// The other four go, in arrival order, once the pause is over, and later requests still go.
    @Test(arguments: [[0], [3], [6], [0, 3, 6]])
    func cancelledWaitersLeaveTheQueue(_ cancelled: [Int]) async throws {
        // One a second: at 5/s the first five turns are given at once and their bodies race each
        // other to `turns`, so the order seen there would not be the order the turns were given.
        let limiter = RateLimiter(requestsPerSecond: 1, pauseAfterThrottle: .seconds(600))
        await limiter.throttled("base")
        let turns = Turns()
        var tasks: [Task<Bool, Never>] = []
        for id in 0..<7 {
            tasks.append(Task {
                do {
                    try await limiter.run("base") { await turns.add(id) }
                    return true
                } catch {
                    return false
                }
            })
            try await Self.waitUntil(limiter, queued: id + 1)  // arrival order is the order queued
        }
        for id in cancelled { tasks[id].cancel() }
        try await Self.waitUntil(limiter, queued: 7 - cancelled.count)
        #expect(await limiter.isPaused("base"))
        await limiter.endPause("base")
        var ran: [Int] = []
        for (id, task) in tasks.enumerated() where await task.value { ran.append(id) }
        #expect(ran == (0..<7).filter { !cancelled.contains($0) })
        #expect(await turns.order == ran)
        #expect(await limiter.waiting("base") == 0)
        // The queue is not wedged: a later request goes at once (bounded, so a regression fails, not hangs).
        let later = Task { try await limiter.run("base") { 1 } }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            later.cancel()
        }
        #expect(try await later.value == 1)
        watchdog.cancel()
    }

    /// Cancelled waiters change nothing of the bound: no one-second window holds more than 5 turns.
    @Test func theBoundHoldsAcrossCancellations() async throws {
        let limiter = RateLimiter(requestsPerSecond: 5, pauseAfterThrottle: .seconds(600))
        await limiter.throttled("base")
        let turns = Turns()
        var tasks: [Task<Void, Never>] = []
        for id in 0..<16 {
            tasks.append(Task { try? await limiter.run("base") { await turns.add(id) } })
            try await Self.waitUntil(limiter, queued: id + 1)
        }
        for id in [1, 4, 9, 15] { tasks[id].cancel() }
        try await Self.waitUntil(limiter, queued: 12)
        await limiter.endPause("base")
        for task in tasks { await task.value }
        let times = await turns.times
        #expect(times.count == 12)
        #expect(await turns.order == (0..<16).filter { ![1, 4, 9, 15].contains($0) })
        for (index, start) in times.enumerated() {
            #expect(times[index...].prefix { $0 - start < .seconds(1) }.count <= 5, "more than 5 turns within a second of turn \(index)")
        }
    }

    /// A task cancelled before it even reached the queue throws at once and takes no turn.
    @Test func alreadyCancelledNeverQueues() async throws {
        let limiter = RateLimiter(requestsPerSecond: 5)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await limiter.run("base") { 1 }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(await limiter.waiting("base") == 0)
        #expect(try await limiter.run("base") { 2 } == 2)
    }

    /// Bases are independent: a paused base never holds up another.
    @Test func anotherBaseIsNotHeldUp() async throws {
        let limiter = RateLimiter(requestsPerSecond: 5, pauseAfterThrottle: .seconds(60))
        await limiter.throttled("paused")
        let stuck = Task { try await limiter.run("paused") { 0 } }
        try await Self.waitUntil(limiter, queued: 1, "paused")
        #expect(try await limiter.run("other") { 1 } == 1)
        stuck.cancel()
        await #expect(throws: CancellationError.self) { try await stuck.value }
        #expect(await limiter.waiting("paused") == 0)
    }
}
