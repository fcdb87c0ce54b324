import Foundation
import Spec

/// The one comparison plan, apply and verify share.
///
/// States are compared as JSON. Objects are compared key by key, and only for the keys the desired
/// state declares: a field AWS adds later (`BlockedEncryptionTypes`, a new default) is ignored.
/// Arrays are owned whole: lifecycle rules, policy statements, or the extra policies on a user
/// must match exactly, so what someone added out of band shows as drift.
public enum StateDiff {
    public static func compare<State: Encodable>(desired: State, observed: State?) -> [FieldChange] {
        let want = encode(desired)
        guard let observed else {
            return flatten(want).map { FieldChange(field: $0.key, expected: $0.value, actual: nil) }
        }
        return compare(want, encode(observed), path: "")
    }

    static func compare(_ desired: JSONValue, _ observed: JSONValue, path: String) -> [FieldChange] {
        if case .object(let wanted) = desired {
            guard case .object(let actual) = observed else {
                return [FieldChange(field: path, expected: desired, actual: observed)]
            }
            return wanted.keys.sorted().flatMap { key -> [FieldChange] in
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let value = actual[key] else {
                    return [FieldChange(field: child, expected: wanted[key]!, actual: nil)]
                }
                return compare(wanted[key]!, value, path: child)
            }
        }
        return desired == observed ? [] : [FieldChange(field: path, expected: desired, actual: observed)]
    }

    /// Every leaf of a desired state, for a resource that does not exist yet.
    static func flatten(_ value: JSONValue, path: String = "") -> [(key: String, value: JSONValue)] {
        guard case .object(let object) = value else { return [(path, value)] }
        return object.keys.sorted().flatMap { key in flatten(object[key]!, path: path.isEmpty ? key : "\(path).\(key)") }
    }

    static func encode<State: Encodable>(_ state: State) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // States are plain Codable values: encoding cannot fail.
        guard let data = try? encoder.encode(state), let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { return .null }
        return value
    }
}

/// One field that differs: what the spec wants and what is there (nil: absent).
public struct FieldChange: Sendable, Equatable, Codable {
    public var field: String
    public var expected: JSONValue
    public var actual: JSONValue?

    public init(field: String, expected: JSONValue, actual: JSONValue?) {
        self.field = field
        self.expected = expected
        self.actual = actual
    }

    /// `-` when the change only takes away (extra policies on the user), else `~`/`+`.
    public var symbol: String {
        if actual == nil { return "+" }
        if case .array(let wanted) = expected, case .array(let have)? = actual, Set(wanted).isSubset(of: Set(have)) { return "-" }
        return "~"
    }
}
