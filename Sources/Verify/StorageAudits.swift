import AWS
import Foundation
import Provision
import Spec
import Twilio

/// A read of what the services hold, beside the settings the resources compare: figures and
/// warnings about the recordings themselves. Never drift, so never a change of exit code, but an
/// audit that cannot read is "could not check", like a resource.
public protocol VerifyAudit: Sendable {
    var id: ResourceID { get }
    var part: SpecPart { get }
    func findings(sourceMap: SourceMap) async throws -> [Finding]
}

/// The audits the spec calls for, assembled once for `verify` and its tests.
public enum VerifyAudits {
    public static func make(spec: Spec, parts: Set<SpecPart>?, s3: () throws -> S3Client, twilio: () throws -> TwilioClient,
                            now: @escaping @Sendable () -> Date) rethrows -> [any VerifyAudit] {
        var audits: [any VerifyAudit] = []
        let wants = { (part: SpecPart) in parts?.contains(part) ?? true }
        if wants(.aws), let bucket = spec.bucket {
            // `--only aws` leaves the recordings section unread: then the lifecycle rules say where they are.
            let prefix = spec.recordings.map { SmallObjectAudit.prefix(ofKeyTemplate: $0.key) }
                ?? SmallObjectAudit.commonPrefix((bucket.lifecycle ?? []).map(\.prefix))
            audits.append(SmallObjectAudit(bucket: bucket, prefix: prefix, s3: try s3()))
        }
        if wants(.twilio), let days = spec.twilio?.recording.keepInTwilioDays {
            audits.append(TwilioRetentionAudit(keepDays: days, twilio: try twilio(), now: now))
        }
        return audits
    }
}

/// How much of the bucket's recordings is smaller than 128 KiB, the size STANDARD_IA and
/// ONEZONE_IA bill every object as (and below which S3's lifecycle skips transitions by default
/// since September 2024). A note always; a warning when a rule would move such objects to IA.
public struct SmallObjectAudit: VerifyAudit {
    public static let smallBytes = Spec.Bucket.LifecycleRule.smallObjectBytes
    /// Objects read at most (1,000 a request): a very large bucket is sampled, by key order.
    public static let defaultLimit = 100_000

    public let id: ResourceID
    public let part = SpecPart.aws
    let bucket: Spec.Bucket
    let prefix: String
    let s3: S3Client
    let limit: Int

    public init(bucket: Spec.Bucket, prefix: String, s3: S3Client, limit: Int = Self.defaultLimit) {
        self.bucket = bucket
        self.prefix = prefix
        self.s3 = s3
        self.limit = limit
        id = ResourceID("s3.objects", "\(bucket.name)/\(prefix)")
    }

    /// The fixed part of a key template: `recordings/{yyyy}/…` → `recordings/`.
    public static func prefix(ofKeyTemplate template: String) -> String {
        let fixed = template.prefix { $0 != "{" }
        return String(fixed[..<(fixed.lastIndex(of: "/").map { fixed.index(after: $0) } ?? fixed.startIndex)])
    }

    /// What every prefix starts with ("" for none).
    public static func commonPrefix(_ prefixes: [String]) -> String {
        guard var common = prefixes.first else { return "" }
        for prefix in prefixes.dropFirst() {
            // By scalar: a caller's prefix may hold combining marks.
            common = String(String.UnicodeScalarView(zip(common.unicodeScalars, prefix.unicodeScalars).prefix { $0 == $1 }.map(\.0)))
        }
        return common
    }

    public func findings(sourceMap: SourceMap) async throws -> [Finding] {
        let (objects, complete) = try await s3.listObjects(bucket: bucket.name, prefix: prefix, limit: limit)
        guard !objects.isEmpty else { return [] }
        let small = objects.filter { $0.size < Self.smallBytes }
        let smallBytes = small.reduce(0) { $0 + $1.size }
        let allBytes = objects.reduce(0) { $0 + $1.size }
        let figures: JSONValue = .object([
            "objects": .number(Double(objects.count)), "bytes": .number(Double(allBytes)),
            "small_objects": .number(Double(small.count)), "small_bytes": .number(Double(smallBytes)), "complete": .bool(complete),
        ])
        let scope = complete ? "\(objects.count) objects under \(prefix)" : "the first \(objects.count) objects under \(prefix) (by key; the rest were not read)"
        let share = Double(small.count) / Double(objects.count)
        var findings = [Finding(
            resource: id, property: "small_objects", expected: .number(Double(Self.smallBytes)), actual: figures, severity: .note, fixableByApply: false,
            message: "\(small.count) of \(scope) (\(Self.percent(share))) are under 128 KiB: \(ByteCount.text(smallBytes)) of \(ByteCount.text(allBytes))",
            location: sourceMap.location(of: "recordings.key"))]
        guard !small.isEmpty else { return findings }
        // A rule that would bill them as 128 KiB each: what they cost there against what they hold.
        for (index, rule) in (bucket.lifecycle ?? []).enumerated() where prefix.hasPrefix(rule.prefix) || rule.prefix.hasPrefix(prefix) {
            let filtered = rule.minObjectSize ?? 0
            let billed = small.filter { $0.size > filtered }
            guard !billed.isEmpty else { continue }
            for (position, transition) in (rule.transitions ?? []).enumerated() where Spec.Bucket.LifecycleRule.smallObjectClasses.contains(transition.storageClass) {
                findings.append(Finding(
                    resource: id, property: "small_objects", expected: .number(Double(Self.smallBytes)), actual: figures, severity: .warning, fixableByApply: false,
                    message: "rule '\(rule.id)' moves \(billed.count) object\(billed.count == 1 ? "" : "s") under 128 KiB to \(transition.storageClass) after \(transition.days) days, which bills "
                        + "them as \(ByteCount.text(billed.count * Self.smallBytes)) for \(ByteCount.text(billed.reduce(0) { $0 + $1.size })) stored "
                        + "(S3 skips them only while the bucket's TransitionDefaultMinimumObjectSize is all_storage_classes_128K): set min_object_size: \(Self.smallBytes)",
                    location: sourceMap.location(of: "bucket.lifecycle[\(index)].transitions[\(position)].storage_class")))
            }
        }
        return findings
    }

    static func percent(_ share: Double) -> String {
        String(format: "%.1f%%", share * 100)
    }
}

/// Recordings Twilio still holds past the spec's `twilio.recording.keep_in_twilio_days`. Each is
/// a warning's worth together: `recops reconcile --repair` deletes those confirmed stored and
/// linked, and only those.
public struct TwilioRetentionAudit: VerifyAudit {
    public let id = ResourceID("twilio.recordings", "keep_in_twilio_days")
    public let part = SpecPart.twilio
    let keepDays: Int
    let twilio: TwilioClient
    let now: @Sendable () -> Date

    public init(keepDays: Int, twilio: TwilioClient, now: @escaping @Sendable () -> Date) {
        self.keepDays = keepDays
        self.twilio = twilio
        self.now = now
    }

    public func findings(sourceMap: SourceMap) async throws -> [Finding] {
        let old = try await twilio.recordings(olderThanDays: keepDays, now: now())
        guard !old.isEmpty else { return [] }
        let oldest = old.compactMap { $0.dateCreated.flatMap(Twilio.date) }.min()
        let since = oldest.map { " (the oldest from \(ISO8601DateFormatter.string(from: $0, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])))" } ?? ""
        return [Finding(
            resource: id, property: "keep_in_twilio_days", expected: .number(Double(keepDays)), actual: .number(Double(old.count)), severity: .warning,
            fixableByApply: false,
            message: "Twilio holds \(old.count) recording\(old.count == 1 ? "" : "s") older than \(keepDays) days\(since): `recops reconcile --repair` deletes those stored and linked",
            location: sourceMap.location(of: "twilio.recording.keep_in_twilio_days"))]
    }
}

/// Sizes as people read them: `176 KiB`, `18.2 MiB`.
public enum ByteCount {
    public static func text(_ bytes: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard bytes >= 1024 else { return "\(bytes) B" }
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return value >= 100 || value == value.rounded() ? "\(Int(value.rounded())) \(units[unit])" : "\(String(format: "%.1f", value)) \(units[unit])"
    }
}
