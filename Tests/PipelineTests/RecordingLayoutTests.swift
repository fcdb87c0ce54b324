import Foundation
import Pipeline
import PipelineAssembly
import RecopsTesting
import Spec
import Testing

/// Keys and lines are pure functions of the job: a retry writes the same key and the same line.
@Suite struct RecordingLayoutTests {
    static let layout: RecordingLayout = {
        let text = try! String(contentsOfFile: ProvisionFixture.specPath, encoding: .utf8)
        let loaded = SpecLoader(environment: ["S3_BUCKET": "acme-call-recordings", "APP_URL": "https://x.example.com", "AIRTABLE_BASE_ID": "appSANDBOX0000001",
                                              "TWILIO_PHONE_NUMBER": "+15005550006"]).validate(yaml: text, file: "p", parts: nil).loaded!
        return RecordingLayout(settings: try! PipelineConfiguration(spec: loaded.spec, accountSID: "AC", authToken: "t", owner: "o",
                                                                    dataDirectory: URL(fileURLWithPath: "/tmp")).history)
    }()

    static func job(_ jobID: String?) -> RecordingJob {
        // 2024-03-15 14:30:22 UTC, the runbook's example.
        RecordingJob(recordingSid: "RE1", callSid: "CA1", accountSid: "AC1", startTime: Date(timeIntervalSince1970: 1_710_513_022), duration: 9,
                     jobID: jobID, state: .stored, nextAttemptAt: Date(), receivedAt: Date())
    }

    @Test func keysFollowTheTemplateAndNeverCarryUnsafeCharacters() {
        #expect(Self.layout.key(for: Self.job("J-1001")) == "recordings/2024/03/15/CA1-J-1001.mp3")
        #expect(Self.layout.key(for: Self.job("J-1001"), attempt: 2) == "recordings/2024/03/15/CA1-J-1001-2.mp3")
        #expect(Self.layout.key(for: Self.job(nil)) == "recordings/2024/03/15/CA1-unmatched.mp3")
        #expect(Self.layout.key(for: Self.job("../x\" OR 1=1 /?#")) == "recordings/2024/03/15/CA1-.._x__OR_1_1____.mp3")
    }

    @Test func linesAreTheRunbooksFormatDatedByTheRecording() {
        #expect(Self.layout.historyLine(for: Self.job("J-1"), url: "https://u") == "---- | 2024-03-15 14:30:22 | Event: Recording | Source: IVR | URL: https://u")
        #expect(Self.layout.pendingLine(for: Self.job("J-1")) == "---- | 2024-03-15 14:30:22 | Event: Recording | Source: IVR | Recording pending upload")
    }

    @Test func theMarkerFindsTheObjectInAnyURLToIt() {
        let marker = RecordingLayout.marker(forKey: "recordings/2024/03/15/CA1-J 1.mp3")
        #expect(marker == "/recordings/2024/03/15/CA1-J%201.mp3")
        #expect("https://b.s3.amazonaws.com/recordings/2024/03/15/CA1-J%201.mp3?X-Amz-Signature=abc".contains(marker))
        #expect(!"https://b.s3.amazonaws.com/recordings/2024/03/15/CA1-J%201-2.mp3".contains(marker))
    }

    @Test func redactionCutsQueriesOfURLsOnly() {
        #expect(Redaction.text("GET https://b.s3.amazonaws.com/k.mp3?X-Amz-Signature=secret failed (HTTP 403)") == "GET https://b.s3.amazonaws.com/k.mp3?… failed (HTTP 403)")
        #expect(Redaction.text("is it? yes") == "is it? yes")
        #expect(Redaction.text("\"http://h/p?token=1\" and http://h/q") == "\"http://h/p?…\" and http://h/q")
    }
}
