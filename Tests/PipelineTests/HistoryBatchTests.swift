import Airtable
import Foundation
import Pipeline
import RecopsBase
import RecopsTesting
import Sandbox
import Spec
import Testing
import Transport

/// The pipeline's history step with batching, end to end against the sandbox's real 5/s limit:
/// requests per line in a backlog and for one call, the field's cap, the monthly budget.
@Suite struct HistoryBatchTests {
    static func seed(_ count: Int, history: (Int) -> String? = { _ in nil }) -> SandboxSeed {
        var seed = SandboxSeed.standard
        seed.jobs = (1...count).map { SandboxSeed.Job(id: String(format: "recBK%011d", $0), jobID: "J-\(3000 + $0)", history: history($0)) }
        return seed
    }

    static func served(_ sandbox: LocalSandbox) async throws -> Int {
        Int(try await sandbox.dump()["airtable"]?["served"]?.numberValue ?? 0)
    }

    /// Every received recording transferred, by hand, so the history has a backlog.
    static func transferAll(_ fixture: PipelineFixture) async throws {
        while let claim = try await fixture.store.claim(JobStateMachine.eligibility(.transfer), jobID: nil, order: .due, limit: 1, owner: "test", lease: 60) {
            try await fixture.pipeline.perform(.transfer(claim))
        }
    }

    @Test func aBacklogOfDistinctJobsCostsAtMostAQuarterRequestPerLine() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(seed: Self.seed(40)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, runWorker: false)
                for n in 1...40 { _ = try await fixture.recordedCall(job: "J-\(3000 + n)") }
                try await Self.transferAll(fixture)
                let before = try await Self.served(sandbox)
                var steps = 0
                while try await fixture.step() != nil { steps += 1 }
                let requests = try await Self.served(sandbox) - before
                let jobs = try await fixture.store.jobs(in: Set(RecordingJob.State.allCases), limit: 100)
                #expect(jobs.count == 40 && jobs.allSatisfy { $0.state == .linked })
                #expect(steps == 4 && requests == 8, "ten jobs a step, one read and one write each: \(requests) requests for 40 lines")
                #expect(Double(requests) / 40 <= 0.25)
                for n in 1...40 { #expect(try PipelineFixture.urlLines(try await fixture.history("J-\(3000 + n)")).count == 1) }
                // Each job's record is remembered: the next recordings read by record id.
                let remembered = try await fixture.store.recordIDs(forJobs: (1...40).map { "J-\(3000 + $0)" })
                #expect(remembered.count == 40 && remembered["J-3007"] == "recBK00000000007")
                let metrics = fixture.metrics.text()
                #expect(metrics.contains(#"recops_airtable_requests_total{operation="UpdateRecords",result="ok"} 4"#), "\(metrics)")
                #expect(metrics.contains(#"recops_airtable_requests_total{operation="ListRecords",result="ok"} 4"#))

                // One call alone goes at once, in two requests: nothing waits for a batch to fill.
                let single = try await Self.served(sandbox)
                _ = try await fixture.recordedCall(job: "J-3001")
                try await Self.transferAll(fixture)
                _ = try #require(try await fixture.step())
                #expect(try await Self.served(sandbox) - single == 2)
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-3001")).count == 2)
            }
        }
    }

    /// The worker as `serve` runs it, with recordings arriving in a burst: its other slots keep
    /// transferring while at most two history steps wait on Airtable, so the steps find several
    /// jobs due. With every slot on a one-job history step (the first try) each line cost a read
    /// and a write: 2 requests a line, measured at 2.55 lines/s.
    static func historyBurst(historyInFlight: Int) async throws -> (writes: Int, lines: Int) {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(seed: Self.seed(40)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(adjust: { $0.historyInFlight = historyInFlight }))
                // The voice webhooks (each a job lookup) first, then the recordings at once, as
                // after an outage.
                var calls: [(callSid: String, job: String)] = []
                for n in 1...40 {
                    let callSid = PipelineFixture.callSid(), job = "J-\(3000 + n)"
                    let answer = try await fixture.post("/api/twilio/voice", [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: callSid), (name: "JobId", value: job)])
                    #expect(answer.isSuccess)
                    calls.append((callSid, job))
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for call in calls {
                        group.addTask {
                            let recording = await sandbox.state.addRecording(callSid: call.callSid, duration: 2)
                            let answer = try await fixture.post("/api/twilio/recording", PipelineFixture.recordingCallback(
                                account: sandbox.seed.accountSID, callSid: call.callSid, recordingSid: recording.sid, start: recording.created, duration: 2))
                            #expect(answer.isSuccess)
                        }
                    }
                    try await group.waitForAll()
                }
                let lines = try await eventually {
                    var linked = 0
                    for n in 1...40 { linked += try PipelineFixture.urlLines(try await fixture.history("J-\(3000 + n)")).count }
                    return linked == 40 ? linked : nil
                }
                let writes = fixture.metrics.text().split(separator: "\n")
                    .filter { $0.hasPrefix(#"recops_airtable_requests_total{operation="UpdateRecord"#) }
                    .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
                return (Int(writes), lines)
            }
        }
    }

    @Test func aBurstOfRecordingsForDistinctJobsIsWrittenInBatches() async throws {
        let batched = try await Self.historyBurst(historyInFlight: PipelineConfiguration.defaultHistoryInFlight)
        #expect(batched.lines == 40)
        #expect(batched.writes <= 16, "\(batched.writes) history writes for 40 lines")
    }

    /// A job at 99,900 characters: its recording goes to `history_full`, the field is untouched,
    /// a person is told; once room is made, the next look links it.
    @Test func aFullHistoryWaitsInItsOwnStateAndIsLinkedOnceThereIsRoom() async throws {
        let typed = String(repeating: "Customer notes typed by the office. ", count: 2775).prefix(99_900)
        try await MotoServer.with { moto in
            try await LocalSandbox.with(seed: Self.seed(2) { $0 == 1 ? String(typed) : nil }) { sandbox in
                let alerts = try await AlertReceiver()
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(
                    alertWebhook: URL(string: alerts.url)!, adjust: { $0.retry.historyFullRecheck = 1 }))
                let full = try await fixture.recordedCall(job: "J-3001").recordingSid
                let other = try await fixture.recordedCall(job: "J-3002").recordingSid
                let job = try await eventually { try await fixture.store.job(full).flatMap { $0.state == .historyFull ? $0 : nil } }
                #expect(job.recordID == "recBK00000000001" && job.note?.contains("99900 of 100000") == true)
                _ = try await eventually { try await fixture.store.job(other)?.state == .linked ? true : nil }
                #expect(try await fixture.history("J-3001") == String(typed), "not one character of the field changed")
                let alert = try await eventually { alerts.received.first { $0["alert"] == .string("history_full") } }
                #expect(alert["recording_sids"] == .string(full))
                let status = try await PipelineStatus.collect(store: fixture.store, now: Date(), bucket: PipelineFixture.bucket, s3: nil, iam: nil, user: nil)
                #expect(status.historyFull.map(\.recordingSid) == [full])
                #expect(status.text.contains("History full (1)"))
                #expect(fixture.metrics.text().contains(#"recops_history_updates_total{result="full"}"#))

                // The office trims the field; the next look (every second here) links the recording.
                await sandbox.state.setField(table: 0, record: "recBK00000000001", name: "job_history", value: .string("---- | 2024-03-01 09:00:00 | Event: Notes archived | Source: Office"))
                _ = try await eventually { try await fixture.store.job(full)?.state == .linked ? true : nil }
                let history = try await fixture.history("J-3001")
                let lines = try PipelineFixture.urlLines(history)
        #expect(history.hasPrefix("---- | 2024-03-01 09:00:00 | Event: Notes archived | Source: Office\n") && lines.count == 1)
            }
        }
    }

    /// A monthly budget of 5: exactly five requests leave, then the lines wait queued; alerts
    /// at 80% and at 100%, once each.
    @Test func theMonthlyBudgetHoldsAndTheRestWaitsQueued() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(seed: Self.seed(40)) { sandbox in
                let alerts = try await AlertReceiver()
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(
                    alertWebhook: URL(string: alerts.url)!, adjust: { $0.airtable.monthlyRequestBudget = 5 }))
                let before = try await Self.served(sandbox)
                for n in 1...40 { _ = try await fixture.recordedCall(job: "J-\(3000 + n)") }
                let month = MonthlyRequestBudget.month(of: fixture.clock.now())
                // Every recording stored or linked, and a step refused for the budget: the budget is spent.
                let jobs = try await eventually { () -> [RecordingJob]? in
                    let jobs = try await fixture.store.jobs(in: Set(RecordingJob.State.allCases), limit: 100)
                    return jobs.count == 40 && jobs.allSatisfy({ [.stored, .linked].contains($0.state) })
                        && jobs.contains(where: { $0.lastError?.contains("monthly Airtable budget") == true }) ? jobs : nil
                }
                #expect(try await fixture.store.airtableRequests(month: month) == 5)
                #expect(try await Self.served(sandbox) - before == 5, "the store's count is what reached Airtable")
                let waiting = jobs.filter { $0.state == .stored }
                #expect(!waiting.isEmpty && waiting.allSatisfy { $0.attempts == 0 }, "a spent budget counts no attempt")
                for (percent, used) in [("80", "4"), ("100", "5")] {
                    let alert = try await eventually { alerts.received.first { $0["alert"] == .string("airtable_budget") && $0["percent"] == .string(percent) } }
                    #expect(alert["used"] == .string(used))
                }
                #expect(alerts.received.filter { $0["alert"] == .string("airtable_budget") }.count == 2)
                #expect(fixture.metrics.text().contains("recops_airtable_month_requests 5"))
            }
        }
    }
}
