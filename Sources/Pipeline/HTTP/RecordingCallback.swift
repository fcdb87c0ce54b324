import Foundation
import Twilio

/// Twilio's recording status callback, checked field by field: anything malformed is refused
/// with a message naming the field, before anything is stored.
public struct RecordingCallback: Sendable, Equatable {
    public var accountSid: String
    public var callSid: String
    public var recordingSid: String
    public var status: Status
    public var duration: Int?
    public var startTime: Date

    /// Twilio's `RecordingStatus`.
    public enum Status: String, Sendable, CaseIterable {
        case inProgress = "in-progress", completed, absent, failed
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(accountSid: String, callSid: String, recordingSid: String, status: Status, duration: Int?, startTime: Date) {
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
        guard let status = form["RecordingStatus"].flatMap(Status.init(rawValue:)) else {
            throw Invalid(description: "RecordingStatus is missing or unknown")
        }
        self.status = status
        if let text = form["RecordingDuration"], !text.isEmpty {
            guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw Invalid(description: "RecordingDuration is not a number of seconds")
            }
            guard let seconds = Int(text), Self.durationRange.contains(seconds) else {
                throw Invalid(description: "RecordingDuration \(text.prefix(24)) s is out of range (\(Self.durationRange.lowerBound)…\(Self.durationRange.upperBound) s)")
            }
            duration = seconds
        }
        if let text = form["RecordingStartTime"], !text.isEmpty {
            guard let date = Self.parseRFC2822(text) else { throw Invalid(description: "RecordingStartTime is not an RFC 2822 date") }
            startTime = date
        } else if status == .completed {
            throw Invalid(description: "RecordingStartTime is missing")
        } else {
            startTime = Date(timeIntervalSince1970: 0)
        }
    }

    /// A call lasts at most 24 hours (Twilio's `timeLimit` ceiling), and so does its recording.
    public static let durationRange = 0...86_400

    /// Two letters and 32 ASCII letters or digits, counted in bytes (a grapheme count would let
    /// combining marks ride along).
    static func isSid(_ value: String, prefix: String) -> Bool {
        let bytes = Array(value.utf8)
        return bytes.count == 34 && value.hasPrefix(prefix)
            && bytes.dropFirst(2).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
    }

    /// Twilio writes `Tue, 10 Jan 2023 04:46:10 +0000`.
    public static func parseRFC2822(_ text: String) -> Date? { Twilio.date(text) }
}
