import AWS
import Foundation
import RecopsTesting
import Testing
import Transport

/// Object Lock against moto, which enforces legal holds: a held version cannot be deleted, the
/// way lifecycle expiration could not delete it either.
@Suite struct S3ObjectLockTests {
    @Test func aHeldVersionCannotBeDeletedUntilReleased() async throws {
        try await MotoServer.with { moto in
            let s3 = S3Client(aws: moto.client())
            try await s3.createBucket("plain", objectOwnership: nil)
            #expect(try await s3.objectLockEnabled("plain") == false)
            try await s3.createBucket("locked", objectOwnership: nil, objectLock: true)
            #expect(try await s3.objectLockEnabled("locked"))
            #expect(try await s3.versioning("locked") == "Enabled", "Object Lock turns versioning on")

            let key = "recordings/2026/12/01/CA1-J-1001.mp3"
            for body in ["first", "second"] {
                _ = try await s3.putObject(bucket: "locked", key: key, body: Data(body.utf8), contentType: "audio/mpeg", encryption: nil)
            }
            _ = try await s3.putObject(bucket: "locked", key: key + "-2", body: Data("other".utf8), contentType: "audio/mpeg", encryption: nil)
            let versions = try await s3.versions(bucket: "locked", key: key)
            #expect(versions.count == 2 && versions.allSatisfy { $0.key == key && !$0.isDeleteMarker }, "a longer key sharing the prefix is not a version")

            for version in versions {
                #expect(try await s3.legalHold(bucket: "locked", key: key, versionID: version.versionID) == false)
                try await s3.setLegalHold(bucket: "locked", key: key, versionID: version.versionID, on: true)
                #expect(try await s3.legalHold(bucket: "locked", key: key, versionID: version.versionID))
            }
            // Deleting a held version, as an erasure or an expiration would: refused.
            await #expect(throws: AWSError.self) { try await s3.deleteVersion(bucket: "locked", key: key, versionID: versions[0].versionID) }
            do {
                try await s3.deleteVersion(bucket: "locked", key: key, versionID: versions[1].versionID)
                Issue.record("a held version was deleted")
            } catch let error as AWSError {
                #expect(error.code == "AccessDenied" && error.status == 403)
            }
            #expect(try await s3.versions(bucket: "locked", key: key).count == 2)

            for version in versions { try await s3.setLegalHold(bucket: "locked", key: key, versionID: version.versionID, on: false) }
            for version in versions { try await s3.deleteVersion(bucket: "locked", key: key, versionID: version.versionID) }
            #expect(try await s3.versions(bucket: "locked", key: key).isEmpty)
            #expect(try await s3.headObject(bucket: "locked", key: key) == nil)
        }
    }

    @Test func objectLockIsTurnedOnForAVersionedBucket() async throws {
        try await MotoServer.with { moto in
            let s3 = S3Client(aws: moto.client())
            try await s3.createBucket("later", objectOwnership: nil)
            // S3 refuses it for a bucket that is not versioned.
            await #expect(throws: AWSError.self) { try await s3.enableObjectLock("later") }
            try await s3.putVersioning("later", enabled: true)
            try await s3.enableObjectLock("later")
            #expect(try await s3.objectLockEnabled("later"))
        }
    }
}
