import Foundation

/// What the audio itself says, per channel, measured in one streaming pass in constant memory
/// (a few counters per channel and a level picture of at most `LevelAnalysis.maxBuckets` points,
/// whatever the length).
public struct LevelAnalysis: Sendable, Equatable, Codable {
    public struct Channel: Sendable, Equatable, Codable {
        /// Share of frames above the voiced threshold (the noise floor + `voicedAboveFloorDB`,
        /// never below `minimumVoicedDBFS`).
        public var voicedShare: Double
        public var voicedSeconds: Double
        /// The longest run of unvoiced frames.
        public var longestSilenceSeconds: Double
        public var peakDBFS: Double
        public var rmsDBFS: Double
        /// Samples at full scale (±32767, -32768).
        public var clippedSamples: Int
        public var clippedShare: Double
        /// Where the noise floor settled (the quietest level, risen slowly).
        public var noiseFloorDBFS: Double
        /// The loudest frame of each bucket of `LevelAnalysis.bucketSeconds`, oldest first:
        /// the level-over-time picture, made from figures, not audio.
        public var levels: [Double]
    }

    public var sampleRate: Int
    public var durationSeconds: Double
    public var channels: [Channel]
    public var bucketSeconds: Double

    public static let maxBuckets = 120
}

public struct LevelAnalyzer: Sendable {
    public struct Settings: Sendable, Equatable {
        /// RMS frames of this length (20–50 ms is speech's scale).
        public var frameMilliseconds = 30
        /// A frame is voiced this far above the noise floor…
        public var voicedAboveFloorDB = 12.0
        /// …and never below this level (a digital-silence floor would make hiss "voiced").
        public var minimumVoicedDBFS = -45.0
        /// How fast the floor rises when the audio stays above it (dB per second): slow, so speech
        /// does not lift it, fast enough to follow a noisier line.
        public var floorRiseDBPerSecond = 1.5

        public init() {}
    }

    public var settings: Settings

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Reads `source` to its end.
    public func analyze(_ source: inout any PCMSource) throws -> LevelAnalysis {
        let channels = max(1, source.channels)
        let rate = max(1, source.sampleRate)
        let frameLength = max(1, rate * settings.frameMilliseconds / 1000)
        let frameSeconds = Double(frameLength) / Double(rate)
        var state = [ChannelState](repeating: ChannelState(), count: channels)
        var bucketSeconds = 1.0
        var buffer = [Int16](repeating: 0, count: frameLength * channels * 32)
        var inFrame = 0
        var frames = 0
        var totalSamples = 0
        while true {
            let count = try source.read(into: &buffer)
            guard count > 0 else { break }
            let whole = count - count % channels
            var index = 0
            while index < whole {
                for channel in 0..<channels {
                    let sample = Int(buffer[index + channel])
                    state[channel].add(sample)
                }
                index += channels
                inFrame += 1
                totalSamples += 1
                if inFrame == frameLength {
                    let at = Double(frames) * frameSeconds
                    for channel in 0..<channels { state[channel].endFrame(length: frameLength, at: at, bucketSeconds: bucketSeconds, settings: settings, frameSeconds: frameSeconds) }
                    frames += 1
                    inFrame = 0
                    if state[0].levels.count > LevelAnalysis.maxBuckets {
                        // Twice as wide: pairs merged by their loudest, so the picture keeps its size.
                        bucketSeconds *= 2
                        for channel in 0..<channels { state[channel].halveLevels() }
                    }
                }
            }
        }
        let duration = Double(totalSamples) / Double(rate)
        return LevelAnalysis(sampleRate: rate, durationSeconds: duration,
                             channels: state.map { $0.result(frames: frames, frameSeconds: frameSeconds, samples: totalSamples) }, bucketSeconds: bucketSeconds)
    }

    static func dB(_ meanSquare: Double) -> Double {
        meanSquare <= 0 ? -120 : 10 * log10(meanSquare / (32768.0 * 32768.0))
    }

    struct ChannelState {
        var frameSquares = 0.0
        var totalSquares = 0.0
        var peak = 0
        var clipped = 0
        var floor: Double?
        var voiced = 0
        var silentRun = 0
        var longestSilentRun = 0
        var levels: [Double] = []

        mutating func add(_ sample: Int) {
            let square = Double(sample * sample)
            frameSquares += square
            totalSquares += square
            peak = max(peak, abs(sample))
            if sample >= 32767 || sample <= -32768 { clipped += 1 }
        }

        mutating func endFrame(length: Int, at: Double, bucketSeconds: Double, settings: Settings, frameSeconds: Double) {
            let level = LevelAnalyzer.dB(frameSquares / Double(length))
            frameSquares = 0
            // The floor drops at once to a quieter frame and rises slowly.
            if let current = floor {
                floor = level < current ? level : min(level, current + settings.floorRiseDBPerSecond * frameSeconds)
            } else {
                floor = level
            }
            let threshold = max(floor! + settings.voicedAboveFloorDB, settings.minimumVoicedDBFS)
            if level > threshold {
                voiced += 1
                silentRun = 0
            } else {
                silentRun += 1
                longestSilentRun = max(longestSilentRun, silentRun)
            }
            let bucket = Int(at / bucketSeconds)
            while levels.count <= bucket { levels.append(-120) }
            levels[bucket] = max(levels[bucket], level)
        }

        mutating func halveLevels() {
            levels = stride(from: 0, to: levels.count, by: 2).map { index in
                index + 1 < levels.count ? max(levels[index], levels[index + 1]) : levels[index]
            }
        }

        func result(frames: Int, frameSeconds: Double, samples: Int) -> LevelAnalysis.Channel {
            let rounded = { (value: Double) in (value * 10).rounded() / 10 }
            return LevelAnalysis.Channel(
                voicedShare: frames == 0 ? 0 : Double(voiced) / Double(frames), voicedSeconds: Double(voiced) * frameSeconds,
                longestSilenceSeconds: Double(longestSilentRun) * frameSeconds,
                peakDBFS: rounded(LevelAnalyzer.dB(Double(peak * peak))), rmsDBFS: rounded(LevelAnalyzer.dB(samples == 0 ? 0 : totalSquares / Double(samples))),
                clippedSamples: clipped, clippedShare: samples == 0 ? 0 : Double(clipped) / Double(samples),
                noiseFloorDBFS: rounded(floor ?? -120), levels: levels.map(rounded))
        }
    }
}
