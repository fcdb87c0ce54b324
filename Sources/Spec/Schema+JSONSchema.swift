import RecopsBase
extension Schema {
    /// The spec's JSON Schema (draft 2020-12), for editors with a YAML language server.
    ///
    /// A value may always be written as `${VAR}` / `${VAR:-default}` instead: the schema allows
    /// that beside the real type, since the editor cannot know the environment.
    public var jsonSchema: JSONValue {
        var root = jsonSchemaNode
        if case .object(var object) = root {
            object["$schema"] = .string("https://json-schema.org/draft/2020-12/schema")
            object["$id"] = .string("https://recops.dev/schema/policy-v1.json")
            object["title"] = .string("recops spec (infra/policy.yaml)")
            root = .object(object)
        }
        return root
    }

    private static let interpolated: JSONValue = .object([
        "type": .string("string"),
        "pattern": .string("\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}"),
        "description": .string("filled in from the environment: ${VAR} or ${VAR:-default}"),
    ])

    private var jsonSchemaNode: JSONValue {
        var object: [String: JSONValue] = ["description": .string(summary)]
        if let defaultValue { object["default"] = defaultValue }
        switch kind {
        case .object(let properties):
            object["type"] = .string("object")
            object["additionalProperties"] = .bool(false)
            object["properties"] = .object(Dictionary(uniqueKeysWithValues: properties.map { ($0.name, $0.schema.jsonSchemaNode) }))
            let required = properties.filter { $0.required && $0.schema.defaultValue == nil }.map { JSONValue.string($0.name) }
            if !required.isEmpty { object["required"] = .array(required) }
            return .object(object)
        case .array(let items, let minItems):
            object["type"] = .string("array")
            object["items"] = items.jsonSchemaNode
            if minItems > 0 { object["minItems"] = .number(Double(minItems)) }
            return .object(object)
        case .string(let values, let pattern, _):
            var typed: [String: JSONValue] = ["type": .string("string")]
            if let values { typed["enum"] = .array(values.map(JSONValue.string)) }
            if let pattern { typed["pattern"] = .string("^(?:\(pattern))$") }
            guard typed.count > 1 else {
                object["type"] = .string("string")
                return .object(object)
            }
            object["anyOf"] = .array([.object(typed), Self.interpolated])
            return .object(object)
        case .integer(let minimum, let maximum):
            var typed: [String: JSONValue] = ["type": .string("integer")]
            if let minimum { typed["minimum"] = .number(Double(minimum)) }
            if let maximum { typed["maximum"] = .number(Double(maximum)) }
            object["anyOf"] = .array([.object(typed), Self.interpolated])
            return .object(object)
        case .boolean:
            object["anyOf"] = .array([.object(["type": .string("boolean")]), Self.interpolated])
            return .object(object)
        }
    }
}
