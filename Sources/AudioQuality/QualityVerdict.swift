import Foundation

/// What is wrong with a recording's audio (stored and linked all the same).
public enum QualityVerdict: String, Sendable, CaseIterable, Codable {
    /// Nothing voiced on any channel.
    case silent
    /// Dual-channel: one side voiced, the other not (one-way audio).
    case oneSided = "one_sided"
    /// Voiced, but less than the spec's share.
    case mostlySilent = "mostly_silent"
    /// More full-scale samples than the spec allows.
    case clipped
}

/// The spec's `quality:` thresholds.
public struct QualityThresholds: Sendable, Equatable {
    /// Below this voiced share a recording is `mostly_silent`.
    public var minVoicedShare = 0.2
    /// At or below this voiced share a channel counts as silent (a cough is not a conversation).
    public var silentShare = 0.02
    /// Above this share of full-scale samples a channel is `clipped`.
    public var clippedShare = 0.001

    public init() {}
}

/// A recording's judgement: its verdicts (empty: it passes) and, for one-sided audio, which
/// channel went quiet (0: the first).
public struct QualityJudgement: Sendable, Equatable, Codable {
    public var verdicts: [QualityVerdict]
    public var silentChannel: Int?

    public var passes: Bool { verdicts.isEmpty }

    /// `excusedSeconds`: silence Twilio made on purpose (a paused recording, trimmed silence),
    /// taken out of each channel's length before its share is judged, so it never counts against
    /// the recording.
    public static func judge(_ analysis: LevelAnalysis, thresholds: QualityThresholds, excusedSeconds: Double = 0) -> QualityJudgement {
        let length = max(0.001, analysis.durationSeconds - excusedSeconds)
        let shares = analysis.channels.map { min(1, $0.voicedSeconds / length) }
        var verdicts: [QualityVerdict] = []
        var silentChannel: Int?
        if shares.allSatisfy({ $0 <= thresholds.silentShare }) {
            verdicts.append(.silent)
        } else if shares.count == 2, let quiet = shares.firstIndex(where: { $0 <= thresholds.silentShare }) {
            verdicts.append(.oneSided)
            silentChannel = quiet
        } else if (shares.max() ?? 0) < thresholds.minVoicedShare {
            verdicts.append(.mostlySilent)
        }
        if analysis.channels.contains(where: { $0.clippedShare > thresholds.clippedShare }) { verdicts.append(.clipped) }
        return QualityJudgement(verdicts: verdicts, silentChannel: silentChannel)
    }
}
