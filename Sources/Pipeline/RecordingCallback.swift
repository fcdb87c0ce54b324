import Foundation

/// Twilio's recording status callback, checked field by field: anything malformed is refused
/// with a message naming the field, before anything is stored.
public struct RecordingCallback: Sendable, Equatable {
    public var accountSid: String
    public var callSid: String
    public var recordingSid: String
    public var status: String
    public var duration: Int?
    public var startTime: Date

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(accountSid: String, callSid: String, recordingSid: String, status: String, duration: Int?, startTime: Date) {
        self.accountSid = accountSid
        self.callSid = callSid
        self.recordingSid = recordingSid
        self.status = status
        self.duration = duration
        self.startTime = startTime
    }

    /// `RecordingUrl` is deliberately not kept: the media is fetched from the configured Twilio
    /// API by `RecordingSid`, so a callback can never send our credentials somewhere else.
    public init(form: [String: String]) throws {
        func sid(_ name: String, _ prefix: String) throws -> String {
            guard let value = form[name], Self.isSid(value, prefix: prefix) else {
                throw Invalid(description: "\(name) is missing or is not a \(prefix)… SID")
            }
            return value
        }
        accountSid = try sid("AccountSid", "AC")
        callSid = try sid("CallSid", "CA")
        recordingSid = try sid("RecordingSid", "RE")
        guard let status = form["RecordingStatus"], ["in-progress", "completed", "absent", "failed"].contains(status) else {
            throw Invalid(description: "RecordingStatus is missing or unknown")
        }
        self.status = status
        if let text = form["RecordingDuration"], !text.isEmpty {
            guard let seconds = Int(text), seconds >= 0 else { throw Invalid(description: "RecordingDuration is not a number of seconds") }
            duration = seconds
        }
        if let text = form["RecordingStartTime"], !text.isEmpty {
            guard let date = Self.parseRFC2822(text) else { throw Invalid(description: "RecordingStartTime is not an RFC 2822 date") }
            startTime = date
        } else if status == "completed" {
            throw Invalid(description: "RecordingStartTime is missing")
        } else {
            startTime = Date(timeIntervalSince1970: 0)
        }
    }

    static func isSid(_ value: String, prefix: String) -> Bool {
        value.count == 34 && value.hasPrefix(prefix) && value.dropFirst(2).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    /// Twilio writes `Tue, 10 Jan 2023 04:46:10 +0000`.
    public static func parseRFC2822(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss Z", "dd MMM yyyy HH:mm:ss Z"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
