import CZlib
import Foundation

/// One record of a CloudTrail log file (`{"Records": [...]}`), the fields the access audit reads.
/// AWS documents the format (CloudTrail record contents); unknown fields are ignored, and a
/// record missing what the audit needs is skipped, never guessed.
public struct CloudTrailRecord: Sendable, Equatable, Codable {
    public var eventTime: Date
    public var eventName: String
    public var eventSource: String
    public var awsRegion: String?
    public var sourceIPAddress: String?
    public var userAgent: String?
    /// `userIdentity.arn`, else its `principalId`, else its `type` (`AWSService`, `Anonymous`…).
    public var principal: String
    public var accessKeyID: String?
    public var bucket: String?
    /// The object key: `requestParameters.key`, else the object's ARN in `resources`.
    public var key: String?
    public var errorCode: String?
    public var eventID: String?
}

public enum CloudTrailLogs {
    public struct Malformed: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The log files of a trail sit under `AWSLogs/{account}/CloudTrail/{region}/{yyyy}/{mm}/{dd}/`
    /// (after the trail's own prefix, if it has one).
    public static func dayPrefix(trailPrefix: String?, account: String, region: String, day: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: day)
        let base = trailPrefix.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? ""
        return base + String(format: "AWSLogs/%@/CloudTrail/%@/%04d/%02d/%02d/", account, region, parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }

    /// The records of one log file: gzip-compressed (as CloudTrail delivers it) or plain JSON.
    public static func records(_ data: Data) throws -> [CloudTrailRecord] {
        let json = data.starts(with: [0x1F, 0x8B]) ? try gunzip(data) : data
        guard let root = try? JSONSerialization.jsonObject(with: json) as? [String: Any], let records = root["Records"] as? [[String: Any]] else {
            throw Malformed(description: "not a CloudTrail log file: no Records array")
        }
        return records.compactMap(record)
    }

    static func record(_ fields: [String: Any]) -> CloudTrailRecord? {
        guard let time = (fields["eventTime"] as? String).flatMap(parseTime), let name = fields["eventName"] as? String,
              let source = fields["eventSource"] as? String else { return nil }
        let identity = fields["userIdentity"] as? [String: Any] ?? [:]
        let parameters = fields["requestParameters"] as? [String: Any] ?? [:]
        let bucket = parameters["bucketName"] as? String
        // S3 writes `key`; S3 on Outposts writes `Key`.
        var key = parameters["key"] as? String ?? parameters["Key"] as? String
        if key == nil, let resources = fields["resources"] as? [[String: Any]] {
            let arn = resources.first { ($0["type"] as? String) == "AWS::S3::Object" }?["ARN"] as? String
            if let arn, let slash = arn.dropFirst("arn:aws:s3:::".count).firstIndex(of: "/") { key = String(arn[arn.index(after: slash)...]) }
        }
        let principal = identity["arn"] as? String ?? identity["principalId"] as? String ?? identity["type"] as? String ?? "unknown"
        return CloudTrailRecord(eventTime: time, eventName: name, eventSource: source, awsRegion: fields["awsRegion"] as? String,
                                sourceIPAddress: fields["sourceIPAddress"] as? String, userAgent: fields["userAgent"] as? String,
                                principal: principal, accessKeyID: identity["accessKeyId"] as? String, bucket: bucket, key: key,
                                errorCode: fields["errorCode"] as? String, eventID: fields["eventID"] as? String)
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// A log file is a few megabytes; more than this uncompressed is refused (a gzip bomb).
    public static let maxUncompressed = 512 << 20

    /// Inflates gzip data (zlib's automatic header detection: gzip or zlib).
    public static func gunzip(_ data: Data) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Malformed(description: "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var input = [UInt8](data)
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw Malformed(description: "not valid gzip data (zlib status \(status))")
                    }
                    output.append(buffer.baseAddress!, count: buffer.count - Int(stream.avail_out))
                }
                guard output.count <= maxUncompressed else { throw Malformed(description: "a log file inflating past \(maxUncompressed >> 20) MiB was refused") }
                if status == Z_OK, stream.avail_in == 0, stream.avail_out != 0 {
                    throw Malformed(description: "truncated gzip data")
                }
            } while status != Z_STREAM_END
        }
        return output
    }
}
