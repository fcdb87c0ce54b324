import AWS
import Foundation
import RecopsTesting
import Testing

@Suite struct CloudTrailClientTests {
    @Test func trailStatusAndSelectors() async throws {
        try await MotoServer.with { moto in
            let aws = moto.client()
            let trails = CloudTrailClient(aws: aws)
            try await S3Client(aws: aws).createBucket("trail-logs", objectOwnership: nil)
            #expect(try await trails.trail("audit") == nil)
            try await trails.createTrail(name: "audit", bucket: "trail-logs")
            #expect(try await trails.trail("audit")?.S3BucketName == "trail-logs")
            #expect(try await trails.isLogging("audit") == false)
            try await trails.startLogging("audit")
            #expect(try await trails.isLogging("audit"))
            let selector = CloudTrailClient.EventSelector(readWriteType: "All", includeManagementEvents: true,
                                                          dataResources: [.init(type: "AWS::S3::Object", values: ["arn:aws:s3:::rec/"])])
            try await trails.putEventSelectors("audit", [selector])
            #expect(try await trails.eventSelectors("audit") == [selector])
        }
    }
}
