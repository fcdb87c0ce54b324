import Yams

extension SpecNode {
    /// Parses YAML text into a positioned tree, interpolating `${VAR}` in every scalar.
    ///
    /// Problems are collected, not thrown, so one run reports every unset variable at once.
    /// Top-level keys in `skipping` are dropped before interpolation: a part of the spec left out
    /// (`--only aws`) needs none of its variables.
    static func parse(
        yaml: String,
        file: String,
        environment: [String: String],
        skipping skippedKeys: Set<String> = []
    ) -> (node: SpecNode?, diagnostics: [Diagnostic]) {
        if let anchor = YAMLAnchors.first(in: yaml) {
            return (nil, [Diagnostic(.error, "YAML anchors (&name) and aliases are not supported in the spec: write the value out (quote a text that starts with '&')",
                                     at: SourceLocation(file: file, line: anchor.line, column: anchor.column))])
        }
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            return (nil, [Diagnostic(.error, yamlMessage(error), at: yamlLocation(error, file: file))])
        }
        guard let root else {
            return (nil, [Diagnostic(.error, "the spec is empty: expected a mapping with 'version', 'app', 'bucket', …", at: SourceLocation(file: file, line: 1, column: 1))])
        }
        var builder = Builder(file: file, environment: environment, skippedKeys: skippedKeys)
        let node = builder.build(root, path: "")
        return (node, builder.diagnostics)
    }

    private struct Builder {
        let file: String
        let environment: [String: String]
        let skippedKeys: Set<String>
        var diagnostics: [Diagnostic] = []
        /// Yams hands an alias back as the anchored node itself, so `*a` nested in `*b` nested in
        /// `*c`… multiplies: nine aliases of nine, nine levels deep, is 387 million values from a
        /// dozen lines. Anchors are refused before this (`YAMLAnchors`); the walk still stops at a
        /// budget no real spec comes near, should one slip past that scan.
        var budget = Builder.maximumValues
        static let maximumValues = 100_000

        func location(_ mark: Yams.Mark?) -> SourceLocation {
            SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
        }

        mutating func build(_ node: Yams.Node, path: String) -> SpecNode {
            guard budget > 0 else { return .scalar(text: "", isNull: true, location: location(node.mark)) }
            budget -= 1
            if budget == 0 {
                diagnostics.append(Diagnostic(.error, "the spec holds more than \(Builder.maximumValues) values (YAML aliases that multiply?): write the values out", at: location(node.mark)))
            }
            switch node {
            case .scalar(let scalar):
                let isNull = scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
                return interpolate(scalar, isNull: isNull, path: path)
            case .mapping(let mapping):
                var entries: [Entry] = []
                for (key, value) in mapping {
                    guard case .scalar(let keyScalar) = key else {
                        diagnostics.append(Diagnostic(.error, "a key must be a plain name, not a mapping or a list", at: location(key.mark)))
                        continue
                    }
                    // A left-out top-level part is dropped before interpolation: it needs none of its variables.
                    if path.isEmpty, skippedKeys.contains(keyScalar.string) { continue }
                    entries.append(Entry(key: keyScalar.string, keyLocation: location(keyScalar.mark), value: build(value, path: SourceMap.join(path, keyScalar.string))))
                }
                return .mapping(entries, location: location(mapping.mark))
            case .sequence(let sequence):
                return .sequence(sequence.enumerated().map { build($1, path: "\(path)[\($0)]") }, location: location(sequence.mark))
            case .alias(let alias):
                diagnostics.append(Diagnostic(.error, "YAML aliases (*name) are not supported in the spec: write the value out", at: location(alias.mark)))
                return .scalar(text: "", isNull: true, location: location(alias.mark))
            }
        }

        mutating func interpolate(_ scalar: Yams.Node.Scalar, isNull: Bool, path: String) -> SpecNode {
            let text = scalar.string
            let start = location(scalar.mark)
            guard text.contains("${") else { return .scalar(text: text, isNull: isNull, location: start) }
            switch Interpolation.expand(text, environment: environment) {
            case .success(let expanded):
                return .scalar(text: expanded, isNull: isNull, location: start)
            case .failure(let failure):
                // Exact column for a one-line value; libyaml marks a quoted one at its quote.
                let quote = scalar.style == .singleQuoted || scalar.style == .doubleQuoted ? 1 : 0
                let offset = text.contains("\n") ? 0 : failure.offset + quote
                diagnostics.append(Diagnostic(.error, "\(path): \(failure.message)", at: start.advanced(by: offset)))
                return .scalar(text: text, isNull: isNull, location: start)
            }
        }
    }

    private static func yamlMessage(_ error: Error) -> String {
        guard let yaml = error as? YamlError else { return "could not read YAML: \(error)" }
        switch yaml {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            let prefix = context.map { "\($0.text) (line \($0.mark.line)), " } ?? ""
            return "malformed YAML: \(prefix)\(problem)"
        case .duplicatedKeysInMapping(let duplicates, _):
            // Yams marks the first occurrence; the message says so.
            return "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")): written here and again later in the same mapping; each setting may appear once"
        case .reader(let problem, _, _, _):
            return "the spec is not readable text: \(problem)"
        default:
            return "malformed YAML: \(yaml)"
        }
    }

    private static func yamlLocation(_ error: Error, file: String) -> SourceLocation {
        guard let yaml = error as? YamlError else { return SourceLocation(file: file, line: 1, column: 1) }
        switch yaml {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return SourceLocation(file: file, line: mark.line, column: mark.column)
        case .duplicatedKeysInMapping(_, let context):
            return SourceLocation(file: file, line: context.mark.line, column: context.mark.column)
        case .reader(_, let offset, _, let text):
            guard let offset else { return SourceLocation(file: file, line: 1, column: 1) }
            let prefix = text.utf8.prefix(offset)
            let line = prefix.filter { $0 == 10 }.count + 1
            let column = prefix.reversed().prefix { $0 != 10 }.count + 1
            return SourceLocation(file: file, line: line, column: column)
        default:
            return SourceLocation(file: file, line: 1, column: 1)
        }
    }
}
