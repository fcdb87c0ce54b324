import AWS
import Foundation
import RecopsTesting
import Testing
import Transport

@Suite struct S3ClientTests {
    @Test func bucketSettingsRoundTrip() async throws {
        try await MotoServer.with { moto in
            let s3 = S3Client(aws: moto.client())
            let bucket = "rt-bucket"
            #expect(try await s3.bucketExists(bucket) == false)
            #expect(try await s3.bucketLocation(bucket) == nil)
            try await s3.createBucket(bucket, objectOwnership: "BucketOwnerEnforced")
            #expect(try await s3.bucketExists(bucket))
            #expect(try await s3.bucketLocation(bucket) == "us-east-1")
            #expect(try await s3.ownership(bucket) == "BucketOwnerEnforced")

            #expect(try await s3.publicAccessBlock(bucket) == nil)
            let block = S3.PublicAccessBlock(blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: true)
            try await s3.putPublicAccessBlock(bucket, block)
            #expect(try await s3.publicAccessBlock(bucket) == block)

            try await s3.putEncryption(bucket, S3.Encryption(algorithm: "aws:kms", kmsKeyID: "alias/recordings"))
            #expect(try await s3.encryption(bucket)?.algorithm == "aws:kms")
            #expect(try await s3.encryption(bucket)?.kmsKeyID == "alias/recordings")

            #expect(try await s3.policy(bucket) == nil)
            let policy = #"{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::rt-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#
            try await s3.putPolicy(bucket, policy)
            #expect(try await s3.policy(bucket)?.contains("DenyInsecure") == true)
            try await s3.deletePolicy(bucket)
            #expect(try await s3.policy(bucket) == nil)

            #expect(try await s3.lifecycle(bucket) == nil)
            let rules = [S3.LifecycleRule(id: "Retention", prefix: "recordings/", transitions: [.init(days: 90, storageClass: "STANDARD_IA")], expirationDays: 365,
                                          minObjectSize: 131_072),
                         S3.LifecycleRule(id: "Scratch", prefix: "tmp/", expirationDays: 7)]
            try await s3.putLifecycle(bucket, rules)
            // moto 5.2.1 accepts the size filter but keeps only And's Prefix and Tags. This pins
            // that gap (the fixtures strip the filter for moto, MotoGaps): when moto learns the
            // filter this fails, and the stripping can go. The XML itself is checked against
            // AWS's documented shapes in S3LifecycleXMLTests.
            var asMotoKeepsThem = rules
            asMotoKeepsThem[0].minObjectSize = nil
            #expect(try await s3.lifecycle(bucket) == asMotoKeepsThem)

            #expect(try await s3.versioning(bucket) == nil)
            try await s3.putVersioning(bucket, enabled: true)
            #expect(try await s3.versioning(bucket) == "Enabled")
            try await s3.putVersioning(bucket, enabled: false)
            #expect(try await s3.versioning(bucket) == "Suspended")
        }
    }

    @Test func objectsCarryChecksumEncryptionAndPresignedURLs() async throws {
        try await MotoServer.with { moto in
            let s3 = S3Client(aws: moto.client())
            try await s3.createBucket("obj-bucket", objectOwnership: nil)
            let body = Data((0..<10_000).map { UInt8($0 % 251) })
            let key = "recordings/2024/03/15/CA1 with space-J+1.mp3"
            try await s3.putObject(bucket: "obj-bucket", key: key, body: body, contentType: "audio/mpeg", encryption: S3.Encryption(algorithm: "AES256"))
            let info = try #require(try await s3.headObject(bucket: "obj-bucket", key: key))
            #expect(info.size == body.count)
            #expect(info.contentType == "audio/mpeg")
            #expect(info.serverSideEncryption == "AES256")
            #expect(try await s3.getObject(bucket: "obj-bucket", key: key) == body)
            #expect(try await s3.headObject(bucket: "obj-bucket", key: "recordings/missing.mp3") == nil)

            // A second write of the same key with If-None-Match is refused, not an overwrite.
            await #expect(throws: AWSError.self) {
                try await s3.putObject(bucket: "obj-bucket", key: key, body: Data("other".utf8), contentType: "audio/mpeg", encryption: nil, ifNoneMatch: true)
            }
            #expect(try await s3.getObject(bucket: "obj-bucket", key: key) == body)

            let url = try await s3.presignedGetURL(bucket: "obj-bucket", key: key, expires: 900)
            #expect(url.query?.contains("X-Amz-Signature=") == true)
            #expect(url.query?.contains("X-Amz-Expires=900") == true)
            let fetched = try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: url))
            #expect(fetched.status == 200)
            #expect(fetched.body == body)
        }
    }

    @Test func errorsCarryCodeStatusAndRequestIDButNoSecret() async throws {
        try await MotoServer.with { moto in
            let s3 = S3Client(aws: moto.client())
            let error = await #expect(throws: AWSError.self) {
                _ = try await s3.getObject(bucket: "no-such-bucket", key: "x")
            }
            let failure = try #require(error)
            #expect(failure.code == "NoSuchBucket")
            #expect(failure.status == 404)
            #expect(failure.operation == "GetObject")
            #expect(!failure.isRetryable)
            #expect(!failure.description.contains(MotoServer.bootstrapCredentials.secretAccessKey))
        }
    }
}
