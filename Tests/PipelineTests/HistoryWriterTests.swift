import Airtable
import Foundation
import Pipeline
import RecopsBase
import RecopsTesting
import Sandbox
import Spec
import Testing
import Transport

/// The batched read-modify-write against the sandbox over HTTP: two requests for up to ten
/// jobs, one job's refusal failing only that job, the field's cap, deleted records.
@Suite struct HistoryWriterTests {
    static let settings = AirtableSettings(base: SandboxSeed.standard.baseID, table: "Jobs", jobIdField: "Job ID", historyField: "job_history")

    static func seed(_ count: Int) -> SandboxSeed {
        var seed = SandboxSeed.standard
        seed.jobs = (1...count).map { SandboxSeed.Job(id: String(format: "recW%012d", $0), jobID: "W-\($0)", history: "typed by a person \($0)") }
        return seed
    }

    static func record(_ n: Int) -> String { String(format: "recW%012d", n) }

    static func line(_ n: Int, _ key: String) -> HistoryWriter.Line {
        .marked("---- | 2026-12-02 09:00:00 | Event: Recording | Source: IVR | URL: https://b.s3/\(key)", marker: key)
    }

    static func served(_ sandbox: LocalSandbox) async throws -> Double {
        try await sandbox.dump()["airtable"]?["served"]?.numberValue ?? 0
    }

    static func history(_ sandbox: LocalSandbox, _ n: Int) async -> String {
        await sandbox.state.field(table: 0, record: record(n), name: "job_history")?.stringValue ?? ""
    }

    @Test func tenJobsInTwoRequestsAndAgainIdempotently() async throws {
        try await LocalSandbox.with(seed: Self.seed(10), requestsPerSecond: 1000) { sandbox in
            let writer = HistoryWriter(airtable: sandbox.airtable(), settings: Self.settings)
            // Half known by record id, half looked up by job id: still one read.
            let entries = (1...10).map { HistoryWriter.Entry(jobID: "W-\($0)", knownRecordID: $0 % 2 == 0 ? Self.record($0) : nil,
                                                              lines: [Self.line($0, "k\($0)a"), Self.line($0, "k\($0)b")]) }
            let before = try await Self.served(sandbox)
            let outcomes = try await writer.append(entries)
            #expect(try await Self.served(sandbox) == before + 2, "one read and one write for ten jobs")
            for n in 1...10 {
                guard case .written(let id) = outcomes[n - 1] else { Issue.record("W-\(n): \(outcomes[n - 1])"); continue }
                #expect(id == Self.record(n))
                let history = await Self.history(sandbox, n)
                #expect(history.hasPrefix("typed by a person \(n)\n"), "what people wrote stays first and whole")
                #expect(history.components(separatedBy: "\n").count == 3)
            }
            // Again: every line is there, so the read is the only request.
            _ = try await writer.append(entries)
            #expect(try await Self.served(sandbox) == before + 3)
        }
    }

    /// A history someone ended with "\r\n" (one `Character`) already ends its line: the new line
    /// follows it directly, with no blank line between (a `Character` test saw no "\n" there).
    @Test func aHistoryEndingInCRLFGetsNoBlankLine() async throws {
        try await LocalSandbox.with(seed: Self.seed(1), requestsPerSecond: 1000) { sandbox in
            await sandbox.state.setField(table: 0, record: Self.record(1), name: "job_history", value: .string("typed on Windows\r\n"))
            let writer = HistoryWriter(airtable: sandbox.airtable(), settings: Self.settings)
            _ = try await writer.append([Self.line(1, "crlf")], jobID: "W-1", knownRecordID: nil)
            #expect(await Self.history(sandbox, 1) == "typed on Windows\r\n---- | 2026-12-02 09:00:00 | Event: Recording | Source: IVR | URL: https://b.s3/crlf")
        }
    }

    /// A line that does not fit is not written and nothing is cut; lines of other jobs go on.
    @Test func aFullFieldKeepsItsTextAndTheOthersAreWritten() async throws {
        try await LocalSandbox.with(seed: Self.seed(3), requestsPerSecond: 1000) { sandbox in
            let nearlyFull = String(repeating: "p", count: 99_950)
            await sandbox.state.setField(table: 0, record: Self.record(2), name: "job_history", value: .string(nearlyFull))
            let writer = HistoryWriter(airtable: sandbox.airtable(), settings: Self.settings)
            let short = HistoryWriter.Line.counted("---- | 2026-12-02 09:00:00 | Event: Recording | Source: IVR | Recording pending upload", count: 1)
            let outcomes = try await writer.append([
                .init(jobID: "W-1", knownRecordID: nil, lines: [Self.line(1, "one")]),
                .init(jobID: "W-2", knownRecordID: nil, lines: [Self.line(2, "two"), short]),
                .init(jobID: "W-3", knownRecordID: nil, lines: [Self.line(3, "three")]),
            ])
            guard case .full(let id, let present, let length) = outcomes[1] else { Issue.record("\(outcomes[1])"); return }
            #expect(id == Self.record(2) && present.isEmpty && length == 99_950, "a later line that would fit waits too: the order of calls holds")
            #expect(await Self.history(sandbox, 2) == nearlyFull)
            #expect(await Self.history(sandbox, 1).hasSuffix("URL: https://b.s3/one"))
            #expect(await Self.history(sandbox, 3).hasSuffix("URL: https://b.s3/three"))
            // Room made: the line goes in.
            await sandbox.state.setField(table: 0, record: Self.record(2), name: "job_history", value: .string("trimmed by the office"))
            guard case .written = try await writer.append([.init(jobID: "W-2", knownRecordID: id, lines: [Self.line(2, "two")])])[0] else {
                Issue.record("not written after room was made"); return
            }
            #expect(await Self.history(sandbox, 2) == "trimmed by the office\n---- | 2026-12-02 09:00:00 | Event: Recording | Source: IVR | URL: https://b.s3/two")
        }
    }

    /// A remembered record that was deleted: the job is looked up again by its id; with no
    /// record left it is missing (and the step makes it unmatched); with a new record it is found.
    @Test func aDeletedRecordIsLookedUpAgain() async throws {
        try await LocalSandbox.with(seed: Self.seed(3), requestsPerSecond: 1000) { sandbox in
            let writer = HistoryWriter(airtable: sandbox.airtable(), settings: Self.settings)
            await sandbox.state.deleteRecord(table: 0, id: Self.record(1))
            await sandbox.state.deleteRecord(table: 0, id: Self.record(2))
            let replacement = await sandbox.state.addRecord(table: 0, fields: ["Job ID": .string("W-2")])
            let before = try await Self.served(sandbox)
            let outcomes = try await writer.append([
                .init(jobID: "W-1", knownRecordID: Self.record(1), lines: [Self.line(1, "one")]),
                .init(jobID: "W-2", knownRecordID: Self.record(2), lines: [Self.line(2, "two")]),
                .init(jobID: "W-3", knownRecordID: Self.record(3), lines: [Self.line(3, "three")]),
            ])
            guard case .missing = outcomes[0] else { Issue.record("\(outcomes[0])"); return }
            #expect(outcomes[1].recordID == replacement)
            #expect(outcomes[2].recordID == Self.record(3))
            #expect(try await Self.served(sandbox) == before + 3, "two reads (ids, then the lost ones' jobs) and one write")
        }
    }

    /// A record deleted between the read and the write: Airtable refuses the whole batch, so the
    /// records are sent one by one and only that job fails; the others are written.
    @Test func oneRefusedRecordFailsOnlyItsJob() async throws {
        try await LocalSandbox.with(seed: Self.seed(4), requestsPerSecond: 1000) { sandbox in
            let proxy = try await LocalProxy(upstream: sandbox.baseURL)
            // Every PATCH waits a moment in the proxy: long enough to delete a record after the read.
            try await proxy.add(.init(method: "PATCH", action: .latency, latencyMs: 1500))
            let writer = HistoryWriter(airtable: sandbox.airtable(through: proxy.baseURL), settings: Self.settings)
            let before = try await Self.served(sandbox)
            let writing = Task {
                try await writer.append((1...4).map { .init(jobID: "W-\($0)", knownRecordID: Self.record($0), lines: [Self.line($0, "k\($0)")]) })
            }
            _ = try await eventually { try await Self.served(sandbox) >= before + 1 ? true : nil }  // the read is answered
            await sandbox.state.deleteRecord(table: 0, id: Self.record(3))
            let outcomes = try await writing.value
            for n in [1, 2, 4] {
                #expect(outcomes[n - 1].recordID == Self.record(n), "W-\(n): \(outcomes[n - 1])")
                #expect(await Self.history(sandbox, n).hasSuffix("URL: https://b.s3/k\(n)"))
            }
            guard case .failed(let failure) = outcomes[2] else { Issue.record("\(outcomes[2])"); return }
            #expect(failure.kind == .missing)
            #expect(try await Self.served(sandbox) == before + 6, "the read, the refused batch, and four single writes")
        }
    }
}
