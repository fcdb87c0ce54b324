import Transport

/// Airtable formula fragments built from untrusted values (a caller-typed job number).
///
/// Escaping walks Unicode scalars, never `Character`s: a quote followed by a combining mark is one
/// grapheme (`"` + U+0301 == "\"́"), so a loop over characters never sees the quote, and the
/// value would end the string literal early.
public enum AirtableFormula {
    /// A string literal: the value can never end the string and become formula syntax.
    public static func string(_ value: String) -> String {
        let escaped = ScalarEscaping.escape(value) { scalar in
            switch scalar {
            case "\\": "\\\\"
            case "\"": "\\\""
            case "\n": "\\n"
            case "\r": "\\r"
            default: nil
            }
        }
        return "\"\(escaped)\""
    }

    /// A field reference `{Name}`; a `}` (or `\`) in the name is escaped.
    public static func field(_ name: String) -> String {
        "{" + ScalarEscaping.escape(name) { $0 == "}" || $0 == "\\" ? "\\" + String($0) : nil } + "}"
    }

    /// `{field} = "value"`.
    public static func equals(field name: String, _ value: String) -> String {
        "\(field(name)) = \(string(value))"
    }

    /// `RECORD_ID() = "rec…"`: one record by its id.
    public static func recordID(_ id: String) -> String {
        "RECORD_ID() = \(string(id))"
    }

    /// `OR(a, b, …)`; a single term stands alone.
    public static func or(_ terms: [String]) -> String {
        terms.count == 1 ? terms[0] : "OR(" + terms.joined(separator: ", ") + ")"
    }

    /// `LEN({field}) > n`.
    public static func lengthOver(field name: String, _ n: Int) -> String {
        "LEN(\(field(name))) > \(n)"
    }
}
