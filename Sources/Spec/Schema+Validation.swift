import Foundation
import RecopsBase

extension Schema {
    /// Checks a parsed tree against this schema and converts it to JSON with defaults filled in.
    ///
    /// Every problem is reported (not just the first), each at the offending value. Keys listed in
    /// `ignoringRequired` at the top level may be missing (parts of the spec left out on purpose).
    func validate(_ node: SpecNode, ignoringRequired: Set<String> = [], sourceMap: inout SourceMap) -> (value: JSONValue, diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        let value = check(node, path: "", ignoringRequired: ignoringRequired, sourceMap: &sourceMap, diagnostics: &diagnostics)
        return (value, diagnostics)
    }

    /// For an object whose settings all have defaults (or are optional): those defaults, so a
    /// section left out reads the same as one written with every default.
    var defaultObject: JSONValue? {
        guard case .object(let properties) = kind,
              properties.allSatisfy({ !$0.required || $0.schema.defaultValue != nil || $0.schema.defaultObject != nil }) else { return nil }
        var object: [String: JSONValue] = [:]
        for property in properties {
            if let value = property.schema.defaultValue ?? property.schema.defaultObject { object[property.name] = value }
        }
        return .object(object)
    }

    private func check(_ node: SpecNode, path: String, ignoringRequired: Set<String>, sourceMap: inout SourceMap, diagnostics: inout [Diagnostic]) -> JSONValue {
        sourceMap.record(path, node.location)
        let name = path.isEmpty ? "the spec" : "'\(path)'"
        switch kind {
        case .object(let properties):
            guard case .mapping(let entries, let location) = node else {
                diagnostics.append(Diagnostic(.error, "\(name) must be a mapping of settings, found \(node.kindDescription)", at: node.location))
                return .null
            }
            var object: [String: JSONValue] = [:]
            let known = Set(properties.map(\.name))
            for entry in entries where !known.contains(entry.key) {
                var message = "unknown setting '\(entry.key)'" + (path.isEmpty ? "" : " in '\(path)'")
                if let suggestion = EditDistance.closest(to: entry.key, among: properties.map(\.name)) {
                    message += "; did you mean '\(suggestion)'?"
                } else {
                    message += "; allowed here: \(properties.map(\.name).joined(separator: ", "))"
                }
                diagnostics.append(Diagnostic(.error, message, at: entry.keyLocation))
            }
            for property in properties {
                let childPath = SourceMap.join(path, property.name)
                if let entry = entries.first(where: { $0.key == property.name }) {
                    sourceMap.record(childPath, entry.value.location)
                    object[property.name] = property.schema.check(entry.value, path: childPath, ignoringRequired: [], sourceMap: &sourceMap, diagnostics: &diagnostics)
                } else if let value = property.schema.defaultValue ?? property.schema.defaultObject {
                    object[property.name] = value
                } else if property.required, !ignoringRequired.contains(property.name) {
                    diagnostics.append(Diagnostic(.error, "\(name) is missing the required setting '\(property.name)' (\(property.schema.summary))", at: location))
                }
            }
            return .object(object)
        case .array(let items, let minItems):
            guard case .sequence(let elements, _) = node else {
                diagnostics.append(Diagnostic(.error, "\(name) must be a list, found \(node.kindDescription)", at: node.location))
                return .null
            }
            if elements.count < minItems {
                diagnostics.append(Diagnostic(.error, "\(name) needs at least \(minItems) entr\(minItems == 1 ? "y" : "ies")", at: node.location))
            }
            return .array(elements.enumerated().map { index, element in
                items.check(element, path: "\(path)[\(index)]", ignoringRequired: [], sourceMap: &sourceMap, diagnostics: &diagnostics)
            })
        case .string(let values, let pattern, let patternHelp):
            guard case .scalar(let text, false, let location) = node else {
                diagnostics.append(Diagnostic(.error, "\(name) must be text, found \(node.kindDescription)", at: node.location))
                return .null
            }
            if let values, !values.contains(text) {
                var message = "\(name) must be one of \(values.joined(separator: ", ")), not '\(text)'"
                if let suggestion = EditDistance.closest(to: text, among: values) { message += "; did you mean '\(suggestion)'?" }
                diagnostics.append(Diagnostic(.error, message, at: location))
            } else if let pattern, text.range(of: "^(?:\(pattern))$", options: .regularExpression) == nil {
                // A URL's password (a store URL's) is never echoed; text that may hide one in a
                // form the pattern cannot see (spaces, password=) is not shown at all.
                let credential = text.lowercased().contains("password") || (text.contains("://") && text.unicodeScalars.contains(where: \.properties.isWhitespace))
                let shown = credential
                    ? "(not shown: it may hold a password)"
                    : text.replacingOccurrences(of: "://([^/@:]*):[^@]*@", with: "://$1:***@", options: .regularExpression)
                diagnostics.append(Diagnostic(.error, "\(name) is '\(shown)', \(patternHelp ?? "which does not match \(pattern)")", at: location))
            }
            return .string(text)
        case .integer(let minimum, let maximum):
            guard case .scalar(let text, false, let location) = node, let number = Int(text) else {
                diagnostics.append(Diagnostic(.error, "\(name) must be a whole number, found \(node.kindDescription)", at: node.location))
                return .null
            }
            if let minimum, number < minimum {
                diagnostics.append(Diagnostic(.error, "\(name) must be at least \(minimum), not \(number)", at: location))
            } else if let maximum, number > maximum {
                diagnostics.append(Diagnostic(.error, "\(name) must be at most \(maximum), not \(number)", at: location))
            }
            return .number(Double(number))
        case .boolean:
            guard case .scalar(let text, false, _) = node, let flag = ["true": true, "false": false][text.lowercased()] else {
                diagnostics.append(Diagnostic(.error, "\(name) must be true or false, found \(node.kindDescription)", at: node.location))
                return .null
            }
            return .bool(flag)
        }
    }
}
