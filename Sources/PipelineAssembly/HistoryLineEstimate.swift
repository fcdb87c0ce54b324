import AWS
import Airtable
import Foundation
import Logging
import Pipeline
import Spec
import Transport

/// The longest history line a spec can write, worked out offline with the pipeline's own key
/// layout and SigV4 presigner: placeholder credentials of AWS's lengths, the longest timestamp
/// the format renders, a 64-character job id (the most a key keeps), and a `-99` second-recording
/// suffix. `recops validate` reports it; no request is made.
public struct HistoryLineEstimate: Sendable, Equatable {
    /// Lengths as Airtable counts them (UTF-16 code units).
    public var line: Int
    public var url: Int
    public var presigned: Bool
    /// The kind of link the lines hold.
    public var links: LinkMode
    /// With temporary credentials (an assumed role, SSO) a presigned URL also carries
    /// `X-Amz-Security-Token`; nil for public and stable links, which carry no signature.
    public var lineWithSessionToken: Int?
    public var urlWithSessionToken: Int?

    /// The session token assumed: STS tokens run 700–1,200 characters before encoding; the
    /// `/`, `+` and `=` in them grow by two characters each in a query.
    public static let assumedSessionTokenLength = 1_000

    /// A long-term key id's length (20), made at run time so no source holds one that looks real.
    public static let placeholderKeyID = "AKIA" + String(repeating: "X", count: 16)

    /// The longest line that may be written.
    public var worst: Int { max(line, lineWithSessionToken ?? 0) }
    /// How many of the longest lines an empty history field holds (each with its newline).
    public var linesPerField: Int { AirtableLimits.longTextCharacters / (worst + 1) }

    public init?(spec: Spec) {
        guard let recordings = spec.recordings, let bucket = spec.bucket else { return nil }
        let settings = HistorySettings(recordings)
        let layout = RecordingLayout(settings: settings)
        let start = Self.longestTimestampDate(layout)
        let job = RecordingJob(recordingSid: "RE" + String(repeating: "f", count: 32), callSid: "CA" + String(repeating: "f", count: 32),
                               accountSid: "AC" + String(repeating: "f", count: 32), startTime: start, duration: 14_400,
                               jobID: String(repeating: "J", count: 64), state: .received, nextAttemptAt: start, receivedAt: start)
        let key = layout.key(for: job, attempt: 99)
        func url(_ credentials: AWSCredentials) -> String {
            let aws = AWSClient(configuration: AWSConfiguration(credentials: credentials, region: spec.aws?.region ?? "us-east-1"),
                                transport: AsyncHTTPClientTransport(), now: { start }, logger: Logger(label: "recops.estimate"))
            // The pipeline's links, signed offline (ObjectLinks fetches credentials; these are given).
            let s3 = S3Client(aws: aws)
            switch settings.links {
            case .public: return s3.objectURL(bucket: bucket.name, key: key).absoluteString
            case .presigned: return s3.presignedGetURL(bucket: bucket.name, key: key, expires: Int(settings.signedURLTTL.timeInterval), credentials: credentials).absoluteString
            case .stable: return RecordingLink(id: String(repeating: "x", count: RecordingLink.idLength), recordingSid: job.recordingSid, objectKey: key,
                                               jobID: job.jobID, createdAt: start).url(appURL: PipelineConfiguration.trimmed(spec.app?.url ?? ""))
            }
        }
        let longTerm = AWSCredentials(accessKeyID: Self.placeholderKeyID, secretAccessKey: String(repeating: "x", count: 40))
        let plain = url(longTerm)
        self.presigned = settings.links == .presigned
        self.links = settings.links
        self.url = AirtableLimits.length(plain)
        self.line = AirtableLimits.length(layout.historyLine(for: job, url: plain))
        if presigned {
            // Base64 as STS writes it: the usual opening, with its run of `/`, then every one of the
            // 64 letters in turn (so `+` and `/` as often as in random bytes), and a closing `=`.
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
            let opening = "IQoJb3JpZ2luX2VjEK//////////wEaCXVzLWVhc3QtMSJHMEUCIQD"
            let body = (0..<(Self.assumedSessionTokenLength - opening.count - 1)).map { alphabet[($0 * 37) % 64] }
            let token = opening + String(body) + "="
            let temporary = url(AWSCredentials(accessKeyID: "ASIA" + String(repeating: "X", count: 16), secretAccessKey: String(repeating: "x", count: 40),
                                               sessionToken: token))
            urlWithSessionToken = AirtableLimits.length(temporary)
            lineWithSessionToken = AirtableLimits.length(layout.historyLine(for: job, url: temporary))
        }
    }

    /// The date whose rendering is longest in the spec's format: one per day of a year covers
    /// every month and weekday name, at 23:59:59 for the widest hours.
    static func longestTimestampDate(_ layout: RecordingLayout) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let first = calendar.date(from: DateComponents(year: 2026, month: 1, day: 1, hour: 23, minute: 59, second: 59))!
        let days = (0..<365).map { first.addingTimeInterval(Double($0) * 86_400) }
        return days.max { AirtableLimits.length(layout.timestamp($0)) < AirtableLimits.length(layout.timestamp($1)) } ?? first
    }

    /// What `validate` prints.
    public var summary: String {
        var text = "the longest history line is \(line) characters, with a \(links == .stable ? "stable link" : "\(links.rawValue) URL") of \(url)"
        if let lineWithSessionToken, let urlWithSessionToken {
            text += "; \(lineWithSessionToken) with temporary credentials (a \(Self.assumedSessionTokenLength)-character session token makes the URL \(urlWithSessionToken))"
        }
        return text + "; an empty \(AirtableLimits.longTextCharacters)-character history field holds \(linesPerField) of them"
    }
}
