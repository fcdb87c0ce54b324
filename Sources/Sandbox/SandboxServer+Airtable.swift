import Foundation
import Hummingbird
import Spec
import Transport
import Twilio

/// Airtable's records and metadata APIs for one base, with its 5 requests/s limit.
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
            guard let table = await state.table(context.parameters.get("table") ?? "") else { return airtableError(404, "NOT_FOUND", "Could not find table") }
            var records = await state.tables[table].records
            if let formula = Self.query(request)["filterByFormula"] {
                guard let (field, value) = FormulaSubset.parseEquality(formula) else {
                    return airtableError(422, "INVALID_FILTER_BY_FORMULA", "The formula for filtering records is invalid")
                }
                records = records.filter { $0.fields[field]?.stringValue == value }
            }
            let size = min(100, max(1, Self.query(request)["pageSize"].flatMap { Int($0) } ?? 100))
            let offset = Self.query(request)["offset"].flatMap { Int($0) } ?? 0
            let slice = records.dropFirst(offset).prefix(size)
            var page: [String: JSONValue] = ["records": .array(slice.map(recordJSON))]
            if offset + size < records.count { page["offset"] = .string(String(offset + size)) }
            return Self.json(.object(page))
        }

        router.get("/v0/:base/:table/:record") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            guard let table = await state.table(context.parameters.get("table") ?? ""),
                  let record = await state.tables[table].records.first(where: { $0.id == context.parameters.get("record") }) else {
                return airtableError(404, "NOT_FOUND", "Could not find record")
            }
            return Self.json(recordJSON(record))
        }

        router.patch("/v0/:base/:table/:record") { request, context in
            if let denied = await airtableGate(request, context) { return denied }
            guard let table = await state.table(context.parameters.get("table") ?? "") else { return airtableError(404, "NOT_FOUND", "Could not find table") }
            guard let fields = (try? JSONDecoder().decode(JSONValue.self, from: try await Self.body(request)))?["fields"]?.objectValue else {
                return airtableError(422, "INVALID_REQUEST_MISSING_FIELDS", "Could not find field \"fields\" in the request body")
            }
            let known = Set(await state.tables[table].fields.map(\.name))
            if let unknown = fields.keys.first(where: { !known.contains($0) }) {
                return airtableError(422, "UNKNOWN_FIELD_NAME", "Unknown field name: \"\(unknown)\"")
            }
            guard let record = await state.updateRecord(table: table, id: context.parameters.get("record") ?? "", fields: fields) else {
                return airtableError(404, "NOT_FOUND", "Could not find record")
            }
            return Self.json(recordJSON(record))
        }
    }

    /// Bearer token, the right base, and the rate limit, in that order (as Airtable answers).
    private func airtableGate(_ request: Request, _ context: BasicRequestContext) async -> Response? {
        await state.noteAirtableArrival()
        guard let given = request.headers[.authorization], TwilioSignature.constantTimeEqual(given, "Bearer \(seed.airtableToken)") else {
            return airtableError(401, "AUTHENTICATION_REQUIRED", "Authentication required")
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

/// The one formula shape recops sends, `{Field} = "value"` (or single quotes), parsed strictly:
/// anything else is refused as Airtable refuses an invalid formula.
///
/// Parsed by Unicode scalar, as Airtable reads it: a quote fused with a combining mark into one
/// `Character` is still a quote (a parser over characters hid exactly that escaping bug).
enum FormulaSubset {
    static func parseEquality(_ formula: String) -> (field: String, value: String)? {
        let whitespace: Set<Unicode.Scalar> = [" ", "\t"]
        var scalars = Array(formula.unicodeScalars)
        func trim(_ s: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
            Array(s.drop(while: { whitespace.contains($0) }).reversed().drop(while: { whitespace.contains($0) }).reversed())
        }
        scalars = trim(scalars[...])
        guard scalars.first == "{" else { return nil }
        var index = 1
        var field = String.UnicodeScalarView()
        while index < scalars.count, scalars[index] != "}" {
            if scalars[index] == "\\", index + 1 < scalars.count { index += 1 }
            field.append(scalars[index])
            index += 1
        }
        guard index < scalars.count else { return nil }
        scalars = trim(scalars[(index + 1)...])
        guard scalars.first == "=" else { return nil }
        scalars = trim(scalars.dropFirst())
        guard let quote = scalars.first, quote == "\"" || quote == "'" else { return nil }
        var value = String.UnicodeScalarView()
        index = 1
        while index < scalars.count, scalars[index] != quote {
            if scalars[index] == "\\", index + 1 < scalars.count {
                index += 1
                switch scalars[index] {
                case "n": value.append("\n")
                case "r": value.append("\r")
                default: value.append(scalars[index])
                }
            } else {
                value.append(scalars[index])
            }
            index += 1
        }
        // The closing quote must end the formula: nothing may follow the literal.
        guard index == scalars.count - 1 else { return nil }
        return (String(field), String(value))
    }
}
