import RecopsBase
/// A description of the spec's shape: types, required keys, allowed values, defaults and help.
///
/// One description serves three ends: structural validation with positions
/// (`Schema+Validation.swift`), filling defaults before decoding the typed model, and the JSON
/// Schema that `recops schema` prints for editors (`Schema+JSONSchema.swift`).
public struct Schema: Sendable {
    public indirect enum Kind: Sendable {
        case object([Property])
        case array(Schema, minItems: Int)
        /// `values`: the only values allowed; `pattern`: a regular expression the whole value matches,
        /// explained by `patternHelp` in messages.
        case string(values: [String]?, pattern: String?, patternHelp: String?)
        case integer(minimum: Int?, maximum: Int?)
        case boolean
    }

    public struct Property: Sendable {
        public var name: String
        public var schema: Schema
        public var required: Bool

        /// A setting the file must write (unless its schema has a default).
        public static func required(_ name: String, _ schema: Schema) -> Property { Property(name: name, schema: schema, required: true) }
        public static func optional(_ name: String, _ schema: Schema) -> Property { Property(name: name, schema: schema, required: false) }
    }

    public var kind: Kind
    public var summary: String
    public var defaultValue: JSONValue?

    public static func object(_ summary: String, _ properties: [Property]) -> Schema {
        Schema(kind: .object(properties), summary: summary)
    }

    public static func array(_ summary: String, of items: Schema, minItems: Int = 0) -> Schema {
        Schema(kind: .array(items, minItems: minItems), summary: summary)
    }

    public static func string(_ summary: String, values: [String]? = nil, pattern: String? = nil, patternHelp: String? = nil, default value: String? = nil) -> Schema {
        Schema(kind: .string(values: values, pattern: pattern, patternHelp: patternHelp), summary: summary, defaultValue: value.map(JSONValue.string))
    }

    public static func integer(_ summary: String, minimum: Int? = nil, maximum: Int? = nil, default value: Int? = nil) -> Schema {
        Schema(kind: .integer(minimum: minimum, maximum: maximum), summary: summary, defaultValue: value.map { .number(Double($0)) })
    }

    public static func boolean(_ summary: String, default value: Bool? = nil) -> Schema {
        Schema(kind: .boolean, summary: summary, defaultValue: value.map(JSONValue.bool))
    }

}
