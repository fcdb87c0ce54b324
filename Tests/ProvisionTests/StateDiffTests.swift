import Foundation
import Provision
import Spec
import Testing

@Suite struct StateDiffTests {
    struct Settings: Codable, Equatable {
        var algorithm: String?
        var nested: Nested?
        var owned: [String]?
        struct Nested: Codable, Equatable {
            var a: Int?
            var b: Int?
        }
    }

    @Test func comparesOnlyWhatTheDesiredStateDeclares() {
        let desired = Settings(algorithm: "AES256", nested: .init(a: 1, b: nil), owned: nil)
        let observed = Settings(algorithm: "AES256", nested: .init(a: 1, b: 99), owned: ["added-by-aws"])
        #expect(StateDiff.compare(desired: desired, observed: observed) == [])
    }

    @Test func reportsEachDifferingLeafWithOldAndNew() {
        let desired = Settings(algorithm: "AES256", nested: .init(a: 1, b: 2), owned: ["x"])
        let observed = Settings(algorithm: "aws:kms", nested: .init(a: 1, b: 3), owned: ["x"])
        #expect(StateDiff.compare(desired: desired, observed: observed) == [
            FieldChange(field: "algorithm", expected: .string("AES256"), actual: .string("aws:kms")),
            FieldChange(field: "nested.b", expected: .number(2), actual: .number(3)),
        ])
    }

    @Test func arraysAreOwnedWhole() {
        let desired = Settings(owned: [])
        let observed = Settings(owned: ["extra-policy"])
        let changes = StateDiff.compare(desired: desired, observed: observed)
        #expect(changes == [FieldChange(field: "owned", expected: .array([]), actual: .array([.string("extra-policy")]))])
        #expect(changes.first?.symbol == "-")
    }

    @Test func anAbsentResourceListsEveryDesiredLeaf() {
        let changes = StateDiff.compare(desired: Settings(algorithm: "AES256", nested: .init(a: 1), owned: []), observed: nil)
        #expect(changes.map(\.field) == ["algorithm", "nested.a", "owned"])
        #expect(changes.allSatisfy { $0.actual == nil && $0.symbol == "+" })
    }
}

@Suite struct PolicyDocumentTests {
    @Test func equivalentDocumentsAreEqualWhenCanonical() throws {
        let a = #"{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/recordings/*"},{"Sid":"A","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#
        let b = #"{"Statement":[{"Principal":{"AWS":["*"]},"Effect":"Deny","Sid":"A","Action":["s3:*"],"Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"],"Condition":{"Bool":{"aws:SecureTransport":["false"]}}},{"Sid":"B","Effect":"Allow","Action":["s3:PutObject","s3:GetObject","s3:GetObject"],"Resource":["arn:aws:s3:::b/recordings/*"]}],"Version":"2012-10-17"}"#
        #expect(PolicyDocument.canonical(text: a) == PolicyDocument.canonical(text: b))
    }

    @Test func aChangeInMeaningIsNotHidden() {
        let a = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/recordings/*"}]}"#
        let b = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#
        #expect(PolicyDocument.canonical(text: a) != PolicyDocument.canonical(text: b))
        #expect(PolicyDocument.canonical(text: "not json") == nil)
    }

    @Test func theBucketPolicyFollowsThePartitionAndTheSpec() {
        let policy = PolicyDocument.bucketPolicy(bucket: "rec", partition: .china, policy: .init(denyInsecureTransport: true, denyPublicAcls: false), cloudTrailLogs: false)
        let text = policy.encoded()
        #expect(text.contains("arn:aws-cn:s3:::rec/*"))
        #expect(text.contains("DenyInsecureTransport"))
        #expect(!text.contains("DenyPublicObjectAcls"))
        #expect(!text.contains("cloudtrail"))
    }
}

@Suite struct PermissionsTests {
    /// `recops iam-policy` must grant real actions: each one is checked against the S3 list the
    /// spec lint uses (IAM would accept a misspelt one and grant nothing).
    @Test func everyS3ActionRecopsAsksForExists() throws {
        let loaded = try #require(SpecLoader(environment: ["S3_BUCKET": "rec-bucket"]).validate(path: ProvisionFixtureSpec.path, parts: [.aws]).loaded)
        let aws = AWSClientForPermissions.make()
        let grants = AWSResources.make(spec: loaded.spec, aws: aws, now: { Date() }).flatMap { $0.permissions.read + $0.permissions.write }
        let s3 = grants.flatMap(\.actions).filter { $0.hasPrefix("s3:") }
        #expect(!s3.isEmpty)
        for action in s3 {
            #expect(S3Actions.all.contains(String(action.dropFirst(3))), "\(action)")
        }
        let readOnly = AWSResources.make(spec: loaded.spec, aws: aws, now: { Date() }).flatMap(\.permissions.read).flatMap(\.actions)
        #expect(readOnly.allSatisfy { $0.split(separator: ":")[1].hasPrefix("Get") || $0.split(separator: ":")[1].hasPrefix("List") })
    }
}

import AWS
import Logging
import Transport

enum ProvisionFixtureSpec {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("infra/policy.yaml").path
}

/// A client that is never sent through: the permissions test only asks resources what they call.
enum AWSClientForPermissions {
    static func make() -> AWSClient {
        AWSClient(configuration: AWSConfiguration(credentials: AWSCredentials(accessKeyID: "", secretAccessKey: ""), region: "us-east-1"),
                  transport: AsyncHTTPClientTransport(), now: { Date() }, logger: Logger(label: "test"))
    }
}
