import Airtable
import Foundation
import RecopsTesting
import Spec
import Testing
import Transport

@Suite struct AirtableClientTests {
    @Test func getPatchAndFindRecords() async throws {
        try await LocalSandbox.with(requestsPerSecond: 1000) { sandbox in
            let airtable = sandbox.airtable()
            let base = sandbox.seed.baseID
            let found = try #require(try await airtable.findRecord(base: base, table: "Jobs", field: "Job ID", equals: "J-1002"))
            #expect(found.id == "recJOB0000000002")
            let updated = try await airtable.updateRecord(base: base, table: "Jobs", id: found.id, fields: ["job_history": .string("line 1")])
            #expect(updated.fields["job_history"] == .string("line 1"))
            // PATCH changed only what was sent.
            #expect(updated.fields["Job ID"] == .string("J-1002"))
            #expect(try await airtable.record(base: base, table: "Jobs", id: "recMISSING000000") == nil)
        }
    }

    @Test(arguments: [#"J-1001" OR 1=1 OR "x"#, #"J-1001'"#, #"\"#, "J-1001\") & {Job ID} = (\"J-1002", "{Job ID}"])
    func anUntrustedJobIDCannotChangeTheQuery(_ hostile: String) async throws {
        try await LocalSandbox.with(requestsPerSecond: 1000) { sandbox in
            let found = try await sandbox.airtable().findRecord(base: sandbox.seed.baseID, table: "Jobs", field: "Job ID", equals: hostile)
            #expect(found == nil)
        }
    }

    @Test func formulaEscaping() {
        #expect(AirtableFormula.equals(field: "Job ID", "J-1") == #"{Job ID} = "J-1""#)
        #expect(AirtableFormula.string(#"a"b\c"#) == #""a\"b\\c""#)
    }

    @Test func tablesAndFields() async throws {
        try await LocalSandbox.with(requestsPerSecond: 1000) { sandbox in
            let airtable = sandbox.airtable()
            let base = sandbox.seed.baseID
            let table = try #require(try await airtable.tables(base: base).first)
            #expect(table.fields.map(\.type) == ["singleLineText", "multilineText"])
            let field = try await airtable.createField(base: base, tableID: table.id, name: "notes", type: "multilineText")
            #expect(field.name == "notes")
            #expect(try await airtable.tables(base: base).first?.fields.count == 3)
        }
    }

    @Test func aWrongTokenIsAuthenticationRequired() async throws {
        try await LocalSandbox.with { sandbox in
            let error = await #expect(throws: AirtableError.self) {
                _ = try await sandbox.airtable(token: "patWRONG").tables(base: sandbox.seed.baseID)
            }
            #expect(error?.status == 401)
            #expect(error?.type == "AUTHENTICATION_REQUIRED")
            #expect(!(error?.description.contains("patWRONG") ?? true))
        }
    }

    /// A burst of 25 requests through one limiter: none is refused by the base (so none went
    /// faster than 5/s), and all 25 are answered.
    @Test func theLimiterKeepsABurstUnderFivePerSecond() async throws {
        try await LocalSandbox.with(requestsPerSecond: 5, throttlePause: .seconds(1)) { sandbox in
            let airtable = sandbox.airtable(limiter: RateLimiter(requestsPerSecond: 5), retry: RetryPolicy(maxAttempts: 1))
            let base = sandbox.seed.baseID
            let started = ContinuousClock.now
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<25 {
                    group.addTask { try await airtable.findRecords(base: base, table: "Jobs", formula: AirtableFormula.equals(field: "Job ID", "J-1001")).count }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(results == Array(repeating: 1, count: 25))
            let state = try await sandbox.dump()
            #expect(state["airtable"]?["throttled"] == .number(0))
            #expect(state["airtable"]?["served"] == .number(25))
            // 25 requests at 5/s cannot finish in under 4 s.
            #expect(ContinuousClock.now - started >= .seconds(4))
        }
    }

    @Test func a429PausesTheBase() async throws {
        try await LocalSandbox.with(requestsPerSecond: 2, throttlePause: .milliseconds(500)) { sandbox in
            // A limiter that allows more than the base: the base answers 429, the client pauses
            // the base and retries after the pause, so every request still succeeds. (Twenty attempts:
            // a slow machine spreads a burst; a client that ignored the pause would spend them all
            // within the sandbox's 500 ms block.)
            let limiter = RateLimiter(requestsPerSecond: 50, pauseAfterThrottle: .milliseconds(600))
            let airtable = sandbox.airtable(limiter: limiter, retry: RetryPolicy(maxAttempts: 20, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2)))
            let base = sandbox.seed.baseID
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { _ = try await airtable.tables(base: base) } }
                try await group.waitForAll()
            }
            let state = try await sandbox.dump()
            #expect(state["airtable"]?["served"] == .number(8))
            guard case .number(let throttled)? = state["airtable"]?["throttled"] else { return }
            #expect(throttled >= 1)
        }
    }
}
