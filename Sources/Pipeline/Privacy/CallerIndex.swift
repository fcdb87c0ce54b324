import Crypto
import Foundation

/// The store's index of callers: a keyed hash (HMAC-SHA256) of each call's `From`, so the
/// recordings of one caller can be found (`recops recordings erase --caller`, `hold --caller`)
/// without the store keeping the number once the call has ended.
///
/// The key comes from `RECOPS_PRIVACY_KEY` (at least 32 bytes; `openssl rand -base64 32`). A
/// hash reads `{key id}:{base64url}`, the key id being the first 8 hex digits of the key's
/// SHA-256, so hashes made under an old key are told apart after a rotation. Rotating: put the
/// old key in `RECOPS_PRIVACY_PREVIOUS_KEYS` (comma-separated) and the new one in
/// `RECOPS_PRIVACY_KEY`; lookups try every key, new calls are hashed with the new one, and
/// `recops recordings index-callers --rehash` hashes the old calls again from Twilio's call
/// records (which keep `From`), after which the old key can go.
public struct CallerIndex: Sendable {
    public struct Key: Sendable {
        public let id: String
        /// The key's bytes (`SymmetricKey` is not `Sendable`; one is made per hash).
        let secret: Data

        public init(_ text: String) throws(Problem) {
            guard text.utf8.count >= CallerIndex.minimumKeyBytes else {
                throw Problem(description: "a privacy key is \(text.utf8.count) bytes long; it must be at least \(CallerIndex.minimumKeyBytes) (make one with: openssl rand -base64 32)")
            }
            secret = Data(text.utf8)
            id = SHA256.hash(data: Data(text.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
        }
    }

    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static let minimumKeyBytes = 32
    public static let keyVariable = "RECOPS_PRIVACY_KEY"
    public static let previousKeysVariable = "RECOPS_PRIVACY_PREVIOUS_KEYS"

    public let current: Key
    public let previous: [Key]

    public init(current: Key, previous: [Key] = []) {
        self.current = current
        self.previous = previous.filter { $0.id != current.id }
    }

    /// The index the environment configures, or nil when `RECOPS_PRIVACY_KEY` is unset or empty.
    public init?(environment: [String: String]) throws(Problem) {
        guard let text = environment[Self.keyVariable], !text.isEmpty else { return nil }
        let current = try Key(text)
        var previous: [Key] = []
        for part in (environment[Self.previousKeysVariable] ?? "").split(separator: ",") where !part.isEmpty {
            previous.append(try Key(String(part)))
        }
        self.init(current: current, previous: previous)
    }

    /// The hash a new call gets: under the current key.
    public func hash(_ caller: String) -> String {
        Self.hash(Self.normalized(caller), key: current)
    }

    /// The hashes `caller` may be stored under: one per key, the current first.
    public func hashes(_ caller: String) -> [String] {
        let number = Self.normalized(caller)
        return ([current] + previous).map { Self.hash(number, key: $0) }
    }

    /// Whether `hash` was made under an older key (`index-callers --rehash` renews it).
    public func isStale(_ hash: String) -> Bool {
        !hash.hasPrefix(current.id + ":")
    }

    static func hash(_ normalized: String, key: Key) -> String {
        let code = Data(HMAC<SHA256>.authenticationCode(for: Data(normalized.utf8), using: SymmetricKey(data: key.secret)))
        let text = code.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return key.id + ":" + text
    }

    /// A phone number as Twilio writes `From` (E.164: `+` and digits), whatever spacing, dashes,
    /// dots or parentheses a person typed; judged by Unicode scalar, so only ASCII digits count
    /// (a full-width or Arabic-Indic digit is no digit of a number here). Anything else (a SIP
    /// address, `client:alice`, `anonymous`) is kept as given, trimmed.
    public static func normalized(_ caller: String) -> String {
        let trimmed = caller.trimmingCharacters(in: .whitespacesAndNewlines)
        var scalars = String.UnicodeScalarView()
        for (index, scalar) in trimmed.unicodeScalars.enumerated() {
            if ("0"..."9").contains(scalar) || (scalar == "+" && index == 0) {
                scalars.append(scalar)
            } else if scalar == " " || scalar == "-" || scalar == "." || scalar == "(" || scalar == ")" {
                continue
            } else {
                return trimmed
            }
        }
        let digits = scalars.filter { $0 != "+" }.count
        return digits > 0 ? String(scalars) : trimmed
    }

    /// Why `caller` (from the command line) cannot name a caller, or nil.
    public static func problem(_ caller: String) -> String? {
        let value = normalized(caller)
        if value.isEmpty { return "the caller is empty" }
        if value.utf8.count > 256 { return "the caller is \(value.utf8.count) bytes long (at most 256)" }
        if let scalar = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
            return "the caller contains U+\(String(scalar.value, radix: 16, uppercase: true)), a control or format character"
        }
        return nil
    }
}
