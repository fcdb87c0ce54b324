import Airtable
import Foundation
import RecopsBase

/// One read-modify-write of a job's record in Airtable, the only code that writes a history:
/// the history step and `recordings url --append-history` both call it, each holding the job's
/// history claim so no two writers inside recops race on one record.
///
/// Airtable has no atomic append. The record is read, the missing lines are appended, the PATCH
/// answer (the record as written) is the read-back: every line must be in it. Up to ten jobs
/// share one read (`OR(RECORD_ID() = …, {Job ID} = …)`) and one batched PATCH; each keeps its
/// own history claim, so batching changes no one's exclusivity.
///
/// The field holds 100,000 characters. A line that does not fit is not written, and nothing
/// else in the field is cut or rewritten: the job goes to `history_full` until someone makes room.
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

    /// One job's lines, and the record remembered for it.
    public struct Entry: Sendable, Equatable {
        public var jobID: String
        public var knownRecordID: String?
        public var lines: [Line]

        public init(jobID: String, knownRecordID: String?, lines: [Line]) {
            self.jobID = jobID
            self.knownRecordID = knownRecordID
            self.lines = lines
        }
    }

    /// What became of one entry.
    public enum Outcome: Sendable {
        /// Every line is in the history (confirmed by the write's answer, or there already).
        case written(recordID: String)
        /// Not every line fits in the field's `AirtableLimits.longTextCharacters`: the lines at
        /// `present` are in the history, the others were not written (nothing else was cut).
        /// `length`: the history's length as written.
        case full(recordID: String, present: Set<Int>, length: Int)
        /// No record has this job id (a remembered record was deleted, and none replaced it).
        case missing
        /// This entry's record refused the write or lost it to another writer; the others' went on.
        case failed(StepFailure)

        public var recordID: String? {
            switch self {
            case .written(let id), .full(let id, _, _): id
            case .missing, .failed: nil
            }
        }
    }

    let airtable: AirtableClient
    let settings: AirtableSettings

    public init(airtable: AirtableClient, settings: AirtableSettings) {
        self.airtable = airtable
        self.settings = settings
    }

    /// Has `lines` in the history of the record whose job id is `jobID` (found through
    /// `knownRecordID` when given and still there). Returns the record's id, or nil when no record
    /// has this job id. Throws `StepFailure` when the write was refused, did not fit, or the
    /// answer lacks a line (another writer raced).
    public func append(_ lines: [Line], jobID: String, knownRecordID: String?) async throws -> String? {
        switch try await append([Entry(jobID: jobID, knownRecordID: knownRecordID, lines: lines)])[0] {
        case .written(let id): return id
        case .missing: return nil
        case .failed(let failure): throw failure
        case .full(_, _, let length):
            throw StepFailure(.invalid, "the line does not fit: the job's history field holds \(length) of \(AirtableLimits.longTextCharacters) characters")
        }
    }

    /// The lines of up to `AirtableLimits.batchSize` jobs in one batched read and one batched
    /// write (two requests, whatever the number of jobs). Outcomes in the order of `entries`.
    /// Throws only what stops the whole batch (a 429, the network, credentials): a record that
    /// refuses its write fails its own entry alone.
    public func append(_ entries: [Entry]) async throws -> [Outcome] {
        precondition(entries.count <= AirtableLimits.batchSize, "at most \(AirtableLimits.batchSize) jobs per batch")
        var outcomes = [Outcome?](repeating: nil, count: entries.count)
        let records = try await read(entries)
        var updates: [(index: Int, update: AirtableClient.Update, original: String)] = []
        for (index, entry) in entries.enumerated() {
            guard let record = records[index] else {
                outcomes[index] = .missing
                continue
            }
            let original = record.fields[settings.historyField]?.stringValue ?? ""
            let composed = Self.compose(original, entry.lines)
            if composed.history == original {
                outcomes[index] = composed.fitted.count == entry.lines.count
                    ? .written(recordID: record.id)
                    : .full(recordID: record.id, present: composed.fitted, length: AirtableLimits.length(original))
            } else {
                updates.append((index, .init(id: record.id, fields: [settings.historyField: .string(composed.history)]), original))
            }
        }
        for (slot, written) in try await write(updates.map(\.update)) {
            let (index, update, original) = updates[slot]
            let entry = entries[index]
            switch written {
            case .failure(let failure):
                if let error = failure as? AirtableError, error.type == "INVALID_VALUE_FOR_COLUMN" {
                    // Airtable measured it over the cap though we did not: nothing was written.
                    outcomes[index] = .full(recordID: update.id, present: Self.present(original, entry.lines), length: AirtableLimits.length(original))
                } else {
                    outcomes[index] = .failed(StepFailure.classify(failure))
                }
            case .success(let record):
                let text = record.fields[settings.historyField]?.stringValue ?? ""
                let present = Self.present(text, entry.lines)
                let wanted = Self.compose(original, entry.lines).fitted
                if let missing = wanted.subtracting(present).min() {
                    outcomes[index] = .failed(StepFailure(.invalid, "the history answer lacks the line \(Redaction.text(entry.lines[missing].text)): another writer raced"))
                } else if present.count == entry.lines.count {
                    outcomes[index] = .written(recordID: record.id)
                } else {
                    outcomes[index] = .full(recordID: record.id, present: present, length: AirtableLimits.length(text))
                }
            }
        }
        return outcomes.map { $0! }
    }

    /// What became of a rewrite.
    public enum Rewrite: Sendable, Equatable {
        /// `transform` changed nothing: nothing was sent.
        case unchanged(recordID: String)
        /// Written, and the answer holds exactly the new text.
        case rewritten(recordID: String)
        /// No record has this job id.
        case missing
    }

    /// Replaces the job's history with `transform(history)` in one read and one PATCH (for
    /// `recordings relink`: the caller holds the job's history claim, as every writer does).
    /// `dryRun` reads and transforms but sends nothing. Texts are compared byte for byte, never
    /// as `String`s (which would equate a composed "é" with "e" and a combining accent).
    public func rewrite(jobID: String, knownRecordID: String?, dryRun: Bool = false,
                        _ transform: @Sendable (String) -> String) async throws -> (outcome: Rewrite, before: String, after: String) {
        guard let record = try await read([Entry(jobID: jobID, knownRecordID: knownRecordID, lines: [])])[0] else { return (.missing, "", "") }
        let original = record.fields[settings.historyField]?.stringValue ?? ""
        let changed = transform(original)
        if changed.utf8.elementsEqual(original.utf8) || dryRun {
            return (changed.utf8.elementsEqual(original.utf8) ? .unchanged(recordID: record.id) : .rewritten(recordID: record.id), original, changed)
        }
        guard AirtableLimits.length(changed) <= AirtableLimits.longTextCharacters else {
            throw StepFailure(.invalid, "the rewritten history would hold \(AirtableLimits.length(changed)) characters, over the field's \(AirtableLimits.longTextCharacters)")
        }
        let written = try await airtable.updateRecords(base: settings.base, table: settings.table,
                                                       [.init(id: record.id, fields: [settings.historyField: .string(changed)])])
        guard let answer = written.first?.fields[settings.historyField]?.stringValue, answer.utf8.elementsEqual(changed.utf8) else {
            throw StepFailure(.invalid, "the history answer is not the text written: another writer raced; run the command again")
        }
        return (.rewritten(recordID: record.id), original, changed)
    }

    /// Each entry's record: by its remembered id, else by its job id; one request for all
    /// (two when a remembered record has gone and its job must be looked up again).
    private func read(_ entries: [Entry]) async throws -> [AirtableClient.Record?] {
        var found = [AirtableClient.Record?](repeating: nil, count: entries.count)
        var byJob = entries.indices.filter { entries[$0].knownRecordID == nil }
        let byID = entries.indices.filter { entries[$0].knownRecordID != nil }
        for round in 0..<2 {
            let ids = round == 0 ? byID : []
            guard !ids.isEmpty || !byJob.isEmpty else { break }
            let terms = ids.map { AirtableFormula.recordID(entries[$0].knownRecordID!) }
                + Set(byJob.map { entries[$0].jobID }).sorted().map { AirtableFormula.equals(field: settings.jobIdField, $0) }
            let records = try await airtable.findRecords(base: settings.base, table: settings.table, formula: AirtableFormula.or(terms),
                                                          fields: [settings.jobIdField, settings.historyField])
            for index in ids { found[index] = records.first { $0.id == entries[index].knownRecordID } }
            for index in byJob { found[index] = records.first { Self.text(of: $0.fields[settings.jobIdField]) == entries[index].jobID } }
            // A remembered record that has gone: its job is looked up again by its id.
            byJob = round == 0 ? ids.filter { found[$0] == nil } : []
        }
        return found
    }

    /// The PATCH of every changed record in one request. When Airtable refuses the batch for one
    /// of its records (422, or 404 for a record deleted meanwhile), it has written none of them:
    /// each is then sent alone, so one refusal fails its own job only. Anything else (a 429, the
    /// network) throws for all.
    private func write(_ updates: [AirtableClient.Update]) async throws -> [(Int, Result<AirtableClient.Record, any Error>)] {
        guard !updates.isEmpty else { return [] }
        do {
            let records = try await airtable.updateRecords(base: settings.base, table: settings.table, updates)
            return records.enumerated().map { ($0.offset, .success($0.element)) }
        } catch let error as AirtableError where Self.isRefusal(error) {
            if updates.count == 1 { return [(0, .failure(error))] }
            var results: [(Int, Result<AirtableClient.Record, any Error>)] = []
            for (index, update) in updates.enumerated() {
                do {
                    results.append((index, .success(try await airtable.updateRecords(base: settings.base, table: settings.table, [update])[0])))
                } catch let error as AirtableError where Self.isRefusal(error) {
                    results.append((index, .failure(error)))
                }
            }
            return results
        }
    }

    /// An answer about the records sent, not about the request's chance of getting through.
    static func isRefusal(_ error: AirtableError) -> Bool {
        error.status == 422 || error.status == 404
    }

    /// `original` with the lines added that are not there yet, in order, as long as they fit;
    /// `fitted`: the lines in the result. A line that does not fit stops the adding, so the
    /// history keeps the calls' order.
    static func compose(_ original: String, _ wanted: [Line]) -> (history: String, fitted: Set<Int>) {
        var history = original
        var fitted: Set<Int> = []
        var full = false
        for (index, line) in wanted.enumerated() {
            var candidate = history
            func add(_ text: String) {
                // By scalar: a history ending "\r\n" (one `Character`) already ends its line.
                candidate += (candidate.isEmpty || candidate.unicodeScalars.last == "\n" ? "" : "\n") + text
            }
            switch line {
            case .marked(let text, let marker): if !contains(candidate, marker) { add(text) }
            case .counted(let text, let count): for _ in 0..<max(0, count - Self.lines(candidate, equalTo: text)) { add(text) }
            case .always(let text): add(text)
            }
            if candidate == history {
                fitted.insert(index)
            } else if !full, AirtableLimits.length(candidate) <= AirtableLimits.longTextCharacters {
                history = candidate
                fitted.insert(index)
            } else {
                full = true
            }
        }
        return (history, fitted)
    }

    /// The lines (by index) that `text` holds. An `.always` line counts when its text is there.
    static func present(_ text: String, _ lines: [Line]) -> Set<Int> {
        Set(lines.indices.filter { index in
            switch lines[index] {
            case .marked(_, let marker): contains(text, marker)
            case .counted(let line, let count): Self.lines(text, equalTo: line) >= count
            case .always(let line): contains(text, line)
            }
        })
    }

    /// A field's value as text: a job id field may be a number in someone's base.
    static func text(of value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .number(let number)?: number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        default: nil
        }
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
