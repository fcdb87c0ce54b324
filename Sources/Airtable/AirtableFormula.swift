/// Airtable formula fragments built from untrusted values (a caller-typed job number).
///
/// Escaping walks Unicode scalars, never `Character`s: a quote followed by a combining mark is one
/// grapheme (`"` + U+0301 == "\"́"), so a loop over characters never sees the quote, and the
/// value would end the string literal early.
public enum AirtableFormula {
    /// A string literal: the value can never end the string and become formula syntax.
    public static func string(_ value: String) -> String {
        var escaped = String.UnicodeScalarView()
        escaped.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
            case "\"": escaped.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
            case "\r": escaped.append(contentsOf: "\\r".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        escaped.append("\"")
        return String(escaped)
    }

    /// A field reference `{Name}`; a `}` (or `\`) in the name is escaped.
    public static func field(_ name: String) -> String {
        var escaped = String.UnicodeScalarView()
        escaped.append("{")
        for scalar in name.unicodeScalars {
            if scalar == "}" || scalar == "\\" { escaped.append("\\") }
            escaped.append(scalar)
        }
        escaped.append("}")
        return String(escaped)
    }

    /// `{field} = "value"`.
    public static func equals(field name: String, _ value: String) -> String {
        "\(field(name)) = \(string(value))"
    }
}
