import AWS
import Foundation
import Pipeline
import RecopsTesting
import Testing

/// `recordings hold` on recordings the live pipeline stored: every version of each is held, so
/// a delete of any of them (an erasure, a lifecycle expiration) is refused by S3 until release.
@Suite struct RecordingHoldTests {
    @Test func aHeldRecordingSurvivesADeleteOfEveryVersionUntilReleased() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                // What `object_lock: true` makes of the bucket (ApplyTests applies it; S3 allows it on an empty versioned bucket).
                try await fixture.s3.putVersioning(PipelineFixture.bucket, enabled: true)
                try await fixture.s3.enableObjectLock(PipelineFixture.bucket)

                let (first, _) = try await fixture.recordedCall(job: "J-1001")
                let (second, _) = try await fixture.recordedCall(job: "J-1001")
                let (other, _) = try await fixture.recordedCall(job: "J-1002")
                _ = try await fixture.settle(expecting: 3)
                let holds = fixture.assembled.recordingHolds()

                let held = try await holds.set(.job("J-1001"), on: true)
                #expect(Set(held.map(\.recordingSid)) == [first, second] && held.allSatisfy { $0.held && $0.versions.count == 1 })
                #expect(try await holds.status(.recording(other)).map(\.held) == [false])
                #expect(try await holds.status(.call(try #require(try await fixture.store.job(first)?.callSid))).map(\.held) == [true])

                for recording in held {
                    let version = try #require(recording.versions.first)
                    do {
                        try await fixture.s3.deleteVersion(bucket: PipelineFixture.bucket, key: recording.key, versionID: version)
                        Issue.record("a held version was deleted")
                    } catch let error as AWSError {
                        #expect(error.code == "AccessDenied")
                    }
                    #expect(try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: recording.key) != nil)
                }

                let released = try await holds.set(.job("J-1001"), on: false)
                #expect(released.allSatisfy { !$0.held })
                #expect(try await holds.status(.job("J-1001")).allSatisfy { !$0.held })
                let key = try #require(released.first?.key)
                try await fixture.s3.deleteVersion(bucket: PipelineFixture.bucket, key: key, versionID: try #require(released.first?.versions.first))
                #expect(try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: key) == nil)

                // A name that matches nothing of that kind is refused, not read as another kind.
                await #expect(throws: RecordingHolds.Refused.self) { try await holds.set(.call("J-1001"), on: true) }
            }
        }
    }

    @Test func aBucketWithoutObjectLockIsRefusedAsAWSWouldRefuseIt() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                let (sid, _) = try await fixture.recordedCall(job: "J-1003")
                _ = try await fixture.settle(expecting: 1)
                do {
                    _ = try await fixture.assembled.recordingHolds().set(.recording(sid), on: true)
                    Issue.record("held without Object Lock")
                } catch let refused as RecordingHolds.Refused {
                    #expect(refused.description.contains("has no Object Lock, so nothing can be held: set bucket.object_lock: true"))
                }
                let key = try #require(try await fixture.store.job(sid)?.objectKey)
                #expect(try await fixture.s3.versions(bucket: PipelineFixture.bucket, key: key).count == 1)
            }
        }
    }
}
