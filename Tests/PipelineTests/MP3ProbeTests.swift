import Foundation
import Pipeline
import RecopsTesting
import Sandbox
import Testing

/// The quality check reads real MP3 (Tests/Fixtures/sample-call.mp3, encoded by lame) and refuses what is not.
@Suite struct MP3ProbeTests {
    static let fixture = TestFixtures.directory.appendingPathComponent(TestFixtures.sampleCall)

    static func write(_ data: Data) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).mp3")
        try data.write(to: file)
        return file
    }

    @Test func theSharedRecordingPlaysItsKnownDuration() throws {
        let result = try MP3Probe.probe(Self.fixture)
        // 35712 bytes of 144-byte frames at 36 ms: 248 frames, 8.928 s ("about 8.9 s").
        #expect(result.frames == 248)
        #expect(abs(result.seconds - 8.928) < 0.001)
        #expect(MP3Probe.problem(file: Self.fixture, expectedSeconds: 9) == nil)
        #expect(MP3Probe.problem(file: Self.fixture, expectedSeconds: 30) == "plays 8.9 s, Twilio says 30 s")
    }

    @Test func anID3TagIsSkippedAndTheSandboxAudioParses() throws {
        var tagged = Data([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 20]) + Data(count: 20)
        tagged += MP3Frames.silence(seconds: 3.6)
        let result = try MP3Probe.probe(try Self.write(tagged))
        #expect(result.frames == 100)
    }

    @Test func whatIsNotAudioIsNamed() throws {
        let page = try Self.write(Data("<html>403 Forbidden</html>".utf8))
        #expect(MP3Probe.problem(file: page, expectedSeconds: 9) == "not MP3: no MPEG audio frame at the start")
        let cut = try Self.write(try Data(contentsOf: Self.fixture).prefix(35_000))
        #expect(MP3Probe.problem(file: cut, expectedSeconds: nil)?.hasPrefix("truncated: the last frame (244)") == true)
        let garbage = try Self.write(MP3Frames.silence(seconds: 0.36) + Data(repeating: 0x41, count: 50))
        #expect(MP3Probe.problem(file: garbage, expectedSeconds: nil) == "not MP3 after 10 frames: no frame header at byte 1440")
        #expect(MP3Probe.problem(file: try Self.write(Data()), expectedSeconds: nil) == "not MP3: empty")
    }
}
