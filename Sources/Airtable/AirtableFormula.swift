/// Airtable formula fragments built from untrusted values (a caller-typed job number).
public enum AirtableFormula {
    /// A string literal: the value can never end the string and become formula syntax.
    public static func string(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }

    /// A field reference `{Name}`; a `}` in the name is escaped.
    public static func field(_ name: String) -> String {
        "{" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "}", with: "\\}") + "}"
    }

    /// `{field} = "value"`.
    public static func equals(field name: String, _ value: String) -> String {
        "\(field(name)) = \(string(value))"
    }
}
