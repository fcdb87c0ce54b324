import ArgumentParser
import Foundation
import Spec
import Testing
@testable import recops

@Suite struct ValidateCommandTests {
    static let environment = [
        "APP_URL": "https://rec.example.com",
        "S3_BUCKET": "acme-call-recordings",
        "TWILIO_PHONE_NUMBER": "+15005550006",
        "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN",
        "PATH": "/usr/bin:/bin",
    ]

    @Test func parsesItsOptions() async throws {
        let command = try Recops.parseAsRoot(["validate", "--spec", "other.yaml", "--format", "json"])
        let validate = try #require(command as? ValidateCommand)
        #expect(validate.specOptions.spec == "other.yaml")
        #expect(validate.format == .json)
        let defaults = try #require(try Recops.parseAsRoot(["validate"]) as? ValidateCommand)
        #expect(defaults.specOptions.spec == "infra/policy.yaml")
        #expect(throws: (any Error).self) { try Recops.parseAsRoot(["validate", "--format", "yaml"]) }
    }

    @Test func acceptsTheProjectSpec() async throws {
        let run = try await RecopsBinary.run(["validate"], environment: Self.environment)
        #expect(run.status == 0)
        #expect(run.stdout == "infra/policy.yaml: valid\n")
    }

    @Test func rejectsABrokenSpecWithPositionsAndExit1() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-validate-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = try String(contentsOf: RecopsBinary.repositoryRoot.appendingPathComponent("infra/policy.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "[s3:PutObject, s3:GetObject]", with: "[s3:PutObject, s3:HeadObject]")
        try text.write(to: directory.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)

        let textRun = try await RecopsBinary.run(["validate", "--spec", "broken.yaml"], environment: Self.environment, in: directory)
        #expect(textRun.status == 1)
        #expect(textRun.stdout.hasPrefix("broken.yaml:36:27: error: 's3:HeadObject' is an S3 API operation"))
        #expect(textRun.stdout.hasSuffix("broken.yaml: invalid: 1 error\n"))

        let jsonRun = try await RecopsBinary.run(["validate", "--spec", "broken.yaml", "--format", "json"], environment: Self.environment, in: directory)
        #expect(jsonRun.status == 1)
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(jsonRun.stdout.utf8))
        #expect(report["valid"] == .bool(false))
        guard case .array(let diagnostics)? = report["diagnostics"], let first = diagnostics.first else {
            Issue.record("no diagnostics in \(jsonRun.stdout)")
            return
        }
        #expect(first["severity"] == .string("error"))
        #expect(first["file"] == .string("broken.yaml"))
        #expect(first["line"] == .number(36))
        #expect(first["column"] == .number(27))
    }

    @Test func aMissingVariableNamesItAndWhereItIsUsed() async throws {
        var environment = Self.environment
        environment["S3_BUCKET"] = nil
        let run = try await RecopsBinary.run(["validate"], environment: environment)
        #expect(run.status == 1)
        #expect(run.stdout.contains("infra/policy.yaml:14:9: error: bucket.name: environment variable S3_BUCKET is not set"))
    }

    @Test func printsItsVersion() async throws {
        let run = try await RecopsBinary.run(["--version"], environment: [:])
        #expect(run.status == 0)
        #expect(run.stdout == "\(Recops.version)\n")
    }
}
