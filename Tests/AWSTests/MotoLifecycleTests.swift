import Foundation
import RecopsTesting
import Testing

@Suite struct MotoLifecycleTests {
    @Test func startsAndStops() async throws {
        let port = try await MotoServer.with { moto in moto.process.port }
        #expect(port > 0)
    }
}
