import ArgumentParser
import AudioQuality
import Foundation

/// `recops quality`: what a recording's audio says.
struct QualityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "Recording quality from the audio itself.",
        subcommands: [Analyze.self])

    struct Analyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyze",
            abstract: "Decode a recording file (MP3 or 16-bit WAV) in bounded memory and report, per channel, the voiced share, the longest silence, peak and RMS level and clipping, with the verdicts.",
            discussion: "A channel counts as silent at or below 2 % voiced; a recording is mostly_silent below 20 % on its loudest channel; clipped above 0.1 % full-scale samples. For a dual-channel file one_sided names the channel that went quiet (1 is the first). --excuse takes out silence Twilio made on purpose (a paused recording). Exit 0 when it passes, 2 with a verdict, 1 when the file cannot be decoded.")

        @Argument(help: "The recording file.")
        var file: String
        @Option(help: ArgumentHelp("Seconds of silence Twilio made on purpose, not counted against the recording.", valueName: "seconds"))
        var excuse: Double = 0
        @Flag(help: "JSON instead of text.")
        var json = false

        func run() async throws {
            let analysis: LevelAnalysis
            do {
                var source = try openPCM(file)
                analysis = try LevelAnalyzer().analyze(&source)
            } catch {
                Wiring.writeError("quality analyze: \(error)")
                throw CommandExit.failure
            }
            let judgement = QualityJudgement.judge(analysis, thresholds: QualityThresholds(), excusedSeconds: excuse)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                struct Report: Encodable {
                    var analysis: LevelAnalysis
                    var judgement: QualityJudgement
                }
                print(String(decoding: try encoder.encode(Report(analysis: analysis, judgement: judgement)), as: UTF8.self))
            } else {
                let verdict = judgement.passes ? "passes" : judgement.verdicts.map(\.rawValue).joined(separator: ", ")
                    + (judgement.silentChannel.map { " (channel \($0 + 1) silent)" } ?? "")
                print(String(format: "%.1f s at %d Hz, %d channel(s): ", analysis.durationSeconds, analysis.sampleRate, analysis.channels.count) + verdict)
                for (index, channel) in analysis.channels.enumerated() {
                    print(String(format: "  channel %d: voiced %.0f %%, longest silence %.1f s, peak %.1f dBFS, RMS %.1f dBFS, noise floor %.1f dBFS, clipped %d samples",
                                 index + 1, channel.voicedShare * 100, channel.longestSilenceSeconds, channel.peakDBFS, channel.rmsDBFS, channel.noiseFloorDBFS,
                                 channel.clippedSamples))
                }
            }
            if !judgement.passes { throw CommandExit.drift }
        }
    }
}
