import AudioQuality
import Foundation
import Testing

@Suite struct AudioQualityTests {
    static func analyze(_ path: String) throws -> LevelAnalysis {
        var source = try openPCM(path)
        return try LevelAnalyzer().analyze(&source)
    }

    static func judge(_ path: String, excused: Double = 0) throws -> (LevelAnalysis, QualityJudgement) {
        let analysis = try analyze(path)
        return (analysis, QualityJudgement.judge(analysis, thresholds: QualityThresholds(), excusedSeconds: excused))
    }

    @Test func speechPassesAsMP3AndAsWAV() throws {
        let wav = try GeneratedAudio.speechWAV()
        let mp3 = try GeneratedAudio.mp3(wav)
        let (fromMP3, verdict) = try Self.judge(mp3)
        #expect(verdict.passes, "\(verdict) \(fromMP3)")
        #expect(fromMP3.sampleRate == 8000 && fromMP3.channels.count == 1)
        let fromWAV = try Self.analyze(wav)
        #expect(fromWAV.channels[0].voicedShare > 0.4, "\(fromWAV.channels[0])")
        // The codec shifts levels a little, not what is voiced.
        #expect(abs(fromMP3.channels[0].voicedShare - fromWAV.channels[0].voicedShare) < 0.1)
        #expect(abs(fromMP3.durationSeconds - fromWAV.durationSeconds) < 0.2, "\(fromMP3.durationSeconds) vs \(fromWAV.durationSeconds)")
        #expect(fromWAV.channels[0].rmsDBFS > -40 && fromWAV.channels[0].peakDBFS <= 0 && fromWAV.channels[0].clippedSamples == 0)
        #expect(!fromMP3.channels[0].levels.isEmpty && fromMP3.channels[0].levels.count <= LevelAnalysis.maxBuckets)
    }

    @Test func silenceIsSilentAndNoiseIsNotSpeech() throws {
        let (_, silent) = try Self.judge(try GeneratedAudio.mp3(try GeneratedAudio.silenceWAV(seconds: 12)))
        #expect(silent.verdicts == [.silent])
        let noise = GeneratedAudio.path("noise.wav")
        try GeneratedAudio.run("sox", ["-n", "-r", "8000", "-c", "1", "-b", "16", noise, "synth", "12", "whitenoise", "vol", "0.02"])
        let (analysis, hiss) = try Self.judge(try GeneratedAudio.mp3(noise))
        #expect(hiss.verdicts == [.silent], "steady hiss is the noise floor, not a voice: \(analysis.channels[0])")
    }

    @Test func aDualRecordingWithOneSideMutedIsOneSidedAndNamesTheSide() throws {
        let muted = try GeneratedAudio.mp3(try GeneratedAudio.fromSpeech("dual-muted.wav", ["remix", "1", "0"]), stereo: true)
        let (analysis, verdict) = try Self.judge(muted)
        #expect(analysis.channels.count == 2)
        #expect(verdict.verdicts == [.oneSided] && verdict.silentChannel == 1, "\(verdict) \(analysis.channels.map(\.voicedShare))")
        let leftMuted = try GeneratedAudio.mp3(try GeneratedAudio.fromSpeech("dual-left-muted.wav", ["remix", "0", "1"]), stereo: true)
        #expect(try Self.judge(leftMuted).1.silentChannel == 0)
        let both = try GeneratedAudio.mp3(try GeneratedAudio.fromSpeech("dual-both.wav", ["remix", "1", "1"]), stereo: true)
        #expect(try Self.judge(both).1.passes)
    }

    @Test func clippingIsFound() throws {
        let clipped = try GeneratedAudio.mp3(try GeneratedAudio.fromSpeech("clipped.wav", ["gain", "30"]))
        let (analysis, verdict) = try Self.judge(clipped)
        #expect(verdict.verdicts.contains(.clipped), "\(analysis.channels[0].clippedShare)")
    }

    /// Twilio's own silence (a paused recording, trimmed ends) is excused, never counted.
    @Test func silenceTwilioMadeIsNotCounted() throws {
        let padded = try GeneratedAudio.mp3(try GeneratedAudio.fromSpeech("paused.wav", ["pad", "0", "40"]))
        let (analysis, counted) = try Self.judge(padded)
        #expect(counted.verdicts == [.mostlySilent], "\(analysis.channels[0].voicedShare)")
        #expect(analysis.channels[0].longestSilenceSeconds >= 39)
        #expect(try Self.judge(padded, excused: 40).1.passes)
    }

    @Test func aFileThatIsNoAudioIsRefusedClearly() throws {
        let junk = GeneratedAudio.path("junk.mp3")
        try Data(repeating: 0x41, count: 10_000).write(to: URL(fileURLWithPath: junk))
        #expect(throws: AudioDecodeError.self) { _ = try Self.analyze(junk) }
    }

    /// The one outside fixture (../shared/fixtures/sample-call.mp3, copied into Tests/Fixtures):
    /// a real 8.9 s call at 16 kHz mono, speech most of the way (80 % voiced), no clipping.
    @Test func theSampleCallIsSpeech() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sample-call.mp3").path
        let (analysis, verdict) = try Self.judge(fixture)
        #expect(verdict.passes && analysis.sampleRate == 16000 && analysis.channels.count == 1)
        #expect(abs(analysis.durationSeconds - 8.9) < 0.2, "\(analysis.durationSeconds)")
        #expect(analysis.channels[0].voicedShare > 0.6 && analysis.channels[0].clippedSamples == 0, "\(analysis.channels[0])")
    }
}
