import Airtable
import Foundation
import Hummingbird
import Spec
import Transport
import Twilio

/// Airtable's records and metadata APIs for one base, with its limits: 5 requests/s per base and
/// 50 per token, 10 records per batch, 100,000 characters per long text, 16,000 per URL.
extension SandboxServer {
    func addAirtableRoutes(to router: Router<BasicRequestContext>) {
        router.get("/v0/meta/bases/:base/tables") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            let tables = await state.tables.map { table -> JSONValue in
                .object([
                    "id": .string(table.id), "name": .string(table.name), "primaryFieldId": .string(table.fields.first?.id ?? ""),
                    "fields": .array(table.fields.map { .object(["id": .string($0.id), "name": .string($0.name), "type": .string($0.type)]) }),
                ])
            }
            return Self.json(.object(["tables": .array(tables)]))
        }

        router.post("/v0/meta/bases/:base/tables/:table/fields") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            guard let table = await state.table(context.parameters.get("table") ?? "") else { return airtableError(404, "NOT_FOUND", "Could not find table") }
            let body = try? JSONDecoder().decode(JSONValue.self, from: try await Self.body(request))
            guard let name = body?["name"]?.stringValue, let type = body?["type"]?.stringValue else {
                return airtableError(422, "INVALID_REQUEST_UNKNOWN", "name and type are required")
            }
            guard let field = await state.addField(table: table, name: name, type: type) else {
                return airtableError(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", "Field names must be unique")
            }
            return Self.json(.object(["id": .string(field.id), "name": .string(field.name), "type": .string(field.type)]))
        }

        router.get("/v0/:base/:table") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            let fields = Self.queryValues(request, named: "fields[]")
            return await listRecords(table: context.parameters.get("table") ?? "", Self.query(request), fields: fields.isEmpty ? nil : fields)
        }

        // The list as a POST, its parameters in the body: for formulas too long for a URL.
        router.post("/v0/:base/:table/listRecords") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            guard let body = (try? JSONDecoder().decode(JSONValue.self, from: try await Self.body(request)))?.objectValue else {
                return airtableError(422, "INVALID_REQUEST_UNKNOWN", "Invalid request: parameter validation failed")
            }
            var parameters: [String: String] = [:]
            for (name, value) in body {
                switch value {
                case .string(let text): parameters[name] = text
                case .number(let number): parameters[name] = String(Int(number))
                default: break
                }
            }
            let fields = body["fields"]?.arrayValue?.compactMap(\.stringValue)
            return await listRecords(table: context.parameters.get("table") ?? "", parameters, fields: fields)
        }

        router.get("/v0/:base/:table/:record") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            guard let table = await state.table(context.parameters.get("table") ?? "") else { return notFound() }
            guard let record = await state.tables[table].records.first(where: { $0.id == context.parameters.get("record") }) else {
                return notFound()
            }
            return Self.json(recordJSON(record))
        }

        router.patch("/v0/:base/:table/:record") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            guard let table = await state.table(context.parameters.get("table") ?? "") else { return notFound() }
            guard let fields = (try? JSONDecoder().decode(JSONValue.self, from: try await Self.body(request)))?["fields"]?.objectValue else {
                return airtableError(422, "INVALID_REQUEST_MISSING_FIELDS", "Could not find field \"fields\" in the request body")
            }
            let id = context.parameters.get("record") ?? ""
            switch await state.updateRecords(table: table, [(id, fields)]) {
            case .success(let records): return Self.json(recordJSON(records[0]))
            case .failure(.missingRecord): return notFound()
            case .failure(let refusal): return refusalResponse(refusal)
            }
        }

        // Up to 10 records in one request: all are written, or none (a refusal names the first bad one).
        router.patch("/v0/:base/:table") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            guard let table = await state.table(context.parameters.get("table") ?? "") else { return notFound() }
            guard let records = (try? JSONDecoder().decode(JSONValue.self, from: try await Self.body(request)))?["records"]?.arrayValue else {
                return airtableError(422, "INVALID_REQUEST_MISSING_FIELDS", "Could not find field \"records\" in the request body")
            }
            guard records.count <= AirtableLimits.batchSize else {
                return airtableError(422, "INVALID_RECORDS", "You may only update up to \(AirtableLimits.batchSize) records in one request")
            }
            var updates: [(String, [String: JSONValue])] = []
            for record in records {
                guard let id = record["id"]?.stringValue, let fields = record["fields"]?.objectValue else {
                    return airtableError(422, "INVALID_RECORDS", "Each record needs an id and fields")
                }
                updates.append((id, fields))
            }
            switch await state.updateRecords(table: table, updates) {
            case .success(let written): return Self.json(.object(["records": .array(written.map(recordJSON))]))
            case .failure(let refusal): return refusalResponse(refusal)
            }
        }
    }

    /// `fields`: only these fields of each record, as Airtable answers (nil: all).
    private func listRecords(table name: String, _ parameters: [String: String], fields: [String]?) async -> Response {
        guard let table = await state.table(name) else { return notFound() }
        var records = await state.tables[table].records
        if let text = parameters["filterByFormula"], !text.isEmpty {
            guard let formula = SandboxFormula.parse(text) else {
                return airtableError(422, "INVALID_FILTER_BY_FORMULA", "The formula for filtering records is invalid: Invalid formula. Please check your formula text.")
            }
            records = records.filter { formula.matches(id: $0.id, fields: $0.fields) }
        }
        let size = min(100, max(1, parameters["pageSize"].flatMap { Int($0) } ?? 100))
        let offset = parameters["offset"].flatMap { Int($0) } ?? 0
        var slice = Array(records.dropFirst(offset).prefix(size))
        if let fields {
            let wanted = Set(fields)
            slice = slice.map { ($0.id, $0.fields.filter { wanted.contains($0.key) }) }
        }
        var page: [String: JSONValue] = ["records": .array(slice.map(recordJSON))]
        if offset + size < records.count { page["offset"] = .string(String(offset + size)) }
        return Self.json(.object(page))
    }

    private func refusalResponse(_ refusal: SandboxState.WriteRefusal) -> Response {
        switch refusal {
        case .missingRecord(let id):
            airtableError(404, "ROW_DOES_NOT_EXIST", "Record ID \(id) does not exist in this table")
        case .unknownField(let name):
            airtableError(422, "UNKNOWN_FIELD_NAME", "Unknown field name: \"\(name)\"")
        case .tooLong(let name, let length):
            airtableError(422, "INVALID_VALUE_FOR_COLUMN",
                          "Field \"\(name)\" cannot accept the provided value: \(length) characters exceed the long text limit of \(AirtableLimits.longTextCharacters)")
        }
    }

    /// Airtable's terse shape for a missing record or table: `{"error": "NOT_FOUND"}`.
    private func notFound() -> Response {
        Self.json(.object(["error": .string("NOT_FOUND")]), status: .notFound)
    }

    /// Bearer token, the right base, and the rate limit, in that order (as Airtable answers).
    private func airtableGate(_ request: Request, _ context: BasicRequestContext) async -> Response? {
        await state.noteAirtableArrival()
        // Airtable measures the whole URL; a long formula belongs in POST listRecords.
        let url = "https://api.airtable.com" + request.uri.string
        guard url.count <= AirtableLimits.urlCharacters else {
            return airtableError(414, "INVALID_REQUEST_UNKNOWN", "The URL is longer than \(AirtableLimits.urlCharacters) characters: use POST listRecords")
        }
        guard let given = request.headers[.authorization], TwilioSignature.constantTimeEqual(given, "Bearer \(seed.airtableToken)") else {
            return airtableError(401, "AUTHENTICATION_REQUIRED", "Authentication required")
        }
        // The token's own limit counts its requests to every base, this one's and others'.
        guard await state.admitToken() else {
            return airtableError(429, "RATE_LIMIT_REACHED", "Rate limit exceeded for this token. Please try again later")
        }
        guard context.parameters.get("base") == seed.baseID else {
            return airtableError(403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", "Invalid permissions, or the requested model was not found.")
        }
        if let status = await state.airtableOutageStatus() {
            return status == 429
                ? airtableError(429, "RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later")
                : airtableError(status, "SERVER_ERROR", "Service unavailable (sandbox outage)")
        }
        guard await state.admitAirtable() else {
            return airtableError(429, "RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later")
        }
        return nil
    }

    func airtableError(_ status: Int, _ type: String, _ message: String) -> Response {
        Self.json(.object(["error": .object(["type": .string(type), "message": .string(message)])]), status: .init(code: status))
    }

    private func recordJSON(_ record: (id: String, fields: [String: JSONValue])) -> JSONValue {
        .object(["id": .string(record.id), "createdTime": .string("2024-03-01T09:00:00.000Z"), "fields": .object(record.fields)])
    }
}
