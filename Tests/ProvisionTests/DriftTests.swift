import AWS
import Foundation
import Provision
import RecopsTesting
import Spec
import Testing

/// Each setting of the spec changed out of band with the AWS CLI: reported with the right
/// property, and repaired by apply.
@Suite struct DriftTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var drift: [[String]]
        var resource: String
        var field: String
        var testDescription: String { name }
    }

    static let bucket = ProvisionFixture.bucket
    static let user = "recording-pipeline"
    static let publicRead = #"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-call-recordings/*"}]}"#
    static let anything = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#

    static let cases: [Case] = [
        Case(name: "encryption algorithm", drift: [["s3api", "put-bucket-encryption", "--bucket", bucket, "--server-side-encryption-configuration",
                                                    #"{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"alias/x"}}]}"#]],
             resource: "s3.bucket/\(bucket)", field: "encryption.algorithm"),
        Case(name: "public access block", drift: [["s3api", "put-public-access-block", "--bucket", bucket, "--public-access-block-configuration",
                                                   "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=true"]],
             resource: "s3.bucket/\(bucket)", field: "public_access_block.block_public_policy"),
        Case(name: "public access block removed", drift: [["s3api", "delete-public-access-block", "--bucket", bucket]],
             resource: "s3.bucket/\(bucket)", field: "public_access_block"),
        Case(name: "object ownership", drift: [["s3api", "put-bucket-ownership-controls", "--bucket", bucket, "--ownership-controls", "Rules=[{ObjectOwnership=ObjectWriter}]"]],
             resource: "s3.bucket/\(bucket)", field: "object_ownership"),
        Case(name: "policy replaced by a public one", drift: [["s3api", "put-bucket-policy", "--bucket", bucket, "--policy", publicRead]],
             resource: "s3.bucket/\(bucket)", field: "policy"),
        Case(name: "policy deleted", drift: [["s3api", "delete-bucket-policy", "--bucket", bucket]],
             resource: "s3.bucket/\(bucket)", field: "policy"),
        Case(name: "lifecycle changed", drift: [["s3api", "put-bucket-lifecycle-configuration", "--bucket", bucket, "--lifecycle-configuration",
                                                 #"{"Rules":[{"ID":"RecordingRetention","Filter":{"Prefix":"recordings/"},"Status":"Enabled","Expiration":{"Days":30}}]}"#]],
             resource: "s3.bucket/\(bucket)", field: "lifecycle"),
        Case(name: "lifecycle deleted", drift: [["s3api", "delete-bucket-lifecycle", "--bucket", bucket]],
             resource: "s3.bucket/\(bucket)", field: "lifecycle"),
        Case(name: "versioning enabled", drift: [["s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled"]],
             resource: "s3.bucket/\(bucket)", field: "versioning"),
        Case(name: "inline policy widened", drift: [["iam", "put-user-policy", "--user-name", user, "--policy-name", "recording-pipeline-s3", "--policy-document", anything]],
             resource: "iam.user/\(user)", field: "inline_policy"),
        Case(name: "extra inline policy", drift: [["iam", "put-user-policy", "--user-name", user, "--policy-name", "extra", "--policy-document", anything]],
             resource: "iam.user/\(user)", field: "other_inline_policies"),
        Case(name: "attached policy", drift: [["iam", "create-policy", "--policy-name", "Everything", "--policy-document", anything],
                                              ["iam", "attach-user-policy", "--user-name", user, "--policy-arn", "arn:aws:iam::123456789012:policy/Everything"]],
             resource: "iam.user/\(user)", field: "attached_policies"),
        Case(name: "group membership", drift: [["iam", "create-group", "--group-name", "admins"], ["iam", "add-user-to-group", "--user-name", user, "--group-name", "admins"]],
             resource: "iam.user/\(user)", field: "groups"),
        Case(name: "trail stopped", drift: [["cloudtrail", "stop-logging", "--name", "recordings-access"]],
             resource: "cloudtrail.trail/recordings-access", field: "logging"),
        Case(name: "trail data events removed", drift: [["cloudtrail", "put-event-selectors", "--trail-name", "recordings-access", "--event-selectors",
                                                         #"[{"ReadWriteType":"All","IncludeManagementEvents":true,"DataResources":[]}]"#]],
             resource: "cloudtrail.trail/recordings-access", field: "s3_data_events"),
    ]

    @Test(arguments: cases) func reportedAndRepaired(_ test: Case) async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            try await fixture.apply()
            let cli = AWSCLI(moto: moto)
            for command in test.drift { try await cli.run(command) }

            let drifted = await fixture.engine.plan()
            let resource = try #require(drifted.resources.first { $0.id.description == test.resource })
            #expect(resource.action == .update)
            #expect(resource.changes.map(\.field) == [test.field], "\(drifted.text)")
            // Only the drifted resource changes.
            #expect(drifted.changed.map(\.id.description) == [test.resource])

            try await fixture.engine.apply(drifted)
            let repaired = await fixture.engine.plan()
            #expect(!repaired.hasChanges, "\(repaired.text)")
        }
    }
}
