import Airtable
import Spec

/// `airtable.field/<table>.<field>`: a field of the Jobs table.
///
/// The history field is created when missing (long text). The job-id field holds data people
/// typed: recops never creates it, and a wrong type is a failed check, never "fixed" by
/// recreating a field full of data.
public struct AirtableFieldResource: Resource {
    public struct State: Equatable, Codable, Sendable {
        public var exists: Bool
        /// Observed only; checked, not changed.
        public var type: String?
        /// Observed only (the history field): records within 10% of the field's cap.
        public var nearlyFull: [NearlyFull]?
    }

    /// A record whose history is close to Airtable's 100,000-character cap.
    public struct NearlyFull: Equatable, Codable, Sendable {
        public var recordID: String
        public var jobID: String?
        public var length: Int
    }

    /// A history within 10% of the cap is reported: a few more calls and its recordings wait as
    /// `history_full` until someone archives old lines.
    public static let nearlyFullLength = AirtableLimits.longTextCharacters * 9 / 10
    /// Warnings named one by one; the rest are counted.
    static let warningsListed = 20

    public let id: ResourceID
    public let part = SpecPart.airtable
    public let specPath: String
    public let desired = State(exists: true, type: nil)
    public let canCreate: Bool
    let base: String
    let table: String
    let field: String
    /// The type the field must have, when it matters.
    let requiredType: String?
    /// The job-id field, named in warnings; set for the history field only, whose lengths are watched.
    let watchedByJobField: String?
    let airtable: AirtableClient

    /// The history field: created when missing, must be long text.
    public static func history(spec: Spec.Airtable, airtable: AirtableClient) -> AirtableFieldResource {
        AirtableFieldResource(spec: spec, field: spec.historyField, specPath: "airtable.history_field", requiredType: "multilineText", canCreate: true,
                              watchedByJobField: spec.jobIdField, airtable: airtable)
    }

    /// The job-id field: must exist.
    public static func jobID(spec: Spec.Airtable, airtable: AirtableClient) -> AirtableFieldResource {
        AirtableFieldResource(spec: spec, field: spec.jobIdField, specPath: "airtable.job_id_field", requiredType: nil, canCreate: false,
                              watchedByJobField: nil, airtable: airtable)
    }

    init(spec: Spec.Airtable, field: String, specPath: String, requiredType: String?, canCreate: Bool, watchedByJobField: String?, airtable: AirtableClient) {
        base = spec.base
        table = spec.table
        self.field = field
        self.specPath = specPath
        self.requiredType = requiredType
        self.canCreate = canCreate
        self.watchedByJobField = watchedByJobField
        self.airtable = airtable
        id = ResourceID("airtable.field", "\(spec.table).\(field)")
    }

    struct MissingTable: Error, CustomStringConvertible {
        var table: String
        var base: String
        var description: String { "table '\(table)' does not exist in base \(base)" }
    }

    public func observe() async throws -> State? {
        guard let found = try await airtable.tables(base: base).first(where: { $0.name == table || $0.id == table }) else {
            throw MissingTable(table: table, base: base)
        }
        guard let existing = found.fields.first(where: { $0.name == field }) else {
            return nil
        }
        var nearlyFull: [NearlyFull]?
        if let jobField = watchedByJobField, existing.type == requiredType {
            // One filtered read: only the few long records come back.
            let records = try await airtable.findRecords(base: base, table: table, formula: AirtableFormula.lengthOver(field: field, Self.nearlyFullLength),
                                                         fields: [jobField, field])
            nearlyFull = records.map { record in
                NearlyFull(recordID: record.id, jobID: record.fields[jobField]?.stringValue,
                           length: AirtableLimits.length(record.fields[field]?.stringValue ?? ""))
            }.sorted { ($0.length, $1.recordID) > ($1.length, $0.recordID) }
        }
        return State(exists: true, type: existing.type, nearlyFull: nearlyFull)
    }

    public func warnings(observed: State?) -> [CheckFailure] {
        let nearlyFull = observed?.nearlyFull ?? []
        let cap = AirtableLimits.longTextCharacters
        var warnings = nearlyFull.prefix(Self.warningsListed).map { record in
            let job = record.jobID.map { "job \($0) (\(record.recordID))" } ?? "record \(record.recordID)"
            return CheckFailure(property: "length", expected: .number(Double(Self.nearlyFullLength)), actual: .number(Double(record.length)),
                                message: "\(job): '\(field)' holds \(record.length) of its \(cap) characters; when a line no longer fits, "
                                    + "its recordings wait as history_full: move old lines out of the field to make room")
        }
        if nearlyFull.count > Self.warningsListed {
            warnings.append(CheckFailure(property: "length", expected: .number(Double(Self.nearlyFullLength)), actual: .number(Double(nearlyFull.count)),
                                         message: "and \(nearlyFull.count - Self.warningsListed) more records whose '\(field)' is over \(Self.nearlyFullLength) characters"))
        }
        return warnings
    }

    public func checks(observed: State?) -> [CheckFailure] {
        guard let observed else {
            if canCreate { return [] }
            return [CheckFailure(property: "exists", expected: .bool(true), actual: .bool(false),
                                 message: "field '\(field)' is missing from table '\(table)'; recops will not create it: it holds the job numbers callers give")]
        }
        if let requiredType, observed.type != requiredType {
            return [CheckFailure(property: "type", expected: .string(requiredType), actual: .string(observed.type ?? ""),
                                 message: "field '\(field)' is \(observed.type ?? "of no type"), not \(requiredType); change its type in Airtable (apply will not recreate a field that holds data)")]
        }
        return []
    }

    public func apply(_ change: Change<State>) async throws {
        guard case .create = change, let requiredType else { return }
        guard let found = try await airtable.tables(base: base).first(where: { $0.name == table || $0.id == table }) else {
            throw MissingTable(table: table, base: base)
        }
        try await airtable.createField(base: base, tableID: found.id, name: field, type: requiredType)
    }
}
