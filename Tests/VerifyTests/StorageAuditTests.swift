import AWS
import Foundation
import Provision
import RecopsTesting
import Spec
import Testing
import Transport
import Twilio
import Verify

/// verify's audits of what the services hold, against moto and the sandbox: small objects in
/// the bucket, and Twilio's copies past keep_in_twilio_days. Figures and warnings, never drift.
@Suite struct StorageAuditTests {
    static let kib = 1024

    @Test func smallObjectsAreCountedAndAnIARuleThatWouldBillThemIsWarned() async throws {
        try await MotoServer.with { moto in
            // The deny statements off, so moto takes object writes (PipelineFixture.motoCompatible).
            let fixture = try ProvisionFixture(moto: moto, edit: { (try? PipelineFixture.motoCompatible(text: $0)) ?? $0 })
            try await fixture.apply()
            let s3 = S3Client(aws: fixture.aws)
            for (key, size) in [("recordings/2026/12/01/a.mp3", 1), ("recordings/2026/12/01/b.mp3", 50), ("recordings/2026/12/02/c.mp3", 100),
                                ("recordings/2026/12/02/d.mp3", 200), ("other/small.bin", 1)] {
                _ = try await s3.putObject(bucket: ProvisionFixture.bucket, key: key, body: Data(count: size * Self.kib), contentType: "audio/mpeg", encryption: nil)
            }
            let spec = fixture.loaded.spec
            let audits = try VerifyAudits.make(spec: spec, parts: [.aws], s3: { s3 }, twilio: { throw CancellationError() }, now: { Date() })
            #expect(audits.map(\.id.description) == ["s3.objects/acme-call-recordings/recordings/"])

            // moto forgets the spec's min_object_size (MotoGaps), so here the rule has none: warned.
            let report = await Verifier(engine: fixture.engine, sourceMap: fixture.loaded.sourceMap, audits: audits).run()
            #expect(report.status == .inSync, "figures and warnings never make drift")
            let note = try #require(report.notes.first)
            #expect(report.notes.count == 1)
            #expect(note.message == "3 of 4 objects under recordings/ (75.0%) are under 128 KiB: 151 KiB of 351 KiB")
            #expect(note.actual == .object(["objects": .number(4), "bytes": .number(351 * 1024), "small_objects": .number(3),
                                            "small_bytes": .number(151 * 1024), "complete": .bool(true)]))
            let warning = try #require(report.warnings.first { $0.resource == audits[0].id })
            #expect(warning.message.hasPrefix("rule 'RecordingRetention' moves 3 objects under 128 KiB to STANDARD_IA after 90 days, which bills them as 384 KiB for 151 KiB stored"))
            let text = try String(contentsOfFile: ProvisionFixture.specPath, encoding: .utf8)
            let line = try #require(text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("storage_class: STANDARD_IA") }) + 1
            #expect(warning.location.line == line)

            #expect(report.render(.text).contains("\nnote: s3.objects/acme-call-recordings/recordings/ small_objects: 3 of 4 objects"))
            #expect(report.render(.github).contains("::notice file=infra/policy.yaml"))
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(report.render(.json).utf8))
            guard case .array(let listed)? = json["findings"] else { Issue.record("no findings in \(json)"); return }
            #expect(listed.contains { $0["severity"] == .string("note") && $0["property"] == .string("small_objects") })

            // With the spec's filter in place (as on AWS), the figure stays and the warning goes.
            var filtered = try #require(spec.bucket)
            filtered.lifecycle?[0].minObjectSize = 131_072
            let findings = try await SmallObjectAudit(bucket: filtered, prefix: "recordings/", s3: s3).findings(sourceMap: fixture.loaded.sourceMap)
            #expect(findings.map(\.severity) == [.note])
            // A filter under 128 KiB still lets some be billed: the ones above it.
            filtered.lifecycle?[0].minObjectSize = 60 * Self.kib
            let partly = try await SmallObjectAudit(bucket: filtered, prefix: "recordings/", s3: s3).findings(sourceMap: fixture.loaded.sourceMap)
            #expect(partly.last?.message.hasPrefix("rule 'RecordingRetention' moves 1 object under 128 KiB") == true)
        }
    }

    @Test func anAuditThatCannotReadIsCouldNotCheck() async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            let bucket = try #require(fixture.loaded.spec.bucket)  // never applied: the bucket does not exist
            let audit = SmallObjectAudit(bucket: bucket, prefix: "recordings/", s3: S3Client(aws: fixture.aws))
            let report = await Verifier(engine: Engine(resources: []), sourceMap: fixture.loaded.sourceMap, audits: [audit]).run()
            #expect(report.status == .unknown)
            #expect(report.failures.map(\.resource) == [audit.id])
            #expect(report.render(.junit).contains("name=\"s3.objects/acme-call-recordings/recordings/\"><error type="))
        }
    }

    @Test func twilioCopiesPastKeepInTwilioDaysAreWarned() async throws {
        try await LocalSandbox.with { sandbox in
            for _ in 0..<2 { _ = await sandbox.state.addRecording(callSid: "CA" + String(repeating: "0", count: 32), duration: 5) }
            let twilio = sandbox.twilio()
            let sourceMap = SourceMap(file: "infra/policy.yaml")
            let today = TwilioRetentionAudit(keepDays: 30, twilio: twilio, now: { Date() })
            let none = try await today.findings(sourceMap: sourceMap)
            #expect(none.isEmpty)
            let later = Date().addingTimeInterval(31 * 86_400)
            let monthOn = TwilioRetentionAudit(keepDays: 30, twilio: twilio, now: { later })
            let findings = try await monthOn.findings(sourceMap: sourceMap)
            let finding = try #require(findings.first)
            #expect(findings.count == 1 && finding.severity == .warning && finding.actual == .number(2))
            #expect(finding.message.hasPrefix("Twilio holds 2 recordings older than 30 days (the oldest from 20"))
            #expect(finding.message.hasSuffix("`recops reconcile --repair` deletes those stored and linked"))
            // The cut-off is the recording's own time, not its day: 30 days and a minute is not yet 31.
            #expect(try await twilio.recordings(olderThanDays: 31, now: Date().addingTimeInterval(30 * 86_400 + 60)).isEmpty)
        }
    }

    @Test func sizesReadAsPeopleReadThem() {
        #expect(ByteCount.text(512) == "512 B")
        #expect(ByteCount.text(176 * 1024) == "176 KiB")
        #expect(ByteCount.text(18 * 1024 * 1024 + 200 * 1024) == "18.2 MiB")
        #expect(ByteCount.text(3 * 1024 * 1024 * 1024) == "3 GiB")
        #expect(SmallObjectAudit.prefix(ofKeyTemplate: "recordings/{yyyy}/{mm}/{call_sid}.mp3") == "recordings/")
        #expect(SmallObjectAudit.prefix(ofKeyTemplate: "calls/rec-{yyyy}.mp3") == "calls/")
        #expect(SmallObjectAudit.prefix(ofKeyTemplate: "{yyyy}/{call_sid}.mp3") == "")
        #expect(SmallObjectAudit.commonPrefix(["recordings/", "recordings/old/"]) == "recordings/")
        #expect(SmallObjectAudit.commonPrefix(["a/", "b/"]) == "" && SmallObjectAudit.commonPrefix([]) == "")
    }
}
