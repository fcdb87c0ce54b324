import Foundation

/// The parts of Twilio's resources recops reads, in the API's snake_case.
public enum Twilio {
    /// Twilio's dates (RFC 2822): `Tue, 10 Jan 2023 04:46:10 +0000`.
    public static func date(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss Z", "dd MMM yyyy HH:mm:ss Z"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    public struct IncomingPhoneNumber: Sendable, Equatable, Codable {
        public var sid: String
        public var phoneNumber: String
        public var voiceUrl: String?
        public var voiceMethod: String?
        public var voiceFallbackUrl: String?
        public var voiceFallbackMethod: String?
        public var statusCallback: String?
        public var statusCallbackMethod: String?
        public var voiceApplicationSid: String?
        public var trunkSid: String?

        enum CodingKeys: String, CodingKey {
            case sid
            case phoneNumber = "phone_number"
            case voiceUrl = "voice_url"
            case voiceMethod = "voice_method"
            case voiceFallbackUrl = "voice_fallback_url"
            case voiceFallbackMethod = "voice_fallback_method"
            case statusCallback = "status_callback"
            case statusCallbackMethod = "status_callback_method"
            case voiceApplicationSid = "voice_application_sid"
            case trunkSid = "trunk_sid"
        }
    }

    public struct Recording: Sendable, Equatable, Codable {
        public var sid: String
        public var callSid: String
        public var accountSid: String?
        public var duration: String?
        public var channels: Int?
        public var status: String?
        public var dateCreated: String?
        public var startTime: String?
        public var source: String?

        enum CodingKeys: String, CodingKey {
            case sid
            case callSid = "call_sid"
            case accountSid = "account_sid"
            case duration
            case channels
            case status
            case dateCreated = "date_created"
            case startTime = "start_time"
            case source
        }
    }

    /// A call record (`Calls/{sid}.json`): what `recordings index-callers` reads `From` from.
    public struct Call: Sendable, Equatable, Codable {
        public var sid: String
        public var from: String?
        public var to: String?
        public var status: String?
        public var startTime: String?

        enum CodingKeys: String, CodingKey {
            case sid, from, to, status
            case startTime = "start_time"
        }
    }

    /// A page of a list answer: its items and the next page's path (nil on the last).
    struct Page<Item: Decodable>: Decodable {
        var items: [Item]
        var nextPageURI: String?

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        static func decode(_ data: Data, listKey: String) throws -> Page {
            let decoder = JSONDecoder()
            decoder.userInfo[CodingUserInfoKey(rawValue: "listKey")!] = listKey
            return try decoder.decode(Page.self, from: data)
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            let listKey = decoder.userInfo[CodingUserInfoKey(rawValue: "listKey")!] as? String ?? ""
            items = try container.decode([Item].self, forKey: Key(stringValue: listKey))
            nextPageURI = try container.decodeIfPresent(String.self, forKey: Key(stringValue: "next_page_uri"))
        }
    }
}

/// A call's `CallStatus`, as Twilio sends it. A call only moves forward: queued → ringing →
/// in-progress → one final status; a replayed or late "ringing" never undoes "completed".
public enum CallStatus: String, Sendable, CaseIterable, Codable {
    case queued, initiated, ringing
    case inProgress = "in-progress"
    case completed, busy, failed
    case noAnswer = "no-answer"
    case canceled

    public var isFinal: Bool {
        switch self {
        case .completed, .busy, .failed, .noAnswer, .canceled: true
        case .queued, .initiated, .ringing, .inProgress: false
        }
    }

    private var rank: Int {
        switch self {
        case .queued: 0
        case .initiated: 1
        case .ringing: 2
        case .inProgress: 3
        case .completed, .busy, .failed, .noAnswer, .canceled: 4
        }
    }

    /// Whether a call at `self` may take `next`: only forward, and a final status is final.
    public func mayMove(to next: CallStatus) -> Bool {
        next.rank > rank
    }
}
