import Foundation
import RecopsTesting
import Sandbox
import Testing

/// The sandbox's recordings are in the format of a real call recording from outside the project.
@Suite struct MP3FramesTests {
    static let fixture = TestFixtures.directory.appendingPathComponent(TestFixtures.sampleCall)

    @Test func framesMatchTheSampleCallsFormatAndLength() throws {
        let sample = try Data(contentsOf: Self.fixture)
        let made = MP3Frames.silence(seconds: 8.928)
        // Same frame header (MPEG-2 layer III, 32 kbit/s, 16 kHz, mono) and same size for the
        // same duration: 248 frames of 144 bytes.
        #expect(made.prefix(4) == sample.prefix(4))
        #expect(made.count == sample.count)
        #expect(made.count == 248 * MP3Frames.frameBytes)
    }
}
