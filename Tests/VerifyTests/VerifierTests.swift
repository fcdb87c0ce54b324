import AWS
import Foundation
import Provision
import RecopsTesting
import Spec
import Testing
import Transport
import Verify

@Suite struct VerifierTests {
    @Test func inSyncAfterApplyThenDriftPointingAtTheSpec() async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            try await fixture.apply()
            let verifier = Verifier(engine: fixture.engine, sourceMap: fixture.loaded.sourceMap)
            #expect(await verifier.run().status == .inSync)

            try await AWSCLI(moto: moto).run(["s3api", "put-bucket-versioning", "--bucket", ProvisionFixture.bucket, "--versioning-configuration", "Status=Enabled"])
            let report = await verifier.run()
            #expect(report.status == .drift)
            let finding = try #require(report.findings.first)
            #expect(report.findings.count == 1)
            #expect(finding.resource.description == "s3.bucket/acme-call-recordings")
            #expect(finding.property == "versioning")
            #expect(finding.expected == .bool(false))
            #expect(finding.actual == .bool(true))
            #expect(finding.fixableByApply)
            // versioning is declared on line 23 of the spec; the annotation points there.
            let specText = try String(contentsOfFile: ProvisionFixture.specPath, encoding: .utf8)
            let line = specText.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("versioning: false") }! + 1
            #expect(finding.location.line == line)

            // Read-only: verifying again finds the same drift; nothing was repaired.
            #expect(await verifier.run().findings.map(\.property) == ["versioning"])
        }
    }

    @Test func accessKeyChecksFailAndApplyCannotFixThem() async throws {
        try await MotoServer.with { moto in
            // Pretend it is 100 days from now: the key will be older than the 90-day limit.
            let fixture = try ProvisionFixture(moto: moto, now: { Date().addingTimeInterval(100 * 86400) })
            try await fixture.apply()
            let cli = AWSCLI(moto: moto)
            try await cli.run(["iam", "create-access-key", "--user-name", "recording-pipeline"])
            try await cli.run(["iam", "create-access-key", "--user-name", "recording-pipeline"])

            let report = await Verifier(engine: fixture.engine, sourceMap: fixture.loaded.sourceMap).run()
            #expect(report.status == .drift)
            let checks = report.findings.filter { $0.severity == .failedCheck }
            #expect(checks.count == 3)  // two active keys, each too old
            #expect(checks.allSatisfy { !$0.fixableByApply })
            #expect(checks.contains { $0.message.contains("2 active access keys") && $0.message.contains("recops keys rotate") })
            #expect(checks.contains { $0.property.hasSuffix(".age") && $0.message.contains("100 days old (limit 90)") })

            // apply has nothing it may change, and creates no key.
            let plan = await fixture.engine.plan()
            #expect(!plan.hasChanges && plan.hasFailures)
            #expect(try await IAMClient(aws: fixture.aws).accessKeys("recording-pipeline").count == 2)
        }
    }

    @Test func unreachableAWSIsCouldNotCheckNeverInSync() async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            try await fixture.apply()
            moto.process.killNow()
            let report = await Verifier(engine: fixture.engine, sourceMap: fixture.loaded.sourceMap).run()
            #expect(report.status == .unknown)
            #expect(report.failures.count == 3)
            #expect(report.failures.allSatisfy { $0.reason.reason == .network })
            #expect(report.render(.text).contains("Could not check 3 resources: no conclusion."))
        }
    }

    @Test func formats() throws {
        let location = SourceLocation(file: "infra/policy.yaml", line: 23, column: 15)
        let report = VerifyReport(
            findings: [Finding(resource: ResourceID("s3.bucket", "b"), property: "versioning", expected: .bool(false), actual: .bool(true),
                               severity: .drift, fixableByApply: true, message: "versioning is true, the spec says false", location: location)],
            failures: [], checked: [ResourceID("s3.bucket", "b"), ResourceID("iam.user", "u")], requestCount: 16, duration: nil)

        let json = try JSONDecoder().decode(JSONValue.self, from: Data(report.render(.json).utf8))
        #expect(json["status"] == .string("drift"))
        guard case .array(let findings)? = json["findings"], let first = findings.first else {
            Issue.record("no findings")
            return
        }
        #expect(first["resource"] == .string("s3.bucket/b"))
        #expect(first["property"] == .string("versioning"))
        #expect(first["expected"] == .bool(false))
        #expect(first["actual"] == .bool(true))
        #expect(first["severity"] == .string("drift"))
        #expect(first["fixable_by_apply"] == .bool(true))

        let junit = report.render(.junit)
        #expect(junit.contains(#"<testsuite name="recops verify" tests="2" failures="1" errors="0">"#))
        #expect(junit.contains(#"<testcase classname="recops.verify" name="iam.user/u"></testcase>"#))
        #expect(XMLNode.parse(Data(junit.utf8)) != nil)

        let github = report.render(.github).split(separator: "\n")
        #expect(github.first == "::error file=infra/policy.yaml,line=23,col=15,title=recops verify: s3.bucket/b::versioning: versioning is true, the spec says false")

        let text = report.render(.text)
        #expect(text.contains("~ s3.bucket/b versioning: versioning is true, the spec says false [infra/policy.yaml:23:15; recops apply fixes this]"))
        #expect(text.hasSuffix("Drift: 1 finding in 1 resource. (16 requests)"))
    }

    /// A history within 10% of the 100,000-character cap is a warning, never drift: verify stays
    /// in sync (exit 0) and names the job. Lengths are Airtable's (UTF-16): 45,001 "🎙" are 90,002.
    @Test func historiesNearTheCapAreWarnedOfButAreNotDrift() async throws {
        try await LocalSandbox.with(requestsPerSecond: 1000) { sandbox in
            let environment = ["APP_URL": "https://rec.example.com", "TWILIO_PHONE_NUMBER": sandbox.seed.numbers[0].phoneNumber, "AIRTABLE_BASE_ID": sandbox.seed.baseID]
            let result = SpecLoader(environment: environment).validate(path: ProvisionFixture.specPath, parts: [.airtable])
            let loaded = try #require(result.loaded)
            let engine = Engine(resources: AirtableResources.make(spec: loaded.spec, airtable: sandbox.airtable()))
            guard let table = await sandbox.state.table("Jobs") else { Issue.record("no table"); return }
            let quiet = Verifier(engine: engine, sourceMap: loaded.sourceMap).report(await engine.plan())
            #expect(quiet.status == .inSync && quiet.warnings.isEmpty)

            let busy = await sandbox.state.addRecord(table: table, fields: ["Job ID": .string("W-BUSY"), "job_history": .string(String(repeating: "x", count: 95_000))])
            let wide = await sandbox.state.addRecord(table: table, fields: ["Job ID": .string("W-WIDE"), "job_history": .string(String(repeating: "🎙", count: 45_001))])
            _ = await sandbox.state.addRecord(table: table, fields: ["Job ID": .string("W-EDGE"), "job_history": .string(String(repeating: "x", count: 90_000))])
            let plan = await engine.plan()
            #expect(!plan.hasChanges && !plan.hasFailures)
            let warnings = plan.resources.flatMap(\.warnings)
            #expect(warnings.map(\.actual) == [.number(95_000), .number(90_002)])
            #expect(warnings.first?.message.contains("job W-BUSY (\(busy))") == true)
            #expect(warnings.last?.message.contains("job W-WIDE (\(wide))") == true)
            #expect(plan.text.contains("warning: airtable.field/Jobs.job_history length: job W-BUSY"))

            let report = Verifier(engine: engine, sourceMap: loaded.sourceMap).report(plan)
            #expect(report.status == .inSync, "a warning does not fail the check")
            #expect(report.warnings.count == 2)
            #expect(report.render(.text).contains("In sync: 2 resources match the spec. 2 warnings."))
            #expect(report.render(.github).split(separator: "\n").filter { $0.hasPrefix("::warning ") }.count == 2)
            #expect(!report.render(.junit).contains("<failure"))
            #expect(report.warnings.allSatisfy { $0.location == loaded.sourceMap.location(of: "airtable.history_field") && $0.location.line > 1 })
        }
    }
}
