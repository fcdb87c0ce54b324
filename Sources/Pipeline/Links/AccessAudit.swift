import AWS
import Foundation
import RecopsBase

/// `recops audit access`: the opens of stable links from the store's audit, their patterns, and
/// (with `--cloudtrail`) the S3 reads CloudTrail logged, joined to the opens by object key.
public struct AccessAudit: Sendable {
    let store: any JobStore
    let threshold: Int

    public init(store: any JobStore, threshold: Int) {
        self.store = store
        self.threshold = threshold
    }

    /// Enough for a year of a busy office; a report beyond it says so rather than cutting silently.
    public static let maxOpens = 1_000_000

    /// Why a report could not be made (too many opens, no trail, a log file that is not one).
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public func opens(from: Date, to: Date, jobID: String?) async throws -> [LinkOpen] {
        let opens = try await store.opens(from: from, to: to, jobID: jobID, client: nil, limit: Self.maxOpens + 1)
        guard opens.count <= Self.maxOpens else { throw Failure(description: "more than \(Self.maxOpens) opens in the period: narrow it with --since/--until or --job") }
        return opens
    }

    /// The runbook's monthly "audit recording access patterns".
    public struct Summary: Sendable {
        public struct Day: Sendable, Equatable { public var day: String; public var opens: Int; public var recordings: Int; public var clients: Int }
        public struct Recording: Sendable, Equatable { public var recordingSid: String; public var jobID: String?; public var opens: Int; public var clients: Int }
        public struct Client: Sendable, Equatable { public var client: String; public var opens: Int; public var recordings: Int; public var refused: Int }
        public struct Burst: Sendable, Equatable { public var client: String; public var from: Date; public var recordings: Int }
        public struct NewNetwork: Sendable, Equatable { public var network: String; public var client: String; public var at: Date }

        public var from: Date
        public var to: Date
        public var opens: Int
        /// Opens answered with anything but a redirect (revoked, expired, unknown, throttled…).
        public var refused: Int
        public var days: [Day]
        public var recordings: [Recording]
        public var clients: [Client]
        public var bursts: [Burst]
        public var newNetworks: [NewNetwork]
        public var threshold: Int

        public var flagged: Bool { !bursts.isEmpty || !newNetworks.isEmpty }
    }

    public func summary(from: Date, to: Date, jobID: String?) async throws -> Summary {
        let opens = try await opens(from: from, to: to, jobID: jobID)
        let granted = opens.filter { $0.answer == .redirected }
        let days = Dictionary(grouping: opens) { Self.day($0.at) }.map { day, opens in
            Summary.Day(day: day, opens: opens.count, recordings: Set(opens.compactMap(\.recordingSid)).count, clients: Set(opens.map(\.client)).count)
        }.sorted { $0.day < $1.day }
        let recordings = Self.byRecording(opens)
        let clients = Dictionary(grouping: opens, by: \.client).map { client, opens in
            Summary.Client(client: client, opens: opens.count, recordings: Set(opens.filter { $0.answer == .redirected }.compactMap(\.recordingSid)).count,
                           refused: opens.filter { $0.answer != .redirected }.count)
        }.sorted { $0.opens != $1.opens ? $0.opens > $1.opens : $0.client < $1.client }
        let bursts = AccessPatterns.bursts(opens, threshold: threshold).map { Summary.Burst(client: $0.client, from: $0.from, recordings: $0.recordings) }
        // Each network's first open in the period, judged as the service judged it then.
        var newNetworks: [Summary.NewNetwork] = []
        var first: [String: LinkOpen] = [:]
        for open in opens where first[open.network] == nil { first[open.network] = open }
        for open in first.values.sorted(by: { $0.at < $1.at }) {
            let seen = try await store.networkSeen(open.network, before: open.at)
            if !seen.network, seen.any { newNetworks.append(.init(network: open.network, client: open.client, at: open.at)) }
        }
        return Summary(from: from, to: to, opens: opens.count, refused: opens.count - granted.count, days: days, recordings: recordings,
                       clients: clients, bursts: bursts, newNetworks: newNetworks, threshold: threshold)
    }

    /// The recordings opened (answered with the recording), most opened first.
    static func byRecording(_ opens: [LinkOpen]) -> [Summary.Recording] {
        let granted = opens.filter { $0.answer == .redirected && $0.recordingSid != nil }
        let grouped: [String: [LinkOpen]] = Dictionary(grouping: granted) { $0.recordingSid! }
        let counted = grouped.map { sid, opens in
            Summary.Recording(recordingSid: sid, jobID: opens.first?.jobID, opens: opens.count, clients: Set(opens.map(\.client)).count)
        }
        return counted.sorted { $0.opens != $1.opens ? $0.opens > $1.opens : $0.recordingSid < $1.recordingSid }
    }

    static func day(_ date: Date) -> String {
        String(ISO8601DateFormatter().string(from: date).prefix(10))
    }

    // MARK: CloudTrail

    /// One S3 read CloudTrail logged, with the link open it followed (nil: it did not come
    /// through a recops link: another principal, a script, the console).
    public struct TrailRead: Sendable {
        public var record: CloudTrailRecord
        public var open: LinkOpen?
    }

    /// The `GetObject` data events on `bucket` under `prefix`, each joined to the latest open of
    /// a link to the same object answered with a redirect at most `window` earlier (a presigned
    /// URL lives `redirectTTL`; a player's range requests come during it), or a little later
    /// (clocks differ).
    public static func join(_ records: [CloudTrailRecord], opens: [LinkOpen], bucket: String, prefix: String, window: TimeInterval) -> [TrailRead] {
        let byKey = Dictionary(grouping: opens.filter { $0.answer == .redirected && $0.objectKey != nil }) { $0.objectKey! }
        return records.filter { record in
            record.eventSource == "s3.amazonaws.com" && record.eventName == "GetObject" && (record.bucket ?? bucket) == bucket
                && (record.key?.hasPrefix(prefix) ?? false)
        }.sorted { $0.eventTime < $1.eventTime }.map { record in
            let open = byKey[record.key!]?.filter {
                $0.at <= record.eventTime.addingTimeInterval(60) && record.eventTime.timeIntervalSince($0.at) <= window
            }.max { $0.at < $1.at }
            return TrailRead(record: record, open: open)
        }
    }

    /// The records of the trail's log files for the days `from`…`to` (UTC), read from the
    /// trail's bucket under `AWSLogs/{account}/CloudTrail/{region}/`.
    public static func trailRecords(s3: S3Client, cloudtrail: CloudTrailClient, trail name: String, logBucket: String?, region: String,
                                    from: Date, to: Date) async throws -> [CloudTrailRecord] {
        guard let trail = try await cloudtrail.trail(name) else { throw Failure(description: "no CloudTrail trail is named \(name): run recops apply") }
        guard let bucket = logBucket ?? trail.S3BucketName else { throw Failure(description: "the trail \(name) delivers to no bucket") }
        guard let account = trail.TrailARN?.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first.map(String.init), !account.isEmpty else {
            throw Failure(description: "the trail \(name) has no ARN naming its account")
        }
        var records: [CloudTrailRecord] = []
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var day = calendar.startOfDay(for: from)
        while day <= to {
            let prefix = CloudTrailLogs.dayPrefix(trailPrefix: trail.S3KeyPrefix, account: account, region: region, day: day)
            for object in try await s3.listObjects(bucket: bucket, prefix: prefix) where object.key.hasSuffix(".json.gz") || object.key.hasSuffix(".json") {
                do {
                    records += try CloudTrailLogs.records(try await s3.getObject(bucket: bucket, key: object.key))
                } catch let malformed as CloudTrailLogs.Malformed {
                    throw Failure(description: "s3://\(bucket)/\(object.key): \(malformed)")
                }
            }
            day = day.addingTimeInterval(86_400)
        }
        return records.filter { $0.eventTime >= from && $0.eventTime <= to }
    }
}
