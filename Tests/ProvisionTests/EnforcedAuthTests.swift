import AWS
import Foundation
import Provision
import RecopsTesting
import Spec
import Testing

/// moto checking every signature and IAM policy (`INITIAL_NO_AUTH_ACTION_COUNT`): the signer is
/// right, and the pipeline user's policy really is least privilege.
@Suite struct EnforcedAuthTests {
    /// Creates an administrator inside moto's free window and returns its key.
    static func bootstrapAdmin(_ moto: MotoServer) async throws -> AWSCredentials {
        try await moto.administrator()
    }

    @Test func thePipelineUserMayWriteAndReadRecordingsOnly() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await Self.bootstrapAdmin(moto)
            // From here on moto checks every request.
            let anonymous = S3Client(aws: moto.client())
            await #expect(throws: AWSError.self) { _ = try await anonymous.bucketExists("anything") }

            // moto evaluates bucket-policy conditions it does not implement (Bool, StringLike, a
            // missing key) as matching, so our conditional Deny statements would deny every write
            // there. They are checked as documents elsewhere; here only IAM is under test.
            let fixture = try ProvisionFixture(moto: moto, credentials: admin, edit: {
                $0.replacingOccurrences(of: "deny_insecure_transport: true", with: "deny_insecure_transport: false")
                    .replacingOccurrences(of: "deny_public_acls: true", with: "deny_public_acls: false")
            })
            try await fixture.apply()
            #expect(!(await fixture.engine.plan().hasChanges))

            let key = try await IAMClient(aws: moto.client(credentials: admin)).createAccessKey(user: "recording-pipeline")
            let pipeline = S3Client(aws: moto.client(credentials: AWSCredentials(accessKeyID: key.id, secretAccessKey: key.secret)))
            let bucket = ProvisionFixture.bucket
            let audio = Data("ID3 not really audio".utf8)
            try await pipeline.putObject(bucket: bucket, key: "recordings/2024/03/15/CA1-J1.mp3", body: audio, contentType: "audio/mpeg", encryption: S3.Encryption(algorithm: "AES256"))
            #expect(try await pipeline.getObject(bucket: bucket, key: "recordings/2024/03/15/CA1-J1.mp3") == audio)

            let outside = await #expect(throws: AWSError.self) {
                try await pipeline.putObject(bucket: bucket, key: "elsewhere/x.mp3", body: audio, contentType: "audio/mpeg", encryption: nil)
            }
            #expect(outside?.code == "AccessDenied")
            let settings = await #expect(throws: AWSError.self) { _ = try await pipeline.policy(bucket) }
            #expect(settings?.code == "AccessDenied")
            let iamCall = await #expect(throws: AWSError.self) { _ = try await IAMClient(aws: pipeline.aws).user("admin") }
            #expect(iamCall?.isAccessProblem == true)
        }
    }

    @Test func aWrongSecretIsACredentialsFailure() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await Self.bootstrapAdmin(moto)
            let forged = AWSCredentials(accessKeyID: admin.accessKeyID, secretAccessKey: "not-the-secret")
            let fixture = try ProvisionFixture(moto: moto, credentials: forged)
            let plan = await fixture.engine.plan()
            #expect(plan.errors.count == 3)
            #expect(plan.errors.allSatisfy { $0.error?.reason == .credentials || $0.error?.reason == .permissions })
            #expect(plan.errors.allSatisfy { !($0.error?.message.contains("not-the-secret") ?? true) })
        }
    }
}
