import AWS
import Foundation
import RecopsTesting
import Testing

/// CloudTrail's log files, read as AWS publishes them (`Tests/Fixtures/cloudtrail/`).
@Suite struct CloudTrailLogsTests {
    @Test func awsPublishedRecordsAreRead() throws {
        let records = try CloudTrailLogs.records(try TestFixtures.data("cloudtrail/aws-s3-data-events.json"))
        #expect(records.count == 3)
        let put = records[0]
        #expect(put.eventName == "PutObject" && put.eventSource == "s3.amazonaws.com")
        #expect(put.bucket == "BUCKETNAME" && put.key == "OBJECTKEY")
        #expect(put.principal == "arn:aws:sts::123456789012:assumed-role/SomeRole/user-SomeRole")
        #expect(put.sourceIPAddress == "1.2.3.4" && put.awsRegion == "eu-west-1")
        #expect(put.eventTime == ISO8601DateFormatter().date(from: "2020-05-22T08:38:05Z"))
        #expect(put.eventID == "3074546e-1bfa-4973-8502-b1bb4d0bda1a")
        let outposts = records[1]
        #expect(outposts.eventSource == "s3-outposts.amazonaws.com" && outposts.key == "path/upload.sh" && outposts.bucket == "DOC-EXAMPLE-BUCKET1")
        #expect(outposts.principal == "arn:aws:iam::111122223333:user/yourUserName")
        #expect(records[2].eventName == "ListBuckets" && records[2].key == nil)
    }

    @Test func gzippedLogFilesAreInflatedAndBrokenOnesRefused() async throws {
        let plain = try TestFixtures.data("cloudtrail/aws-s3-data-events.json")
        let compressed = try await Gzip.compress(plain)
        #expect(compressed.starts(with: [0x1F, 0x8B]) && compressed.count < plain.count)
        #expect(try CloudTrailLogs.gunzip(compressed) == plain)
        #expect(try CloudTrailLogs.records(compressed) == CloudTrailLogs.records(plain))
        #expect(throws: CloudTrailLogs.Malformed.self) { try CloudTrailLogs.gunzip(compressed.prefix(compressed.count / 2)) }
        #expect(throws: CloudTrailLogs.Malformed.self) { try CloudTrailLogs.records(Data([0x1F, 0x8B, 0x08, 0x00, 0x01, 0x02])) }
        #expect(throws: CloudTrailLogs.Malformed.self) { try CloudTrailLogs.records(Data(#"{"records": []}"#.utf8)) }
        // A record without what the audit needs is skipped, never guessed.
        let partial = Data(#"{"Records": [{"eventName": "GetObject"}, {"eventTime": "2026-12-01T10:00:00Z", "eventName": "GetObject", "eventSource": "s3.amazonaws.com", "userIdentity": {"type": "Anonymous"}}]}"#.utf8)
        let read = try CloudTrailLogs.records(partial)
        #expect(read.count == 1 && read[0].principal == "Anonymous" && read[0].key == nil)
    }

    @Test func logFilesSitUnderTheDocumentedPrefix() {
        let day = ISO8601DateFormatter().date(from: "2026-03-07T23:59:59Z")!
        #expect(CloudTrailLogs.dayPrefix(trailPrefix: nil, account: "123456789012", region: "us-east-1", day: day)
            == "AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/07/")
        #expect(CloudTrailLogs.dayPrefix(trailPrefix: "trails", account: "123456789012", region: "eu-west-1", day: day)
            == "trails/AWSLogs/123456789012/CloudTrail/eu-west-1/2026/03/07/")
    }
}
