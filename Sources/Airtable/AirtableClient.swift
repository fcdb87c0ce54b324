import Foundation
import RecopsBase
import Logging
import Transport

/// Airtable's REST and metadata APIs: the Jobs table's records and fields.
public struct AirtableClient: Sendable, CustomStringConvertible {
    public struct Record: Sendable, Equatable {
        public var id: String
        public var fields: [String: JSONValue]
    }

    public struct Table: Sendable, Equatable, Decodable {
        public var id: String
        public var name: String
        public var fields: [Field]
    }

    public struct Field: Sendable, Equatable, Decodable {
        public var id: String
        public var name: String
        public var type: String
    }

    public static let defaultBaseURL = URL(string: "https://api.airtable.com")!

    let token: String
    public let baseURL: URL
    let transport: any HTTPTransport
    let limiter: any RequestBudget
    let retry: RetryPolicy
    let logger: Logger
    /// Told of every answer (or transport failure, status nil): the pipeline's request counts.
    let observer: @Sendable (_ operation: String, _ status: Int?) -> Void

    /// `limiter` is shared by every client of the process (and, when it is a shared budget, of
    /// every replica), so all of them together keep to the base's limit.
    public init(token: String, baseURL: URL = defaultBaseURL, transport: any HTTPTransport, limiter: any RequestBudget,
                retry: RetryPolicy = RetryPolicy(maxAttempts: 4), logger: Logger,
                observer: @escaping @Sendable (_ operation: String, _ status: Int?) -> Void = { _, _ in }) {
        self.observer = observer
        self.token = token
        self.baseURL = baseURL
        self.transport = transport
        self.limiter = limiter
        self.retry = retry
        self.logger = logger
    }

    /// Never the token.
    public var description: String { "AirtableClient(\(baseURL.absoluteString), token redacted)" }

    private func send(_ operation: String, base: String, _ method: String, _ path: String, query: [(String, String)] = [], json: Data? = nil) async throws -> Data {
        var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)!
        components.path = path
        if !query.isEmpty {
            components.percentEncodedQuery = query.map { "\(FormEncoding.escape($0.0))=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
        }
        var headers = [(name: "Authorization", value: "Bearer \(token)")]
        if json != nil { headers.append((name: "Content-Type", value: "application/json")) }
        let request = HTTPRequest(method: method, url: components.url!, headers: headers, body: json ?? Data())
        return try await retry.run(shouldRetry: { ($0 as? AirtableError)?.isRetryable ?? ($0 is TransportError) }) {
            // The pause is set before the turn is released: the next waiter must see it.
            let response = try await limiter.run(base) {
                let response: HTTPResponse
                do {
                    response = try await transport.send(request)
                } catch {
                    observer(operation, nil)
                    throw error
                }
                observer(operation, response.status)
                if response.status == 429 { await limiter.throttled(base) }
                return response
            }
            logger.debug("airtable request", metadata: ["operation": "\(operation)", "status": "\(response.status)"])
            guard response.isSuccess else { throw Self.error(response, operation: operation) }
            return response.body
        }
    }

    static func error(_ response: HTTPResponse, operation: String) -> AirtableError {
        let object = (try? JSONDecoder().decode(JSONValue.self, from: response.body))?.objectValue
        var type = "HTTP_\(response.status)"
        var message = ""
        switch object?["error"] {
        case .object(let error)?:
            type = error["type"]?.stringValue ?? type
            message = error["message"]?.stringValue ?? ""
        case .string(let text)?:
            type = text
        default:
            break
        }
        return AirtableError(type: type, message: message, status: response.status, operation: operation)
    }

    private func path(_ base: String, _ table: String, _ record: String? = nil) -> String {
        "/v0/\(base)/\(FormEncoding.escape(table))" + (record.map { "/\(FormEncoding.escape($0))" } ?? "")
    }

    static func record(_ value: JSONValue?) -> Record? {
        guard let object = value?.objectValue, let id = object["id"]?.stringValue else { return nil }
        return Record(id: id, fields: object["fields"]?.objectValue ?? [:])
    }

    // MARK: Records

    /// The record, or nil when it does not exist.
    public func record(base: String, table: String, id: String) async throws -> Record? {
        do {
            let body = try await send("GetRecord", base: base, "GET", path(base, table, id))
            return Self.record(try JSONDecoder().decode(JSONValue.self, from: body))
        } catch let error as AirtableError where error.status == 404 {
            return nil
        }
    }

    /// PATCH: only the fields sent change.
    @discardableResult
    public func updateRecord(base: String, table: String, id: String, fields: [String: JSONValue]) async throws -> Record {
        let json = try JSONEncoder().encode(JSONValue.object(["fields": .object(fields)]))
        let body = try await send("UpdateRecord", base: base, "PATCH", path(base, table, id), json: json)
        guard let record = Self.record(try JSONDecoder().decode(JSONValue.self, from: body)) else {
            throw AirtableError(type: "INVALID_RESPONSE", message: "no record in the answer", status: 200, operation: "UpdateRecord")
        }
        return record
    }

    /// One record's update in a batch.
    public struct Update: Sendable, Equatable {
        public var id: String
        public var fields: [String: JSONValue]

        public init(id: String, fields: [String: JSONValue]) {
            self.id = id
            self.fields = fields
        }
    }

    /// PATCH of up to `AirtableLimits.batchSize` records in one request: Airtable writes all of
    /// them or none. Returns the records as written, in the order sent.
    public func updateRecords(base: String, table: String, _ updates: [Update]) async throws -> [Record] {
        guard !updates.isEmpty else { return [] }
        guard updates.count <= AirtableLimits.batchSize else {
            throw AirtableError(type: "INVALID_RECORDS", message: "at most \(AirtableLimits.batchSize) records per update, not \(updates.count)", status: 422,
                                operation: "UpdateRecords")
        }
        let json = try JSONEncoder().encode(JSONValue.object(["records": .array(updates.map {
            .object(["id": .string($0.id), "fields": .object($0.fields)])
        })]))
        let body = try await send("UpdateRecords", base: base, "PATCH", path(base, table), json: json)
        let records = (try JSONDecoder().decode(JSONValue.self, from: body))["records"]?.arrayValue?.compactMap { Self.record($0) } ?? []
        guard records.count == updates.count else {
            throw AirtableError(type: "INVALID_RESPONSE", message: "\(records.count) records in the answer to an update of \(updates.count)", status: 200,
                                operation: "UpdateRecords")
        }
        return records
    }

    /// Records matching a formula, every page. Build the formula with `AirtableFormula`. A
    /// request whose URL would be too long for Airtable goes as `POST …/listRecords`, the
    /// parameters in its body. `fields`: only these fields in the answer (all when empty).
    public func findRecords(base: String, table: String, formula: String, fields: [String] = [], pageSize: Int = 100) async throws -> [Record] {
        var records: [Record] = []
        var offset: String?
        repeat {
            var query = [("filterByFormula", formula), ("pageSize", String(pageSize))] + fields.map { ("fields[]", $0) }
            if let offset { query.append(("offset", offset)) }
            let body: Data
            if Self.urlLength(baseURL: baseURL, path: path(base, table), query: query) <= AirtableLimits.urlCharactersForGET {
                body = try await send("ListRecords", base: base, "GET", path(base, table), query: query)
            } else {
                var parameters: [String: JSONValue] = ["filterByFormula": .string(formula), "pageSize": .number(Double(pageSize))]
                if !fields.isEmpty { parameters["fields"] = .array(fields.map(JSONValue.string)) }
                if let offset { parameters["offset"] = .string(offset) }
                body = try await send("ListRecords", base: base, "POST", path(base, table) + "/listRecords", json: try JSONEncoder().encode(JSONValue.object(parameters)))
            }
            let page = try JSONDecoder().decode(JSONValue.self, from: body).objectValue
            records += page?["records"]?.arrayValue?.compactMap { Self.record($0) } ?? []
            offset = page?["offset"]?.stringValue
        } while offset != nil
        return records
    }

    /// The length of the URL a GET with `query` would have, percent-encoded as `send` encodes it.
    static func urlLength(baseURL: URL, path: String, query: [(String, String)]) -> Int {
        baseURL.absoluteString.count + path.count + 1 + query.map { FormEncoding.escape($0.0).count + 1 + FormEncoding.escape($0.1).count }.reduce(0, +)
            + max(0, query.count - 1)
    }

    /// The record whose `field` equals `value` exactly (value escaped: it may be untrusted).
    public func findRecord(base: String, table: String, field: String, equals value: String) async throws -> Record? {
        try await findRecords(base: base, table: table, formula: AirtableFormula.equals(field: field, value), pageSize: 2).first
    }

    // MARK: Schema

    public func tables(base: String) async throws -> [Table] {
        struct Output: Decodable { var tables: [Table] }
        let body = try await send("ListTables", base: base, "GET", "/v0/meta/bases/\(base)/tables")
        return try JSONDecoder().decode(Output.self, from: body).tables
    }

    @discardableResult
    public func createField(base: String, tableID: String, name: String, type: String) async throws -> Field {
        let json = try JSONEncoder().encode(JSONValue.object(["name": .string(name), "type": .string(type)]))
        let body = try await send("CreateField", base: base, "POST", "/v0/meta/bases/\(base)/tables/\(tableID)/fields", json: json)
        return try JSONDecoder().decode(Field.self, from: body)
    }
}
