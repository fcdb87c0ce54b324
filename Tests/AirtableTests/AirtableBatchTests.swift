import Airtable
import Foundation
import RecopsBase
import RecopsTesting
import Sandbox
import Spec
import Testing
import Transport

/// The batch API as Airtable has it, against the sandbox over HTTP: batched PATCH (10 at most,
/// all or nothing), reads by `OR(RECORD_ID() = …)`, `POST listRecords` for long formulas, the
/// URL-length refusal, the 100,000-character field, the token's own limit, both error shapes.
@Suite struct AirtableBatchTests {
    static let seed: SandboxSeed = {
        var seed = SandboxSeed.standard
        seed.jobs = (1...12).map { SandboxSeed.Job(id: String(format: "recBATCH%08d", $0), jobID: "B-\($0)", history: "note \($0)") }
        return seed
    }()

    /// A raw request to the sandbox, past the client's own checks.
    static func raw(_ sandbox: LocalSandbox, _ method: String, _ path: String, query: String? = nil, json: JSONValue? = nil) async throws -> (Int, JSONValue?) {
        var url = sandbox.baseURL.absoluteString + path
        if let query { url += "?" + query }
        var headers = [(name: "Authorization", value: "Bearer \(sandbox.seed.airtableToken)")]
        if json != nil { headers.append((name: "Content-Type", value: "application/json")) }
        let response = try await AsyncHTTPClientTransport().send(HTTPRequest(method: method, url: URL(string: url)!, headers: headers,
                                                                              body: json.map { Data($0.encoded().utf8) } ?? Data()))
        return (response.status, try? JSONDecoder().decode(JSONValue.self, from: response.body))
    }

    static func history(_ sandbox: LocalSandbox, _ record: String) async -> String? {
        await sandbox.state.field(table: 0, record: record, name: "job_history")?.stringValue
    }

    @Test func tenRecordsInOnePatchAndElevenAreRefused() async throws {
        try await LocalSandbox.with(seed: Self.seed, requestsPerSecond: 1000) { sandbox in
            let airtable = sandbox.airtable()
            let updates = (1...10).map { AirtableClient.Update(id: String(format: "recBATCH%08d", $0), fields: ["job_history": .string("line \($0)")]) }
            let written = try await airtable.updateRecords(base: sandbox.seed.baseID, table: "Jobs", updates)
            #expect(written.map(\.id) == updates.map(\.id))
            #expect(written.map { $0.fields["job_history"] } == (1...10).map { .string("line \($0)") })
            #expect(written[0].fields["Job ID"] == .string("B-1"), "a PATCH keeps the fields it does not send")
            // The client refuses an eleventh before sending; the sandbox refuses it as Airtable does.
            await #expect(throws: AirtableError.self) {
                _ = try await airtable.updateRecords(base: sandbox.seed.baseID, table: "Jobs", updates + [updates[0]])
            }
            let eleven = JSONValue.object(["records": .array((1...11).map { .object(["id": .string(String(format: "recBATCH%08d", $0)), "fields": .object(["job_history": .string("x")])]) })])
            let (status, body) = try await Self.raw(sandbox, "PATCH", "/v0/\(sandbox.seed.baseID)/Jobs", json: eleven)
            #expect(status == 422 && body?["error"]?["type"] == .string("INVALID_RECORDS"))
            #expect(await Self.history(sandbox, "recBATCH00000011") == "note 11", "nothing of a refused batch is written")
        }
    }

    @Test func aBatchWithOneRefusedRecordWritesNone() async throws {
        try await LocalSandbox.with(seed: Self.seed, requestsPerSecond: 1000) { sandbox in
            let airtable = sandbox.airtable()
            let base = sandbox.seed.baseID
            // One value over the 100,000-character cap (counted as Airtable counts: UTF-16).
            let tooLong = String(repeating: "é", count: 99_990) + "😀😀😀😀😀😀"
            #expect(tooLong.unicodeScalars.count == 99_996 && AirtableLimits.length(tooLong) == 100_002)
            let error = await #expect(throws: AirtableError.self) {
                _ = try await airtable.updateRecords(base: base, table: "Jobs", [
                    .init(id: "recBATCH00000001", fields: ["job_history": .string("fine")]),
                    .init(id: "recBATCH00000002", fields: ["job_history": .string(tooLong)]),
                ])
            }
            #expect(error?.status == 422 && error?.type == "INVALID_VALUE_FOR_COLUMN")
            #expect(await Self.history(sandbox, "recBATCH00000001") == "note 1")
            #expect(await Self.history(sandbox, "recBATCH00000002") == "note 2")
            // Exactly at the cap is accepted.
            let atCap = String(repeating: "x", count: AirtableLimits.longTextCharacters)
            _ = try await airtable.updateRecords(base: base, table: "Jobs", [.init(id: "recBATCH00000003", fields: ["job_history": .string(atCap)])])
            #expect(await Self.history(sandbox, "recBATCH00000003")?.count == 100_000)
            // A record deleted meanwhile: 404 ROW_DOES_NOT_EXIST, and the batch writes nothing.
            await sandbox.state.deleteRecord(table: 0, id: "recBATCH00000005")
            let gone = await #expect(throws: AirtableError.self) {
                _ = try await airtable.updateRecords(base: base, table: "Jobs", [
                    .init(id: "recBATCH00000004", fields: ["job_history": .string("fine")]),
                    .init(id: "recBATCH00000005", fields: ["job_history": .string("fine")]),
                ])
            }
            #expect(gone?.status == 404 && gone?.type == "ROW_DOES_NOT_EXIST")
            #expect(await Self.history(sandbox, "recBATCH00000004") == "note 4")
        }
    }

    @Test func recordsAreReadByIdAndByJobInOneRequest() async throws {
        try await LocalSandbox.with(seed: Self.seed, requestsPerSecond: 1000) { sandbox in
            let airtable = sandbox.airtable()
            let formula = AirtableFormula.or([AirtableFormula.recordID("recBATCH00000003"), AirtableFormula.recordID("recBATCH00000007"),
                                              AirtableFormula.equals(field: "Job ID", "B-9"), AirtableFormula.recordID("recMISSING000000")])
            #expect(formula == #"OR(RECORD_ID() = "recBATCH00000003", RECORD_ID() = "recBATCH00000007", {Job ID} = "B-9", RECORD_ID() = "recMISSING000000")"#)
            let before = try await sandbox.dump()["airtable"]?["served"]?.numberValue ?? 0
            let found = try await airtable.findRecords(base: sandbox.seed.baseID, table: "Jobs", formula: formula, fields: ["Job ID"])
            #expect(found.map(\.id) == ["recBATCH00000003", "recBATCH00000007", "recBATCH00000009"])
            #expect(found.allSatisfy { $0.fields.keys.sorted() == ["Job ID"] }, "only the fields asked for")
            #expect(try await sandbox.dump()["airtable"]?["served"]?.numberValue == before + 1)
            // Lengths in a formula: the records near the cap.
            await sandbox.state.setField(table: 0, record: "recBATCH00000010", name: "job_history", value: .string(String(repeating: "y", count: 95_000)))
            let near = try await airtable.findRecords(base: sandbox.seed.baseID, table: "Jobs", formula: AirtableFormula.lengthOver(field: "job_history", 90_000))
            #expect(near.map(\.id) == ["recBATCH00000010"])
            // Anything outside the subset is an invalid formula, as Airtable answers one it cannot read.
            let (status, body) = try await Self.raw(sandbox, "GET", "/v0/\(sandbox.seed.baseID)/Jobs", query: "filterByFormula=" + FormEncoding.escape("SEARCH(\"x\", {Job ID})"))
            #expect(status == 422 && body?["error"]?["type"] == .string("INVALID_FILTER_BY_FORMULA"))
        }
    }

    /// A formula past Airtable's 16,000-character URL goes as `POST listRecords`; sent as a GET,
    /// the sandbox refuses it as Airtable does.
    @Test func aLongFormulaGoesThroughPostListRecords() async throws {
        try await LocalSandbox.with(seed: Self.seed, requestsPerSecond: 1000) { sandbox in
            let wanted = (1...12).map { "B-\($0)" }
            // Long job ids, with quotes and combining marks: escaped by scalar, never by grapheme.
            let padding = (0..<100).map { _ in "\"\u{0301}" }.joined()
            let formula = AirtableFormula.or(wanted.map { AirtableFormula.equals(field: "Job ID", $0) } + (0..<20).map { AirtableFormula.equals(field: "Job ID", padding + "\($0)") })
            #expect(FormEncoding.escape(formula).count > AirtableLimits.urlCharacters)
            let (status, _) = try await Self.raw(sandbox, "GET", "/v0/\(sandbox.seed.baseID)/Jobs", query: "filterByFormula=" + FormEncoding.escape(formula))
            #expect(status == 414, "a URL over 16,000 characters is refused")
            let found = try await sandbox.airtable().findRecords(base: sandbox.seed.baseID, table: "Jobs", formula: formula)
            #expect(found.map { $0.fields["Job ID"] } == wanted.map(JSONValue.string))
        }
    }

    /// The token's own limit counts requests to every base: three to another base use up a
    /// limit of three, and the fourth, to the right base, is refused. The window is stretched to
    /// ten minutes: a busy machine can take more than a second over four requests (CI did).
    @Test func theTokenLimitSpansBases() async throws {
        try await LocalSandbox.with(seed: Self.seed, requestsPerSecond: 1000, tokenRequestsPerSecond: 3, throttlePause: .seconds(5),
                                    rateWindow: .seconds(600)) { sandbox in
            let airtable = sandbox.airtable(retry: RetryPolicy(maxAttempts: 1))
            for _ in 0..<3 {
                let other = await #expect(throws: AirtableError.self) { _ = try await airtable.tables(base: "appOTHER00000000") }
                #expect(other?.status == 403)
            }
            let refused = await #expect(throws: AirtableError.self) { _ = try await airtable.tables(base: sandbox.seed.baseID) }
            #expect(refused?.status == 429 && refused?.type == "RATE_LIMIT_REACHED")
        }
    }

    /// Both error shapes: `{"error": "NOT_FOUND"}` and `{"error": {"type", "message"}}`.
    @Test func bothErrorShapesAreRead() async throws {
        try await LocalSandbox.with(seed: Self.seed, requestsPerSecond: 1000) { sandbox in
            let (status, body) = try await Self.raw(sandbox, "GET", "/v0/\(sandbox.seed.baseID)/Jobs/recMISSING000000")
            #expect(status == 404 && body?["error"] == .string("NOT_FOUND"))
            let error = await #expect(throws: AirtableError.self) {
                _ = try await sandbox.airtable().updateRecord(base: sandbox.seed.baseID, table: "Jobs", id: "recMISSING000000", fields: ["job_history": .string("x")])
            }
            #expect(error?.status == 404 && error?.type == "NOT_FOUND")
            let unknown = await #expect(throws: AirtableError.self) {
                _ = try await sandbox.airtable().updateRecords(base: sandbox.seed.baseID, table: "Jobs", [.init(id: "recBATCH00000001", fields: ["nope": .string("x")])])
            }
            #expect(unknown?.status == 422 && unknown?.type == "UNKNOWN_FIELD_NAME")
        }
    }
}
