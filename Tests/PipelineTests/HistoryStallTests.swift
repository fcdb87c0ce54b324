import Airtable
import Foundation
import Pipeline
import RecopsTesting
import Sandbox
import Testing
import Transport

/// An Airtable pause is routine: lines wait and then arrive, never freeze. And a history step
/// that makes no progress is seen: an alert, a metric, a line in status and on `/ops`.
@Suite struct HistoryStallTests {
    /// The reported incident: another client of the base goes past 5/s, Airtable pauses the
    /// base, three callers key in their job numbers and each lookup gives up while it waits in
    /// the limiter. Every line still arrives once the pause is over.
    @Test func lookupsThatGiveUpDuringAPauseFreezeNothing() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(3)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(throttleDelay: 1, lookupTimeout: .milliseconds(300)), limiterPause: .seconds(2))
                // Another API client of the same base, past the limit: the sandbox pauses the base.
                let other = sandbox.airtable(limiter: RateLimiter(requestsPerSecond: 100, pauseAfterThrottle: .zero), retry: RetryPolicy(maxAttempts: 1))
                for _ in 0..<12 {
                    if (try? await other.findRecord(base: sandbox.seed.baseID, table: sandbox.seed.tableName, field: sandbox.seed.jobIDField, equals: "J-1001")) == nil { break }
                }
                #expect(try await sandbox.dump()["airtable"]?["throttled"]?.numberValue ?? 0 > 0)
                var sids: [String] = []
                for digits in ["1001", "1002", "1003"] {
                    let callSid = PipelineFixture.callSid()
                    let call = [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: callSid), (name: "From", value: "+14155550123"),
                                (name: "To", value: fixture.number)]
                    #expect(try await fixture.post("/api/twilio/voice", call).status == 200)
                    let answer = try await fixture.post("/api/twilio/voice/job?attempt=1", call + [(name: "Digits", value: digits)])
                    #expect(String(decoding: answer.body, as: UTF8.self).contains("Goodbye"), "the lookup gave up; the number is taken as given")
                    let recording = await sandbox.state.addRecording(callSid: callSid, duration: 5)
                    let callback = PipelineFixture.recordingCallback(account: sandbox.seed.accountSID, callSid: callSid, recordingSid: recording.sid,
                                                                     start: recording.created, duration: 5)
                    #expect(try await fixture.post("/api/twilio/recording", callback).status == 204)
                    sids.append(recording.sid)
                }
                let jobs = try await fixture.settle(expecting: 3, timeout: .seconds(60))
                #expect(jobs.allSatisfy { $0.state == .linked }, "\(jobs.map { "\($0.state) \($0.lastError ?? "")" })")
                for job in ["J-1001", "J-1002", "J-1003"] {
                    #expect(try PipelineFixture.urlLines(try await fixture.history(job)).count == 1, "\(job)")
                }
                #expect(Set(jobs.map(\.recordingSid)) == Set(sids))
            }
        }
    }

    @Test func aHistoryStepWithoutProgressIsReportedStalled() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let proxy = try await LocalProxy(upstream: sandbox.baseURL)
                let alerts = try await AlertReceiver()
                let token = "stall-admin-token-0123456789"
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, airtableEndpoint: proxy.baseURL, overrides: .init(alertWebhook: URL(string: alerts.url)!, historyStallAfter: 1, sweepInterval: .milliseconds(200)), adminToken: token)
                // Airtable takes 15 s to answer anything: the history step holds its claim meanwhile.
                try await proxy.add(.init(pathPrefix: "/v0/", action: .latency, latencyMs: 15_000))
                try await fixture.recordedCall(job: "J-1001")
                let alert = try await eventually { alerts.received.first { $0["alert"] == .string("history_stalled") } }
                #expect(alert["job_id"] == .string("J-1001"))
                #expect(fixture.metrics.text().contains("recops_history_stalled_steps 1"))
                let status = try await PipelineStatus.collect(store: fixture.store, now: Date(), bucket: PipelineFixture.bucket, s3: nil, iam: nil, user: nil, stallAfter: 1)
                #expect(status.text.contains("History steps stalled (1):"), "\(status.text)")
                #expect(status.text.contains("job J-1001 held by test for"))
                let page = try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: URL(string: fixture.appURL + "/ops")!,
                                                                                 headers: [(name: "Authorization", value: "Bearer \(token)")]))
                #expect(String(decoding: page.body, as: UTF8.self).contains("<dt>History steps stalled</dt><dd>job J-1001 held by test for"))
                // Airtable answers again: the line arrives and the stall clears.
                try await proxy.clear()
                let jobs = try await fixture.settle(expecting: 1, timeout: .seconds(60))
                #expect(jobs.first?.state == .linked)
                _ = try await eventually { fixture.metrics.text().contains("recops_history_stalled_steps 0") ? true : nil }
            }
        }
    }

    /// Two pending recordings of one job that started in the same second: two pending lines,
    /// though their texts are the same, and never a third.
    @Test func eachPendingRecordingGetsItsOwnLine() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let reserved = ReservedPort()
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, s3Endpoint: URL(string: "http://127.0.0.1:\(reserved.port)")!)
                let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
                var sids: [String] = []
                for _ in 0..<2 {
                    let callSid = PipelineFixture.callSid()
                    _ = try await fixture.post("/api/twilio/voice?JobId=J-1003", [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: callSid)])
                    let recording = await sandbox.state.addRecording(callSid: callSid, duration: 5)
                    let callback = PipelineFixture.recordingCallback(account: sandbox.seed.accountSID, callSid: callSid, recordingSid: recording.sid, start: start, duration: 5)
                    #expect(try await fixture.post("/api/twilio/recording", callback).status == 204)
                    sids.append(recording.sid)
                }
                _ = try await eventually { () -> Bool? in
                    var written = true
                    for sid in sids {
                        let job = try await fixture.store.job(sid)
                        if job?.pendingLineWritten != true { written = false }
                    }
                    return written ? true : nil
                }
                let history = try await fixture.history("J-1003")
                #expect(history.components(separatedBy: "Recording pending upload").count == 3, "\(history)")
                let pending = history.split(separator: "\n").filter { $0.hasSuffix("Recording pending upload") }
                #expect(Set(pending).count == 1, "the texts are the same: only the count tells them apart")
            }
        }
    }

    /// `recordings url --append-history` gives up (its task is cancelled) while Airtable hangs:
    /// the job's history is free again at once, not only when the 120 s hold expires.
    @Test func aCancelledAppendLeavesTheJobsHistoryFree() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let proxy = try await LocalProxy(upstream: sandbox.baseURL)
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, airtableEndpoint: proxy.baseURL)
                let (sid, _) = try await fixture.recordedCall(job: "J-1001")
                #expect(try await fixture.settle(expecting: 1).first?.state == .linked)
                let store = fixture.store
                let job = try #require(try await store.job(sid))
                try await proxy.add(.init(pathPrefix: "/v0/", action: .latency, latencyMs: 20_000))
                let links = fixture.assembled.recordingLinks()
                let append = Task { try await links.appendLine(for: job, url: "https://example.com/recording") }
                // Wait until the append holds the job's history (a probe that gets it gives it back).
                _ = try await eventually { () -> Bool? in
                    if let probe = try await store.takeHistory(jobID: "J-1001", owner: "probe", lease: 60) {
                        try await store.releaseHistory(probe)
                        return nil
                    }
                    return true
                }
                append.cancel()
                _ = await append.result
                let taken = try await store.takeHistory(jobID: "J-1001", owner: "another", lease: 60)
                #expect(taken != nil, "the cancelled append kept the job's history held")
                try await proxy.clear()
            }
        }
    }
}
