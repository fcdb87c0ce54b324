import ArgumentParser
import Foundation
import PipelineAssembly
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
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines.first?.hasPrefix("infra/policy.yaml:74:17: note: the longest history line is ") == true)
        #expect(lines.last == "infra/policy.yaml: valid")
    }

    /// A spec with `history_line` and `key` replaced, in a directory of its own.
    static func validate(line: String? = nil, key: String? = nil, timestamp: String? = nil, environment: [String: String] = environment) async throws -> RecopsBinary.Run {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-validate-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var text = try String(contentsOf: RecopsBinary.repositoryRoot.appendingPathComponent("infra/policy.yaml"), encoding: .utf8)
        if let line { text = text.replacingOccurrences(of: Self.projectLine, with: line) }
        if let key { text = text.replacingOccurrences(of: Self.projectKey, with: key) }
        if let timestamp { text = text.replacingOccurrences(of: "format: \"yyyy-MM-dd HH:mm:ss\"", with: "format: \"\(timestamp)\"") }
        try text.write(to: directory.appendingPathComponent("spec.yaml"), atomically: true, encoding: .utf8)
        return try await RecopsBinary.run(["validate", "--spec", "spec.yaml", "--format", "json"], environment: environment, in: directory)
    }

    static let projectLine = "---- | {timestamp} | Event: Recording | Source: IVR | URL: {url}"
    static let projectKey = "recordings/{yyyy}/{mm}/{dd}/{call_sid}-{job_id}.mp3"

    /// The longest line is the template with the widest timestamp and the longest presigned URL:
    /// worked out here from AWS's documented query-string form, apart from the code under test.
    @Test func reportsTheLongestLineAndTheURLItAssumes() async throws {
        let run = try await Self.validate()
        #expect(run.status == 0)
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(run.stdout.utf8))
        let estimate = try #require(report["history_line"])
        // recordings/2026/01/01/ + CA…(34) - 64-character job id -99 .mp3, virtual-hosted.
        let key = 22 + 34 + 1 + 64 + 3 + 4
        let host = "https://acme-call-recordings.s3.us-east-1.amazonaws.com/".count
        let query = ["X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=" + HistoryLineEstimate.placeholderKeyID + "%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",
                     "X-Amz-Date=20260101T235959Z", "X-Amz-Expires=900", "X-Amz-SignedHeaders=host", "X-Amz-Signature=" + String(repeating: "0", count: 64)]
        let url = host + key + 1 + query.joined(separator: "&").count
        #expect(estimate["url"] == .number(Double(url)))
        let literal = Self.projectLine.count - "{timestamp}".count - "{url}".count
        #expect(estimate["line"] == .number(Double(literal + "2026-01-01 23:59:59".count + url)))
        #expect(estimate["presigned"] == .bool(true))
        // A session token adds its parameter, its 1,000 characters, and two more for each it encodes.
        let withToken = try #require(estimate["url_with_session_token"]?.numberValue)
        #expect(withToken >= Double(url + "&X-Amz-Security-Token=".count + 1_000))
        #expect(withToken <= Double(url + "&X-Amz-Security-Token=".count + 1_000 * 3))
        #expect(estimate["lines_per_field"] == .number(Double(100_000 / (Int(try #require(estimate["line_with_session_token"]?.numberValue)) + 1))))
        guard case .array(let diagnostics)? = report["diagnostics"] else { Issue.record("no diagnostics"); return }
        #expect(diagnostics.map { $0["severity"] } == [.string("note")])
        #expect(diagnostics.first?["line"] == .number(74))
    }

    /// A stable line holds `{app.url}/r/` and a 24-character id: no signature, no key, no token.
    @Test func aStableLineIsItsTemplateAndAShortLink() async throws {
        let run = try await Self.validate(line: Self.projectLine.replacingOccurrences(of: "{url}", with: "{url}\"\n  links: \"stable"))
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let estimate = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(run.stdout.utf8))["history_line"])
        let url = (Self.environment["APP_URL"] ?? "").count + "/r/".count + 24
        #expect(estimate["links"] == .string("stable") && estimate["presigned"] == .bool(false))
        #expect(estimate["url"] == .number(Double(url)))
        let literal = Self.projectLine.count - "{timestamp}".count - "{url}".count
        #expect(estimate["line"] == .number(Double(literal + "2026-01-01 23:59:59".count + url)))
        #expect(estimate["url_with_session_token"] == nil || estimate["url_with_session_token"] == .null)
    }

    /// A line the field could never hold is an error; one it holds only a few of is a warning.
    /// A wider key lengthens the URL as it would the real one.
    @Test func linesTooLongForTheFieldAreCaught() async throws {
        let words = try await Self.validate(line: "{timestamp} {url}", key: "recordings/{yyyy}/{recording_sid}/{call_sid}-{job_id}.mp3")
        let wordsReport = try JSONDecoder().decode(JSONValue.self, from: Data(words.stdout.utf8))
        let plain = try JSONDecoder().decode(JSONValue.self, from: Data(try await Self.validate(line: "{timestamp} {url}").stdout.utf8))
        let wider = try #require(wordsReport["history_line"]?["url"]?.numberValue), narrower = try #require(plain["history_line"]?["url"]?.numberValue)
        #expect(wider == narrower - Double("2026/01/01/".count) + Double("2026/".count + 34 + 1))

        // The widest day of the year in words: Wednesday 30 September 2026.
        let spelled = try JSONDecoder().decode(JSONValue.self, from: Data(try await Self.validate(line: "{timestamp} {url}", timestamp: "EEEE d MMMM yyyy").stdout.utf8))
        let spelledLine = try #require(spelled["history_line"]?["line"]?.numberValue), spelledURL = try #require(spelled["history_line"]?["url"]?.numberValue)
        #expect(spelledLine - spelledURL == Double("Wednesday 30 September 2026 ".count))

        let crowded = try await Self.validate(line: String(repeating: "x", count: 6_000) + " {url}")
        #expect(crowded.status == 0)
        let crowdedReport = try JSONDecoder().decode(JSONValue.self, from: Data(crowded.stdout.utf8))
        let fits = try #require(crowdedReport["history_line"]?["lines_per_field"]?.numberValue)
        #expect(fits == Double(100_000 / (6_000 + 1 + Int(try #require(crowdedReport["history_line"]?["url_with_session_token"]?.numberValue)) + 1)))
        #expect(crowded.stdout.contains("a history field holds only \(Int(fits)) such lines"))

        let impossible = try await Self.validate(line: String(repeating: "x", count: 99_000) + " {url}")
        #expect(impossible.status == 1)
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(impossible.stdout.utf8))
        #expect(report["valid"] == .bool(false))
        #expect(impossible.stdout.contains("can never be written to a 100000-character history field"))
    }

    @Test func rejectsABrokenSpecWithPositionsAndExit1() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-validate-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = try String(contentsOf: RecopsBinary.repositoryRoot.appendingPathComponent("infra/policy.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "[s3:PutObject, s3:GetObject]", with: "[s3:PutObject, s3:HeadObject]")
        try text.write(to: directory.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)
        let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("[s3:PutObject, s3:HeadObject]") }) + 1

        let textRun = try await RecopsBinary.run(["validate", "--spec", "broken.yaml"], environment: Self.environment, in: directory)
        #expect(textRun.status == 1)
        #expect(textRun.stdout.hasPrefix("broken.yaml:\(line):27: error: 's3:HeadObject' is an S3 API operation"))
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
        #expect(first["line"] == .number(Double(line)))
        #expect(first["column"] == .number(27))
    }

    /// A presigned link dies with the session that signed it: a TTL longer than the role's
    /// sessions (web identity: STS's default hour; a profile: its duration_seconds) is a warning.
    @Test func aLinkLifetimeLongerThanTheRolesSessionsIsAWarning() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-validate-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = try String(contentsOf: RecopsBinary.repositoryRoot.appendingPathComponent("infra/policy.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "signed_url_ttl: 15m", with: "signed_url_ttl: 2h")
        try text.write(to: directory.appendingPathComponent("spec.yaml"), atomically: true, encoding: .utf8)
        var environment = Self.environment
        environment.merge(["AWS_WEB_IDENTITY_TOKEN_FILE": directory.appendingPathComponent("token").path, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/app"]) { $1 }
        let run = try await RecopsBinary.run(["validate", "--spec", "spec.yaml"], environment: environment, in: directory)
        #expect(run.status == 0)
        #expect(run.stdout.contains("warning: recordings.signed_url_ttl: 2h is longer than the 3600 s sessions of web identity (arn:aws:iam::123456789012:role/app)"), "\(run.stdout)")
        try "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\nduration_seconds = 7200\n"
            .write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        let profile = Self.environment.merging(["AWS_CONFIG_FILE": directory.appendingPathComponent("config").path, "AWS_PROFILE": "app", "HOME": directory.path]) { $1 }
        let long = try await RecopsBinary.run(["validate", "--spec", "spec.yaml"], environment: profile, in: directory)
        #expect(!long.stdout.contains("signed_url_ttl"), "two-hour sessions hold two-hour links: \(long.stdout)")
        let short = try await RecopsBinary.run(["validate", "--spec", "spec.yaml"], environment: profile.merging(["AWS_PROFILE": "missing"]) { $1 }, in: directory)
        #expect(!short.stdout.contains("signed_url_ttl"))
        try "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\nduration_seconds = 3600\n"
            .write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        let hour = try await RecopsBinary.run(["validate", "--spec", "spec.yaml"], environment: profile, in: directory)
        #expect(hour.stdout.contains("warning: recordings.signed_url_ttl: 2h is longer than the 3600 s sessions of profile app's role"), "\(hour.stdout)")
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
