import RecopsTesting
import Testing

/// The test-server slots: a waiter that gives up leaves the queue and takes no slot with it.
@Suite struct TestSlotsTests {
    @Test func aCancelledWaiterTakesNoSlot() async throws {
        let slots = TestSlots(1)
        try await slots.acquire()
        let first = Task { try await slots.acquire() }
        let second = Task { try await slots.acquire() }
        while await slots.queued < 2 { try await Task.sleep(for: .milliseconds(5)) }
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        #expect(await slots.queued == 1)
        await slots.release()  // the slot goes to the one still waiting, not to the cancelled one
        try await second.value
        #expect(await slots.queued == 0)
        await slots.release()
        try await slots.acquire()  // and the slot is free again
    }
}
