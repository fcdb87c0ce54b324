import AWS
import Foundation

/// Where a recording goes and what its history line says: pure functions of the job and the
/// spec, never of "now", so a retry writes the same key and the same line.
public struct RecordingLayout: Sendable {
    public let settings: HistorySettings

    public init(settings: HistorySettings) {
        self.settings = settings
    }

    /// The job id as it may appear in a key: letters, digits, `-`, `_` and `.` only.
    public static func keySafe(_ jobID: String?) -> String {
        guard let jobID, !jobID.isEmpty else { return "unmatched" }
        return String(jobID.prefix(64).map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" })
    }

    /// The key for a job; `attempt` > 1 adds `-2`, `-3`… before the extension, for a second
    /// recording that would otherwise land on the same key.
    public func key(for job: RecordingJob, attempt: Int = 1) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour], from: job.startTime)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        var key = settings.keyTemplate
        for (placeholder, value) in [
            ("yyyy", String(format: "%04d", parts.year ?? 1970)), ("mm", two(parts.month)), ("dd", two(parts.day)), ("hh", two(parts.hour)),
            ("call_sid", job.callSid), ("recording_sid", job.recordingSid), ("job_id", Self.keySafe(job.jobID)),
        ] {
            key = key.replacingOccurrences(of: "{\(placeholder)}", with: value)
        }
        guard attempt > 1 else { return key }
        let name = key.split(separator: "/").last.map(String.init) ?? key
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            let stem = key.dropLast(name.distance(from: dot, to: name.endIndex))
            return "\(stem)-\(attempt)\(name[dot...])"
        }
        return "\(key)-\(attempt)"
    }

    public func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: settings.timeZone) ?? TimeZone(identifier: "UTC")
        formatter.dateFormat = settings.timestampFormat
        return formatter.string(from: date)
    }

    public func historyLine(for job: RecordingJob, url: String) -> String {
        settings.line.replacingOccurrences(of: "{timestamp}", with: timestamp(job.startTime)).replacingOccurrences(of: "{url}", with: url)
    }

    public func pendingLine(for job: RecordingJob) -> String {
        settings.pendingLine.replacingOccurrences(of: "{timestamp}", with: timestamp(job.startTime))
    }

    /// How an object key shows inside any URL to it (presigned or public): a line containing
    /// this is the line for that object.
    public static func marker(forKey key: String) -> String {
        "/" + SigV4Signer.canonicalPath(key, normalize: false).drop(while: { $0 == "/" })
    }
}
