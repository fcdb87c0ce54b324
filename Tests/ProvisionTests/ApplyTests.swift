import AWS
import Foundation
import Provision
import RecopsTesting
import Spec
import Testing

@Suite struct ApplyTests {
    /// `object_lock: true`: a new bucket is created with it; an existing one gets versioning,
    /// then Object Lock; either way verify reads it back and a second plan changes nothing.
    @Test(arguments: [true, false]) func objectLockIsAppliedAndVerified(newBucket: Bool) async throws {
        try await MotoServer.with { moto in
            let locked = { (text: String) in
                text.replacingOccurrences(of: "  versioning: false ", with: "  versioning: true\n  object_lock: true ")
            }
            if !newBucket { try await ProvisionFixture(moto: moto).apply() }
            let fixture = try ProvisionFixture(moto: moto, edit: locked)
            #expect(fixture.loaded.spec.bucket?.objectLock == true)
            let plan = try await fixture.apply()
            let bucketPlan = try #require(plan.resources.first)
            if newBucket {
                #expect(bucketPlan.action == .create)
            } else {
                #expect(Set(bucketPlan.changes.map(\.field)) == ["versioning", "object_lock"])
            }
            #expect(try await S3Client(aws: fixture.aws).objectLockEnabled(ProvisionFixture.bucket))
            let second = await fixture.engine.plan()
            #expect(!second.hasChanges && second.errors.isEmpty, "\(second.text)")
            #expect(try await AWSCLI(moto: moto).run(["s3api", "get-object-lock-configuration", "--bucket", ProvisionFixture.bucket]).contains("\"ObjectLockEnabled\": \"Enabled\""))
            // The reads and the change it needs are in the policies recops writes for verify and apply.
            let permissions = fixture.engine.resources.first.map(\.permissions)
            #expect(permissions?.read.flatMap(\.actions).contains("s3:GetBucketObjectLockConfiguration") == true)
            #expect(permissions?.write.flatMap(\.actions).contains("s3:PutBucketObjectLockConfiguration") == true)
        }
    }

    @Test func aFreshApplyCreatesEverythingAndASecondChangesNothing() async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            let first = try await fixture.apply()
            #expect(first.resources.map(\.action) == [.create, .create, .create])
            #expect(first.resources.map(\.id.description) == ["s3.bucket/acme-call-recordings", "iam.user/recording-pipeline", "cloudtrail.trail/recordings-access"])

            let second = await fixture.engine.plan()
            #expect(second.errors.isEmpty)
            #expect(!second.hasChanges, "\(second.text)")
            #expect(second.summary == "No changes: everything matches the spec.")

            // Checked with an independent client: the settings really are there.
            let cli = AWSCLI(moto: moto)
            let encryption = try await cli.run(["s3api", "get-bucket-encryption", "--bucket", ProvisionFixture.bucket])
            #expect(encryption.contains("\"SSEAlgorithm\": \"AES256\""))
            let block = try await cli.run(["s3api", "get-public-access-block", "--bucket", ProvisionFixture.bucket])
            #expect(block.components(separatedBy: "true").count - 1 == 4)
            let policy = try await cli.run(["s3api", "get-bucket-policy", "--bucket", ProvisionFixture.bucket])
            #expect(policy.contains("aws:SecureTransport"))
            let lifecycle = try await cli.run(["s3api", "get-bucket-lifecycle-configuration", "--bucket", ProvisionFixture.bucket])
            #expect(lifecycle.contains("STANDARD_IA") && lifecycle.contains("365"))
            let userPolicy = try await cli.run(["iam", "get-user-policy", "--user-name", "recording-pipeline", "--policy-name", "recording-pipeline-s3"])
            #expect(userPolicy.contains("s3:PutObject") && userPolicy.contains("arn:aws:s3:::acme-call-recordings/recordings/*"))
            // apply never creates access keys.
            let keys = try await cli.run(["iam", "list-access-keys", "--user-name", "recording-pipeline"])
            #expect(keys.contains("\"AccessKeyMetadata\": []"))
        }
    }

    @Test func aPlanOfAnExistingBucketIsOneWaveOfReads() async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            try await fixture.apply()
            let before = fixture.counter.count
            _ = await fixture.engine.plan()
            // bucket: 7 reads, user: 6, trail: 3, all at once.
            #expect(fixture.counter.count - before == 16)
        }
    }

    @Test func awsDefaultsAreNotDrift() async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            try await fixture.apply()
            // Settings the spec does not declare, as AWS adds them (BucketKeyEnabled, another
            // rule field), must not show up.
            try await AWSCLI(moto: moto).run(["s3api", "put-bucket-encryption", "--bucket", ProvisionFixture.bucket, "--server-side-encryption-configuration",
                                        #"{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BucketKeyEnabled":false}]}"#])
            let plan = await fixture.engine.plan()
            #expect(!plan.hasChanges, "\(plan.text)")
        }
    }

    @Test func aBucketPolicyIsComparedAsADocument() async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            try await fixture.apply()
            // The same statements, reordered, with one-element arrays as strings and "*" as {"AWS": "*"}.
            let s3 = S3Client(aws: fixture.aws)
            let current = try #require(try await s3.policy(ProvisionFixture.bucket))
            var document = try JSONDecoder().decode(JSONValue.self, from: Data(current.utf8))
            guard case .object(var object) = document, case .array(let statements)? = object["Statement"] else {
                Issue.record("policy is not a document")
                return
            }
            object["Statement"] = .array(statements.reversed().map { statement in
                guard case .object(var fields) = statement else { return statement }
                if case .array(let actions)? = fields["Action"], actions.count == 1 { fields["Action"] = actions[0] }
                if fields["Principal"] == .string("*") { fields["Principal"] = .object(["AWS": .string("*")]) }
                return .object(fields)
            })
            document = .object(object)
            try await AWSCLI(moto: moto).run(["s3api", "put-bucket-policy", "--bucket", ProvisionFixture.bucket, "--policy", document.encoded()])
            let plan = await fixture.engine.plan()
            #expect(!plan.hasChanges, "\(plan.text)")
        }
    }
}
