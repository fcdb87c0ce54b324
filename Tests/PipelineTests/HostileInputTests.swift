import Airtable
import Foundation
@testable import Pipeline
import RecopsTesting
import Testing
import Transport
import Twilio

/// Values a caller controls, handled by Unicode scalar and byte: job ids, call statuses,
/// durations. Each refusal stores nothing, and each accepted value cannot move what is settled.
@Suite struct HostileInputTests {
    static let account = RouteHarness.account
    static let callSid = "CA" + String(repeating: "7", count: 32)

    static func voice(_ extra: [(name: String, value: String)] = [], callSid: String = callSid) -> [(name: String, value: String)] {
        [(name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "From", value: "+14155550123"), (name: "To", value: "+15005550006")] + extra
    }

    @Test(arguments: [
        "J" + String(repeating: "\u{0301}", count: 5000),  // one grapheme, 10,001 bytes
        String(repeating: "é", count: 33),                  // 33 characters, 66 bytes
        "J-1001\u{2028}forged log line", "J-1001\u{2029}", "J-\u{202E}1001", "J-10\u{200B}01", "J-1001\u{0007}",
    ])
    func jobIDsAreBoundedInBytesAndPlain(_ jobID: String) async throws {
        #expect(JobID.validated(jobID) == nil)
        #expect(JobID.problem(jobID) != nil)
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            try await harness.test { client in
                let call = Self.voice([(name: "JobId", value: jobID)])
                let answer = try await RouteHarness.post(client, "/api/twilio/voice", call, signature: RouteHarness.sign("/api/twilio/voice", call))
                #expect(answer.status == .ok)
                #expect(answer.body.contains("<Gather"), "a refused job id is as if none was given: the caller is asked")
            }
            #expect(try await harness.store.call(Self.callSid)?.jobID == nil)
        }
    }

    @Test func plainJobIDsUpTo64BytesPass() {
        #expect(JobID.validated(" J-1001 ") == "J-1001")
        #expect(JobID.validated(String(repeating: "a", count: 64)) != nil)
        #expect(JobID.validated(String(repeating: "é", count: 32)) != nil)  // 64 bytes
        #expect(JobID.validated("Müller-7") == "Müller-7")
    }

    /// A replayed "ringing" after "completed" changes nothing (it once hid the missing-recording
    /// alert), and a status that is not Twilio's is refused.
    @Test func callStatusOnlyMovesForwardAndIsOneOfTwilios() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            try await harness.test { client in
                for status in ["ringing", "in-progress", "completed", "ringing", "in-progress", "busy"] {
                    let form = [(name: "AccountSid", value: Self.account), (name: "CallSid", value: Self.callSid), (name: "CallStatus", value: status)]
                    let answer = try await RouteHarness.post(client, "/api/twilio/status", form, signature: RouteHarness.sign("/api/twilio/status", form))
                    #expect(answer.status == .noContent)
                }
                for status in ["done", "Completed", "completed\u{0301}", ""] {
                    let form = [(name: "AccountSid", value: Self.account), (name: "CallSid", value: Self.callSid), (name: "CallStatus", value: status)]
                    let answer = try await RouteHarness.post(client, "/api/twilio/status", form, signature: RouteHarness.sign("/api/twilio/status", form))
                    #expect(answer.status == .badRequest)
                }
                let odd = Self.voice([(name: "CallStatus", value: "answered-ish")], callSid: "CA" + String(repeating: "8", count: 32))
                let answer = try await RouteHarness.post(client, "/api/twilio/voice", odd, signature: RouteHarness.sign("/api/twilio/voice", odd))
                    #expect(answer.status == .badRequest)
            }
            let call = try #require(try await harness.store.call(Self.callSid))
            #expect(call.status == .completed)
            #expect(call.completedAt != nil)
        }
    }

    @Test func callStatusOrder() {
        #expect(CallStatus.ringing.mayMove(to: .inProgress))
        #expect(CallStatus.inProgress.mayMove(to: .completed))
        #expect(!CallStatus.completed.mayMove(to: .ringing))
        #expect(!CallStatus.completed.mayMove(to: .busy))
        #expect(!CallStatus.inProgress.mayMove(to: .ringing))
        #expect(CallStatus.allCases.filter(\.isFinal) == [.completed, .busy, .failed, .noAnswer, .canceled])
    }

    /// A re-sent voice webhook naming another job does not move a call whose recording is stored
    /// under a job; before that, the latest job named wins.
    @Test func aResentVoiceWebhookCannotMoveAStoredRecording() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let store = harness.store
            try await harness.test { client in
                for job in ["J-1001", "J-1002"] {
                    let path = "/api/twilio/voice?JobId=\(job)"
                    let answer = try await RouteHarness.post(client, path, Self.voice(), signature: RouteHarness.sign(path, Self.voice()))
                    #expect(answer.status == .ok)
                }
            }
            #expect(try await store.call(Self.callSid)?.jobID == "J-1002")
            // The recording is stored under J-1002 (as the transfer step records it).
            let callback = RecordingCallback(accountSid: Self.account, callSid: Self.callSid, recordingSid: "RE" + String(repeating: "7", count: 32),
                                             status: .completed, duration: 5, startTime: Date())
            #expect(try await store.accept(callback, at: Date()))
            let claim = try #require(try await store.claim(JobStateMachine.eligibility(.transfer), jobID: nil, order: .due, limit: 1, owner: "test", lease: 60))
            var job = claim.jobs[0]
            job.jobID = "J-1002"
            job.state = .stored
            job.objectKey = "recordings/x.mp3"
            #expect(try await store.commit([job], under: claim).count == 1)
            try await harness.test { client in
                let path = "/api/twilio/voice?JobId=J-1003"
                let answer = try await RouteHarness.post(client, path, Self.voice(), signature: RouteHarness.sign(path, Self.voice()))
                    #expect(answer.status == .ok)
            }
            #expect(try await store.call(Self.callSid)?.jobID == "J-1002")
            #expect(try await store.job(callback.recordingSid)?.jobID == "J-1002")
        }
    }

    /// Int.max seconds once showed as "-1 s"; a duration past a day is refused, saying so.
    @Test(arguments: [String(Int.max), "86401", "99999999999999999999", "-1", "1e3", "٣"])
    func absurdDurationsAreRefused(_ duration: String) async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let vector = try RouteHarness.vector("recording_status_callback")
            let form = vector.params.map { $0.name == "RecordingDuration" ? (name: $0.name, value: duration) : $0 }
            try await harness.test { client in
                let answer = try await RouteHarness.post(client, "/api/twilio/recording", form, signature: RouteHarness.sign("/api/twilio/recording", form))
                #expect(answer.status == .badRequest)
                if duration == "86401" || duration == String(Int.max) {
                    #expect(answer.body.contains("out of range (0…86400 s)"), "\(answer.body)")
                }
            }
            #expect(try await harness.store.countsByState().values.reduce(0, +) == 0)
        }
    }
}

/// The history's own markers are found by code unit, not by grapheme: a person's edit that left
/// a combining mark right after a recording's URL must not make recops write its line again.
@Suite struct HistoryMatchingTests {
    @Test func markersAndLinesMatchByScalar() throws {
        let key = "/recordings/2026/12/01/CA1-J-1001.mp3"
        let history = "---- | 2026-12-01 10:00:00 | Event: Recording | Source: IVR | URL: https://b.s3.amazonaws.com\(key)\u{0301}\r\nnext"
        #expect(HistoryWriter.contains(history, key))
        #expect(!HistoryWriter.contains(history, key + "x"))
        let pending = "---- | 2026-12-01 10:00:00 | Event: Recording | Source: IVR | Recording pending upload"
        // The tests' own counter refuses a line it cannot read, rather than leaving it uncounted.
        let url = "---- | 2026-12-01 10:00:00 | Event: Recording | Source: IVR | URL: https://b.example.com/k.mp3"
        #expect(try PipelineFixture.urlLines("---- | 2024-03-01 09:00:00 | Event: Created | Source: Office\n\(url)\n\(pending)") == ["https://b.example.com/k.mp3"])
        #expect(throws: PipelineFixture.MalformedHistory.self) { try PipelineFixture.urlLines("\(url)\n---- | 2026-12-01 10:0") }
        #expect(throws: PipelineFixture.MalformedHistory.self) { try PipelineFixture.urlLines("\(url)\n---- | 2026-12-01 10:00:00 | Event: Recording | Source: IVR | URL:") }
        #expect(HistoryWriter.lines("\(pending)\r\n\(pending)\n\(pending)\u{0301}\n", equalTo: pending) == 2)
    }
}
