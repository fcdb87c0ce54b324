import Foundation
import Hummingbird
import HummingbirdTesting
import Pipeline
import RecopsTesting
import Testing
import Transport

/// Every webhook is refused before anything is stored unless Twilio signed it for our public URL
/// and our account; accepted callbacks are stored once, however often they arrive.
@Suite struct WebhookRouteTests {
    @Test func signaturesFromTwilioOwnLibraryAreAcceptedWithAndWithoutThePort() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let recording = try RouteHarness.vector("recording_status_callback")
            let voice = try RouteHarness.vector("voice_webhook")
            try await harness.test { client in
                let first = try await RouteHarness.post(client, "/api/twilio/recording", recording.params, signature: recording.signature)
                #expect(first.status == .noContent)
                // Twilio may sign the URL with :443; its validator accepts both, so do we.
                let again = try await RouteHarness.post(client, "/api/twilio/recording", recording.params, signature: recording.withPort)
                #expect(again.status == .noContent)
                let answer = try await RouteHarness.post(client, "/api/twilio/voice", voice.params, signature: voice.signature)
                #expect(answer.status == .ok)
                #expect(answer.body.contains("<Start><Recording channels=\"mono\" track=\"both\" trim=\"do-not-trim\" recordingStatusCallback=\"https://svc.example.com/api/twilio/recording\" recordingStatusCallbackMethod=\"POST\" recordingStatusCallbackEvent=\"completed absent\"/></Start>"))
            }
            // The duplicate changed nothing: one job.
            let jobs = try await harness.store.jobs(in: Set(RecordingJob.State.allCases), limit: 10)
            #expect(jobs.map(\.recordingSid) == ["REcccccccccccccccccccccccccccccccc"])
            #expect(jobs.first?.duration == 42)
            #expect(jobs.first?.startTime == Date(timeIntervalSince1970: 1_721_667_600))  // Mon, 22 Jul 2024 17:00:00 +0000
        }
    }

    @Test func forgedUnsignedReplayedAndForeignRequestsAreRefusedAndStoreNothing() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let vector = try RouteHarness.vector("recording_status_callback")
            try await harness.test { client in
                // No signature, a made-up one, one made with another token.
                #expect(try await RouteHarness.post(client, "/api/twilio/recording", vector.params, signature: nil).status == .forbidden)
                #expect(try await RouteHarness.post(client, "/api/twilio/recording", vector.params, signature: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=").status == .forbidden)
                let wrongToken = RouteHarness.sign("/api/twilio/recording", vector.params, token: "not-the-token")
                #expect(try await RouteHarness.post(client, "/api/twilio/recording", vector.params, signature: wrongToken).status == .forbidden)
                // Replayed with another parameter: the genuine signature no longer matches.
                let replayed = vector.params.map { $0.name == "RecordingSid" ? (name: $0.name, value: "RE" + String(repeating: "d", count: 32)) : $0 }
                #expect(try await RouteHarness.post(client, "/api/twilio/recording", replayed, signature: vector.signature).status == .forbidden)
                // Signed for another path: refused on this one.
                #expect(try await RouteHarness.post(client, "/api/twilio/status", vector.params, signature: vector.signature).status == .forbidden)
                // Correctly signed, but for another account.
                let foreign = vector.params.map { $0.name == "AccountSid" ? (name: $0.name, value: "AC" + String(repeating: "f", count: 32)) : $0 }
                let refused = try await RouteHarness.post(client, "/api/twilio/recording", foreign, signature: RouteHarness.sign("/api/twilio/recording", foreign))
                #expect(refused.status == .forbidden)
                #expect(refused.body == "unknown account\n")
            }
            #expect(try await harness.store.jobs(in: Set(RecordingJob.State.allCases), limit: 10).isEmpty)
            #expect(harness.pipeline.metrics.text().contains("recops_signature_failures_total{kind=\"recording\"} 4"))
        }
    }

    @Test func oversizedMalformedAndIncompleteBodiesGetClearErrors() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let vector = try RouteHarness.vector("recording_status_callback")
            try await harness.test { client in
                let huge = String(repeating: "a", count: 70_000)
                let tooLarge = try await RouteHarness.post(client, "/api/twilio/recording", [], signature: "x", body: "Pad=\(huge)")
                #expect(tooLarge.status == .contentTooLarge)
                #expect(try await RouteHarness.post(client, "/api/twilio/recording", [], signature: "x", body: "a=%zz").status == .badRequest)
                // Signed, but the SID is malformed: the message names the field.
                let broken = vector.params.map { $0.name == "RecordingSid" ? (name: $0.name, value: "RE123") : $0 }
                let answer = try await RouteHarness.post(client, "/api/twilio/recording", broken, signature: RouteHarness.sign("/api/twilio/recording", broken))
                #expect(answer.status == .badRequest)
                #expect(answer.body == "RecordingSid is missing or is not a RE… SID\n")
                let noStart = vector.params.filter { $0.name != "RecordingStartTime" }
                let missing = try await RouteHarness.post(client, "/api/twilio/recording", noStart, signature: RouteHarness.sign("/api/twilio/recording", noStart))
                #expect(missing.body == "RecordingStartTime is missing\n")
            }
            #expect(try await harness.store.jobs(in: Set(RecordingJob.State.allCases), limit: 10).isEmpty)
        }
    }

    @Test func voiceAnswerRecordsFirstThenNamesTheJob() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let call = [(name: "AccountSid", value: RouteHarness.account), (name: "CallSid", value: "CA" + String(repeating: "1", count: 32)),
                        (name: "From", value: "+14155550123"), (name: "To", value: "+15005550006")]
            try await harness.test { client in
                // No job on the webhook: ask the caller.
                let ask = try await RouteHarness.post(client, "/api/twilio/voice", call, signature: RouteHarness.sign("/api/twilio/voice", call))
                #expect(ask.body.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Start><Recording "))
                #expect(ask.body.contains("<Gather input=\"dtmf\" finishOnKey=\"#\" timeout=\"8\" action=\"https://svc.example.com/api/twilio/voice/job?attempt=1\" method=\"POST\" actionOnEmptyResult=\"true\"><Say>Please enter your job number, then press the pound key.</Say></Gather>"))

                // The job on the query string (set by whatever routed the call): no question asked.
                let path = "/api/twilio/voice?JobId=J-1002"
                let named = try await RouteHarness.post(client, path, call, signature: RouteHarness.sign(path, call))
                #expect(named.body.hasSuffix("</Start><Say>Thank you. Goodbye.</Say><Hangup/></Response>"))

                // Digits of a job that exists (J-1001 in the sandbox), after a miss.
                let digits = call + [(name: "Digits", value: "9999")]
                let miss = try await RouteHarness.post(client, "/api/twilio/voice/job?attempt=1", digits, signature: RouteHarness.sign("/api/twilio/voice/job?attempt=1", digits))
                #expect(miss.body.contains("<Say>I could not find job 9 9 9 9. Please enter your job number"))
                #expect(miss.body.contains("action=\"https://svc.example.com/api/twilio/voice/job?attempt=2\""))
                #expect(!miss.body.contains("<Recording"))  // the recording already runs: never a second one
                let good = call + [(name: "Digits", value: "1001")]
                let hit = try await RouteHarness.post(client, "/api/twilio/voice/job?attempt=2", good, signature: RouteHarness.sign("/api/twilio/voice/job?attempt=2", good))
                #expect(hit.body.hasSuffix("<Response><Say>Thank you. Goodbye.</Say><Hangup/></Response>"))
                // The last attempt ends the question, and the call goes on unmatched.
                let last = try await RouteHarness.post(client, "/api/twilio/voice/job?attempt=3", digits, signature: RouteHarness.sign("/api/twilio/voice/job?attempt=3", digits))
                #expect(last.body.contains("<Say>We could not find that job number.</Say><Say>Thank you. Goodbye.</Say><Hangup/>"))
            }
            #expect(try await harness.store.call("CA" + String(repeating: "1", count: 32))?.jobID == "J-1001")
        }
    }

    @Test func verifysProbeIsAnsweredLikeACallButNeverStored() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let probeSid = "CA" + String(repeating: "5", count: 32), callSid = "CA" + String(repeating: "6", count: 32)
            let probe = [(name: "AccountSid", value: RouteHarness.account), (name: "CallSid", value: probeSid), (name: "RecopsProbe", value: "1")]
            let call = [(name: "AccountSid", value: RouteHarness.account), (name: "CallSid", value: callSid)]
            try await harness.test { client in
                let probed = try await RouteHarness.post(client, "/api/twilio/voice", probe, signature: RouteHarness.sign("/api/twilio/voice", probe))
                let called = try await RouteHarness.post(client, "/api/twilio/voice", call, signature: RouteHarness.sign("/api/twilio/voice", call))
                #expect(probed.status == .ok && probed.body == called.body)
                // Unsigned, the mark changes nothing: refused like any forged request.
                #expect(try await RouteHarness.post(client, "/api/twilio/voice", probe, signature: "forged").status == .forbidden)
            }
            #expect(try await harness.store.call(probeSid) == nil)
            #expect(try await harness.store.call(callSid) != nil)
        }
    }

    @Test func aSlowOrFailingAirtableNeverHoldsTheCallerAndTheNumberIsTakenAsGiven() async throws {
        try await LocalSandbox.with { sandbox in
            let proxy = try await LocalProxy(upstream: sandbox.baseURL)
            let harness = try RouteHarness(sandbox: sandbox, airtableThrough: proxy.baseURL, lookupTimeout: .milliseconds(500))
            let path = "/api/twilio/voice/job?attempt=1"
            try await harness.test { client in
                // Airtable answers after 10 s: the caller hears the goodbye after the half-second timeout.
                try await proxy.add(.init(method: "GET", pathPrefix: "/v0/", action: .latency, latencyMs: 10_000, count: 1))
                let slow = [(name: "AccountSid", value: RouteHarness.account), (name: "CallSid", value: "CA" + String(repeating: "3", count: 32)),
                            (name: "Digits", value: "9999")]
                let started = ContinuousClock.now
                let answer = try await RouteHarness.post(client, path, slow, signature: RouteHarness.sign(path, slow))
                #expect(ContinuousClock.now - started < .seconds(8))
                #expect(answer.body.hasSuffix("<Response><Say>Thank you. Goodbye.</Say><Hangup/></Response>"))

                // Airtable failing outright: the same, at once.
                await sandbox.state.startAirtableOutage(requests: 10, status: 503)
                let down = [(name: "AccountSid", value: RouteHarness.account), (name: "CallSid", value: "CA" + String(repeating: "4", count: 32)),
                            (name: "Digits", value: "8888")]
                let answerDown = try await RouteHarness.post(client, path, down, signature: RouteHarness.sign(path, down))
                #expect(answerDown.body.hasSuffix("<Response><Say>Thank you. Goodbye.</Say><Hangup/></Response>"))
            }
            // Both calls carry the number they gave; the worker checks it before writing any line.
            #expect(try await harness.store.call("CA" + String(repeating: "3", count: 32))?.jobID == "J-9999")
            #expect(try await harness.store.call("CA" + String(repeating: "4", count: 32))?.jobID == "J-8888")
        }
    }

    @Test func emergencySwitchAnswersWithoutRecordingAndAgentTakesOver() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox, overrides: .init(recordingEnabled: false, agentURL: "https://agent.example.com/twiml?a=1&b=2"))
            let call = [(name: "AccountSid", value: RouteHarness.account), (name: "CallSid", value: "CA" + String(repeating: "2", count: 32)),
                        (name: "JobId", value: "J-1003")]
            try await harness.test { client in
                let answer = try await RouteHarness.post(client, "/api/twilio/voice", call, signature: RouteHarness.sign("/api/twilio/voice", call))
                #expect(answer.body == "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Redirect method=\"POST\">https://agent.example.com/twiml?a=1&amp;b=2</Redirect></Response>")
            }
        }
    }
}
