import Airtable
import Foundation
import Spec

/// Everything the sandbox holds, behind one actor so concurrent requests see a consistent world.
public actor SandboxState {
    public struct Number: Sendable {
        var sid: String
        var phoneNumber: String
        var fields: [String: String]  // snake_case API fields: voice_url, voice_method, …
    }

    public struct Recording: Sendable {
        public var sid: String
        public var callSid: String
        public var duration: Int
        public var created: Date
        var media: Data
    }

    /// A call Twilio made a record of (`Calls/{sid}.json`): what the caller index is filled from.
    public struct Call: Sendable {
        public var sid: String
        public var from: String
        public var to: String
        public var status: String
        public var started: Date
    }

    public struct Field: Sendable {
        var id: String
        var name: String
        var type: String
    }

    public struct Table: Sendable {
        var id: String
        var name: String
        var fields: [Field]
        var records: [(id: String, fields: [String: JSONValue])]
    }

    let seed: SandboxSeed
    var numbers: [Number]
    public internal(set) var recordings: [Recording] = []
    public internal(set) var calls: [Call] = []
    var tables: [Table]
    /// Airtable's limit as the sandbox enforces it.
    let requestsPerSecond: Int
    let throttlePause: Duration
    private var baseWindow: Window
    private(set) var throttledCount = 0
    private(set) var airtableServed = 0
    private var nextID = 1

    public init(seed: SandboxSeed = .standard, requestsPerSecond: Int = AirtableLimits.requestsPerSecondPerBase,
                tokenRequestsPerSecond: Int? = nil, throttlePause: Duration = .seconds(30), rateWindow: Duration = .seconds(1)) {
        self.seed = seed
        self.requestsPerSecond = requestsPerSecond
        // A base limit raised for a test's speed raises the token's with it.
        tokenWindow = Window(limit: tokenRequestsPerSecond ?? max(AirtableLimits.requestsPerSecondPerToken, requestsPerSecond), period: rateWindow)
        baseWindow = Window(limit: requestsPerSecond, period: rateWindow)
        self.throttlePause = throttlePause
        numbers = seed.numbers.map { number in
            var fields = ["voice_method": "POST", "status_callback_method": "POST", "voice_fallback_method": "POST"]
            fields["voice_url"] = number.voiceUrl ?? ""
            fields["voice_application_sid"] = number.voiceApplicationSid ?? ""
            return Number(sid: number.sid, phoneNumber: number.phoneNumber, fields: fields)
        }
        tables = [Table(
            id: "tbl" + String(repeating: "J", count: 14), name: seed.tableName,
            fields: [Field(id: "fldJOBID00000001", name: seed.jobIDField, type: "singleLineText"),
                     Field(id: "fldHISTORY000001", name: seed.historyField, type: "multilineText")],
            records: seed.jobs.map { job in
                var fields: [String: JSONValue] = [seed.jobIDField: .string(job.jobID)]
                if let history = job.history { fields[seed.historyField] = .string(history) }
                return (job.id, fields)
            })]
    }

    func makeID(_ prefix: String, length: Int = 32) -> String {
        nextID += 1
        let digits = String(format: "%0\(length)x", nextID)
        return prefix + String(digits.suffix(length))
    }

    // MARK: Airtable outages and rate limit

    /// An outage as tests and the demo stage it: the next `requests` Airtable requests are
    /// answered with `status` (503 for an outage, 429 for a throttling storm).
    private var outage: (remaining: Int, status: Int)?

    public func startAirtableOutage(requests: Int, status: Int = 503) {
        outage = requests > 0 ? (requests, status) : nil
    }

    /// The status an outage answers this request with, if one is under way.
    func airtableOutageStatus() -> Int? {
        guard let current = outage else { return nil }
        outage = current.remaining > 1 ? (current.remaining - 1, current.status) : nil
        return current.status
    }

    /// Every Airtable request that reached the sandbox in the last second, whatever its answer.
    private var seen: [ContinuousClock.Instant] = []
    /// The most requests that ever arrived within one second (a sliding window): what Airtable
    /// itself would count. A client that keeps to 5/s keeps this at 5 or under.
    public private(set) var peakPerSecond = 0

    func noteAirtableArrival() {
        let now = ContinuousClock.now
        seen.removeAll { now - $0 >= .seconds(1) }
        seen.append(now)
        peakPerSecond = max(peakPerSecond, seen.count)
    }

    /// One of Airtable's limits: `limit` requests a second, then refused for the pause. A test
    /// that counts requests stretches `period` so a slow machine cannot slide the window on it.
    struct Window {
        let limit: Int
        let period: Duration
        var recent: [ContinuousClock.Instant] = []
        var blockedUntil: ContinuousClock.Instant?

        /// Admits a request now, or says it is throttled (and starts the pause when it is the one over).
        mutating func admit(pause: Duration) -> Bool {
            let now = ContinuousClock.now
            if let until = blockedUntil, now < until { return false }
            let period = period
            recent.removeAll { now - $0 >= period }
            guard recent.count < limit else {
                blockedUntil = now + pause
                return false
            }
            recent.append(now)
            return true
        }
    }

    /// The token's own limit: 50 requests a second over all its bases, then the same 30 s pause.
    private var tokenWindow: Window

    func admitToken() -> Bool {
        guard tokenWindow.admit(pause: throttlePause) else {
            throttledCount += 1
            return false
        }
        return true
    }

    /// Admits a request to the base, or says it is throttled (and starts the pause).
    func admitAirtable() -> Bool {
        guard baseWindow.admit(pause: throttlePause) else {
            throttledCount += 1
            return false
        }
        airtableServed += 1
        return true
    }

    // MARK: Twilio

    func number(sid: String) -> Number? { numbers.first { $0.sid == sid } }

    func updateNumber(sid: String, _ changes: [(String, String)]) -> Number? {
        guard let index = numbers.firstIndex(where: { $0.sid == sid }) else { return nil }
        let names = ["VoiceUrl": "voice_url", "VoiceMethod": "voice_method", "VoiceFallbackUrl": "voice_fallback_url",
                     "VoiceFallbackMethod": "voice_fallback_method", "StatusCallback": "status_callback",
                     "StatusCallbackMethod": "status_callback_method", "VoiceApplicationSid": "voice_application_sid", "TrunkSid": "trunk_sid"]
        for (name, value) in changes {
            if let field = names[name] { numbers[index].fields[field] = value }
        }
        return numbers[index]
    }

    public func addRecording(callSid: String, duration: Int) -> Recording {
        let recording = Recording(sid: makeID("RE"), callSid: callSid, duration: duration, created: Date(), media: MP3Frames.silence(seconds: Double(duration)))
        recordings.append(recording)
        return recording
    }

    func recording(sid: String) -> Recording? { recordings.first { $0.sid == sid } }

    /// Keeps the call's record (the first one made wins: a call's `From` never changes).
    @discardableResult
    public func addCall(sid: String, from: String, to: String, status: String = "completed", started: Date = Date()) -> Call {
        if let known = calls.first(where: { $0.sid == sid }) { return known }
        let call = Call(sid: sid, from: from, to: to, status: status, started: started)
        calls.append(call)
        return call
    }

    func call(sid: String) -> Call? { calls.first { $0.sid == sid } }

    func deleteRecording(sid: String) -> Bool {
        guard let index = recordings.firstIndex(where: { $0.sid == sid }) else { return false }
        recordings.remove(at: index)
        return true
    }

    // MARK: Airtable

    public func table(_ nameOrID: String) -> Int? { tables.firstIndex { $0.name == nameOrID || $0.id == nameOrID } }

    /// Why a write was refused; nothing of the request was written.
    enum WriteRefusal: Error {
        case missingRecord(String)
        case unknownField(String)
        case tooLong(field: String, length: Int)
    }

    /// PATCH of one or more records: every record is checked before any is written, so a refused
    /// request changes nothing (as in Airtable).
    func updateRecords(table: Int, _ updates: [(id: String, fields: [String: JSONValue])]) -> Result<[(id: String, fields: [String: JSONValue])], WriteRefusal> {
        let known = Dictionary(tables[table].fields.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        var indices: [Int] = []
        for update in updates {
            guard let index = tables[table].records.firstIndex(where: { $0.id == update.id }) else { return .failure(.missingRecord(update.id)) }
            for (name, value) in update.fields.sorted(by: { $0.key < $1.key }) {
                guard let type = known[name] else { return .failure(.unknownField(name)) }
                if type == "multilineText", let text = value.stringValue, AirtableLimits.length(text) > AirtableLimits.longTextCharacters {
                    return .failure(.tooLong(field: name, length: AirtableLimits.length(text)))
                }
            }
            indices.append(index)
        }
        for (index, update) in zip(indices, updates) {
            for (name, value) in update.fields { tables[table].records[index].fields[name] = value }  // PATCH: only what is sent
        }
        return .success(indices.map { tables[table].records[$0] })
    }

    /// Test and operator hooks: a person edits a record, or deletes it, behind recops's back.
    public func setField(table: Int, record: String, name: String, value: JSONValue?) {
        guard let index = tables[table].records.firstIndex(where: { $0.id == record }) else { return }
        tables[table].records[index].fields[name] = value
    }

    public func deleteRecord(table: Int, id: String) {
        tables[table].records.removeAll { $0.id == id }
    }

    public func addRecord(table: Int, fields: [String: JSONValue]) -> String {
        let id = makeID("rec", length: 14)
        tables[table].records.append((id, fields))
        return id
    }

    public func field(table: Int, record: String, name: String) -> JSONValue? {
        tables[table].records.first { $0.id == record }?.fields[name]
    }

    func addField(table: Int, name: String, type: String) -> Field? {
        guard !tables[table].fields.contains(where: { $0.name == name }) else { return nil }
        let field = Field(id: makeID("fld", length: 14), name: name, type: type)
        tables[table].fields.append(field)
        return field
    }

    /// Test and operator hooks: change the world behind recops's back.
    public func setFieldType(table: Int, name: String, type: String) {
        guard let index = tables[table].fields.firstIndex(where: { $0.name == name }) else { return }
        tables[table].fields[index].type = type
    }

    public func removeField(table: Int, name: String) {
        tables[table].fields.removeAll { $0.name == name }
    }

    // MARK: Dump

    /// Everything, as JSON, for tests and people (`GET /_sandbox/state`). No secrets.
    public func dump() -> JSONValue {
        .object([
            "account_sid": .string(seed.accountSID),
            "numbers": .array(numbers.map { number in
                .object(["sid": .string(number.sid), "phone_number": .string(number.phoneNumber)].merging(number.fields.mapValues(JSONValue.string)) { a, _ in a })
            }),
            "recordings": .array(recordings.map {
                .object(["sid": .string($0.sid), "call_sid": .string($0.callSid), "duration": .number(Double($0.duration)), "bytes": .number(Double($0.media.count))])
            }),
            "airtable": .object([
                "base": .string(seed.baseID),
                "served": .number(Double(airtableServed)),
                "throttled": .number(Double(throttledCount)),
                "peak_per_second": .number(Double(peakPerSecond)),
                "tables": .array(tables.map { table in
                    .object([
                        "id": .string(table.id), "name": .string(table.name),
                        "fields": .array(table.fields.map { .object(["id": .string($0.id), "name": .string($0.name), "type": .string($0.type)]) }),
                        "records": .array(table.records.map { .object(["id": .string($0.id), "fields": .object($0.fields)]) }),
                    ])
                }),
            ]),
        ])
    }
}
