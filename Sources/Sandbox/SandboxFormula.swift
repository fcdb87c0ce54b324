import Foundation
import Spec

/// The part of Airtable's formula language recops sends, parsed strictly: `{Field} = "value"`,
/// `RECORD_ID() = 'rec…'`, `LEN({Field}) > 90000`, and `OR(…)` / `AND(…)` of those. Anything
/// else is refused as Airtable refuses an invalid formula (422 `INVALID_FILTER_BY_FORMULA`).
///
/// Parsed by Unicode scalar, as Airtable reads it: a quote fused with a combining mark into one
/// `Character` is still a quote (a parser over characters hid exactly that escaping bug).
indirect enum SandboxFormula: Equatable {
    indirect enum Term: Equatable {
        case field(String)
        case string(String)
        case number(Double)
        case recordID
        case length(Term)
    }

    enum Comparison: String, CaseIterable {
        // Longest first: `>=` must not parse as `>` followed by `=`.
        case notEqual = "!=", greaterOrEqual = ">=", lessOrEqual = "<=", equal = "=", greater = ">", less = "<"

        func holds<T: Comparable>(_ x: T, _ y: T) -> Bool {
            switch self {
            case .equal: x == y
            case .notEqual: x != y
            case .greater: x > y
            case .less: x < y
            case .greaterOrEqual: x >= y
            case .lessOrEqual: x <= y
            }
        }
    }

    case compare(Term, Comparison, Term)
    case or([SandboxFormula])
    case and([SandboxFormula])

    /// The formula, or nil when it is not in the subset (or not a formula at all).
    static func parse(_ text: String) -> SandboxFormula? {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        guard let formula = parser.formula() else { return nil }
        parser.skipSpace()
        return parser.atEnd ? formula : nil
    }

    /// Whether the record matches. Blank fields read as "" (and 0 in a number comparison), as in Airtable.
    func matches(id: String, fields: [String: JSONValue]) -> Bool {
        switch self {
        case .or(let parts): return parts.contains { $0.matches(id: id, fields: fields) }
        case .and(let parts): return parts.allSatisfy { $0.matches(id: id, fields: fields) }
        case .compare(let left, let comparison, let right):
            let a = Self.value(left, id: id, fields: fields), b = Self.value(right, id: id, fields: fields)
            if case .number(let x) = a, case .number(let y) = b { return comparison.holds(x, y) }
            return comparison.holds(Self.text(a), Self.text(b))
        }
    }

    private enum Value { case text(String), number(Double) }

    private static func value(_ term: Term, id: String, fields: [String: JSONValue]) -> Value {
        switch term {
        case .string(let text): return .text(text)
        case .number(let number): return .number(number)
        case .recordID: return .text(id)
        case .field(let name):
            switch fields[name] {
            case .number(let number)?: return .number(number)
            case .string(let text)?: return .text(text)
            default: return .text("")
            }
        case .length(let inner):
            // Airtable is JavaScript: a length counts UTF-16 code units (`AirtableLimits.length`).
            return .number(Double(text(value(inner, id: id, fields: fields)).utf16.count))
        }
    }

    private static func text(_ value: Value) -> String {
        switch value {
        case .text(let text): text
        case .number(let number): number == number.rounded() ? String(Int(number)) : String(number)
        }
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        var atEnd: Bool { index >= scalars.count }

        mutating func skipSpace() {
            while index < scalars.count, [" ", "\t", "\n", "\r"].contains(scalars[index]) { index += 1 }
        }

        mutating func take(_ word: String) -> Bool {
            skipSpace()
            let wanted = Array(word.unicodeScalars)
            guard index + wanted.count <= scalars.count,
                  zip(scalars[index..<(index + wanted.count)], wanted).allSatisfy({ String($0).uppercased() == String($1) }) else { return false }
            index += wanted.count
            return true
        }

        mutating func formula() -> SandboxFormula? {
            for (name, make) in [("OR(", SandboxFormula.or), ("AND(", SandboxFormula.and)] as [(String, ([SandboxFormula]) -> SandboxFormula)] {
                let start = index
                if take(name) {
                    var parts: [SandboxFormula] = []
                    repeat {
                        guard let part = formula() else { return nil }
                        parts.append(part)
                    } while take(",")
                    guard take(")"), !parts.isEmpty else { return nil }
                    return make(parts)
                }
                index = start
            }
            guard let left = term() else { return nil }
            skipSpace()
            guard let comparison = Comparison.allCases.first(where: { take($0.rawValue) }), let right = term() else { return nil }
            return .compare(left, comparison, right)
        }

        mutating func term() -> Term? {
            skipSpace()
            guard !atEnd else { return nil }
            if take("RECORD_ID(") { return take(")") ? .recordID : nil }
            if take("LEN(") {
                guard let inner = term(), take(")") else { return nil }
                return .length(inner)
            }
            skipSpace()
            let first = scalars[index]
            if first == "{" {
                index += 1
                var name = String.UnicodeScalarView()
                while index < scalars.count, scalars[index] != "}" {
                    if scalars[index] == "\\", index + 1 < scalars.count { index += 1 }
                    name.append(scalars[index])
                    index += 1
                }
                guard index < scalars.count else { return nil }
                index += 1
                return .field(String(name))
            }
            if first == "\"" || first == "'" {
                index += 1
                var value = String.UnicodeScalarView()
                while index < scalars.count, scalars[index] != first {
                    if scalars[index] == "\\", index + 1 < scalars.count {
                        index += 1
                        switch scalars[index] {
                        case "n": value.append("\n")
                        case "r": value.append("\r")
                        default: value.append(scalars[index])
                        }
                    } else {
                        value.append(scalars[index])
                    }
                    index += 1
                }
                guard index < scalars.count else { return nil }
                index += 1
                return .string(String(value))
            }
            var digits = ""
            while index < scalars.count, ("0"..."9").contains(scalars[index]) || scalars[index] == "." {
                digits.unicodeScalars.append(scalars[index])
                index += 1
            }
            return Double(digits).map(Term.number)
        }
    }
}

/// The equality the earlier sandbox parsed (kept for the escaping property tests): the field and
/// the value of exactly `{Field} = "value"`, nothing before or after it.
enum FormulaSubset {
    static func parseEquality(_ formula: String) -> (field: String, value: String)? {
        guard case .compare(.field(let field), .equal, .string(let value))? = SandboxFormula.parse(formula) else { return nil }
        return (field, value)
    }
}
