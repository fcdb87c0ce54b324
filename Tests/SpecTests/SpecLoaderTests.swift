import Foundation
import Testing
@testable import Spec

@Suite struct SpecLoaderTests {
    @Test func theProjectSpecIsValidWithTheRunbookEnvironment() throws {
        let result = SpecLoader(environment: SpecFixture.environment).validate(path: SpecFixture.policyPath)
        #expect(result.diagnostics == [])
        let spec = try #require(result.loaded?.spec)
        #expect(spec.bucket?.name == "acme-call-recordings")
        #expect(spec.aws?.region == "us-east-1")
        #expect(spec.bucket?.lifecycle?.first?.expirationDays == 365)
        #expect(spec.bucket?.lifecycle?.first?.transitions == [.init(days: 90, storageClass: "STANDARD_IA")])
        #expect(spec.iam?.resources == ["arn:aws:s3:::acme-call-recordings/recordings/*"])
        #expect(spec.twilio?.numbers.first?.voice == .init(url: "https://rec.example.com/api/twilio/voice", method: "POST"))
        #expect(spec.recordings?.signedUrlTtl.seconds == 900)
        #expect(spec.recordings?.publicUrl == false)
        #expect(spec.airtable?.table == "Jobs")
    }

    @Test func defaultsFillWhatTheFileLeavesOut() throws {
        var env = SpecFixture.environment
        env["RECORDING_RETENTION_DAYS"] = "400"
        env["AIRTABLE_TABLE"] = "Work Orders"
        let text = try SpecFixture.policyText
            .replacingOccurrences(of: "  upload: { attempts: 3, backoff: exponential }\n", with: "")
            .replacingOccurrences(of: "  history_retry_within: 15m\n", with: "")
        let loaded = try #require(SpecLoader(environment: env).validate(yaml: text, file: "p.yaml").loaded)
        #expect(loaded.spec.recordings?.upload == .init(attempts: 3, backoff: .exponential))
        #expect(loaded.spec.recordings?.historyRetryWithin.seconds == 900)
        #expect(loaded.spec.bucket?.lifecycle?.first?.expirationDays == 400)
        #expect(loaded.spec.airtable?.table == "Work Orders")
        // A defaulted value points at its nearest written parent.
        #expect(loaded.sourceMap.location(of: "recordings.upload.attempts") == loaded.sourceMap.location(of: "recordings"))
        #expect(loaded.sourceMap.location(of: "recordings.key") != loaded.sourceMap.location(of: "recordings"))
    }

    @Test func aPartLeftOutNeedsNoneOfItsVariables() throws {
        // Only AWS's variables are set: twilio, airtable and app are not read at all.
        let env = ["S3_BUCKET": "acme-call-recordings"]
        let result = SpecLoader(environment: env).validate(path: SpecFixture.policyPath, parts: [.aws])
        #expect(result.diagnostics == [])
        let spec = try #require(result.loaded?.spec)
        #expect(spec.bucket != nil && spec.iam != nil)
        #expect(spec.twilio == nil && spec.airtable == nil && spec.app == nil)

        let full = SpecLoader(environment: env).validate(path: SpecFixture.policyPath)
        #expect(full.loaded == nil)
        #expect(full.diagnostics.contains { $0.message.contains("APP_URL is not set") })
    }

    @Test func aMissingFileIsAClearError() {
        let result = SpecLoader(environment: [:]).validate(path: "/nonexistent/policy.yaml")
        #expect(result.diagnostics.map(\.description) == ["/nonexistent/policy.yaml:1:1: error: cannot read the spec: no such file (pass another with --spec PATH)"])
    }

    @Test func theLoaderThrowsEveryErrorTogether() throws {
        let error = #expect(throws: SpecError.self) {
            try SpecLoader(environment: [:]).load(path: SpecFixture.policyPath)
        }
        let messages = try #require(error).diagnostics.map(\.message)
        for variable in ["APP_URL", "S3_BUCKET", "TWILIO_PHONE_NUMBER", "AIRTABLE_BASE_ID"] {
            #expect(messages.contains { $0.contains("\(variable) is not set") }, "\(variable)")
        }
    }

    @Test func valuesCannotInjectYAMLStructure() throws {
        var env = SpecFixture.environment
        env["S3_REGION"] = "us-east-1\nextra: key"
        let result = SpecLoader(environment: env).validate(path: SpecFixture.policyPath)
        #expect(result.loaded == nil)
        #expect(result.diagnostics.map(\.message) == ["'aws.region' is 'us-east-1\nextra: key', which is not an AWS region name such as us-east-1"])
    }
}
