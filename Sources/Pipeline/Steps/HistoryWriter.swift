import Airtable
import Foundation

/// One read-modify-write of a job's record in Airtable, the only code that writes a history:
/// the history step and `recordings url --append-history` both call it, each holding the job's
/// history claim so no two writers inside recops race on one record.
///
/// Airtable has no atomic append. The record is read, the missing lines are appended, the PATCH
/// answer (the record as written) is the read-back: every line must be in it.
///
/// Departure from PIPELINE.md step 4 (a second GET to read back): the PATCH answer already is
/// the record as written, so a GET a moment later only adds a window of a few milliseconds in
/// which a foreign writer's overwrite would show, at the price of one of the base's five
/// requests a second per update. A foreign writer who overwrites later is what `recops
/// reconcile` finds and repairs.
public struct HistoryWriter: Sendable {
    /// A line to have in the history.
    public enum Line: Sendable, Equatable {
        /// Written unless `marker` (the object key as it shows in any URL to it) is already there.
        case marked(String, marker: String)
        /// Written until `count` lines of the history are exactly this text (pending lines carry
        /// no unique marker: two recordings of one job in the same second have the same text).
        case counted(String, count: Int)
        /// Written whatever is there (a fresh link to an object already linked).
        case always(String)
    }

    let airtable: AirtableClient
    let settings: AirtableSettings

    public init(airtable: AirtableClient, settings: AirtableSettings) {
        self.airtable = airtable
        self.settings = settings
    }

    /// Has `lines` in the history of the record whose job id is `jobID` (found through
    /// `knownRecordID` when given and still there). Returns the record's id, or nil when no record
    /// has this job id. Throws `StepFailure(.invalid)` when the answer lacks a line (another writer raced).
    public func append(_ lines: [Line], jobID: String, knownRecordID: String?) async throws -> String? {
        var record: AirtableClient.Record?
        if let knownRecordID {
            record = try await airtable.record(base: settings.base, table: settings.table, id: knownRecordID)
        }
        if record == nil {
            // Never looked up, or the record was replaced since: find it by its job id.
            record = try await airtable.findRecord(base: settings.base, table: settings.table, field: settings.jobIdField, equals: jobID)
        }
        guard let record else { return nil }
        let original = record.fields[settings.historyField]?.stringValue ?? ""
        var history = original
        func add(_ line: String) {
            history += (history.isEmpty || history.hasSuffix("\n") ? "" : "\n") + line
        }
        for line in lines {
            switch line {
            case .marked(let text, let marker): if !Self.contains(history, marker) { add(text) }
            case .counted(let text, let count): for _ in 0..<max(0, count - Self.lines(history, equalTo: text)) { add(text) }
            case .always(let text): add(text)
            }
        }
        guard history != original else { return record.id }
        let updated = try await airtable.updateRecord(base: settings.base, table: settings.table, id: record.id, fields: [settings.historyField: .string(history)])
        let written = updated.fields[settings.historyField]?.stringValue ?? ""
        for line in lines {
            let present = switch line {
            case .marked(_, let marker): Self.contains(written, marker)
            case .counted(let text, let count): Self.lines(written, equalTo: text) >= count
            case .always(let text): Self.contains(written, text)
            }
            if !present {
                throw StepFailure(.invalid, "the history answer lacks the line \(Redaction.text(line.text)): another writer raced")
            }
        }
        return record.id
    }

    /// Whether `text` holds `marker`, code unit for code unit: a `Character` search would miss a
    /// key that someone's edit left followed by a combining mark, and write its line again.
    public static func contains(_ text: String, _ marker: String) -> Bool {
        text.range(of: marker, options: .literal) != nil
    }

    /// How many lines of `text` are exactly `line`; split by scalar, so "\r\n" (one
    /// `Character`) still ends a line.
    public static func lines(_ text: String, equalTo line: String) -> Int {
        let wanted = Array(line.unicodeScalars)
        return text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { Array($0.last == "\r" ? $0.dropLast() : $0[...]).elementsEqual(wanted) }.count
    }
}

extension HistoryWriter.Line {
    var text: String {
        switch self {
        case .marked(let text, _), .counted(let text, _), .always(let text): text
        }
    }
}
