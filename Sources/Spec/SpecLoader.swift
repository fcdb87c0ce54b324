import Foundation

/// Reads, interpolates, validates and lints a spec file.
///
/// The environment comes in from outside (the `recops` target passes the process's), so tests
/// choose exactly which variables are set.
public struct SpecLoader: Sendable {
    public static let defaultPath = "infra/policy.yaml"

    public var environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// A spec that passed every check, with its warnings and where each value stands.
    public struct Loaded: Sendable {
        public var spec: Spec
        public var sourceMap: SourceMap
        public var warnings: [Diagnostic]
    }

    /// Every diagnostic for the file, and the spec when it has no errors.
    public func validate(path: String, parts: Set<SpecPart>? = nil) -> (loaded: Loaded?, diagnostics: [Diagnostic]) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "it is not readable UTF-8 text" : "no such file"
            return (nil, [Diagnostic(.error, "cannot read the spec: \(reason) (pass another with --spec PATH)", at: SourceLocation(file: path, line: 1, column: 1))])
        }
        return validate(yaml: text, file: path, parts: parts)
    }

    /// As `validate(path:parts:)`, for text already read (`file` names it in diagnostics).
    public func validate(yaml: String, file: String, parts: Set<SpecPart>? = nil) -> (loaded: Loaded?, diagnostics: [Diagnostic]) {
        let schema = Schema.spec
        let allSections: Set<String>
        if case .object(let properties) = schema.kind { allSections = Set(properties.map(\.name)) } else { allSections = [] }
        let kept = SpecPart.sections(for: parts) ?? allSections
        let skipped = allSections.subtracting(kept)

        let parsed = SpecNode.parse(yaml: yaml, file: file, environment: environment, skipping: skipped)
        guard let node = parsed.node else { return (nil, parsed.diagnostics) }
        var sourceMap = SourceMap(file: file)
        let checked = schema.validate(node, ignoringRequired: skipped, sourceMap: &sourceMap)
        var diagnostics = parsed.diagnostics + checked.diagnostics
        guard !diagnostics.hasErrors else { return (nil, Self.sorted(diagnostics)) }

        let spec: Spec
        do {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            spec = try decoder.decode(Spec.self, from: Data(checked.value.encoded().utf8))
        } catch {
            // The schema and the model disagree: a recops bug, not the user's.
            diagnostics.append(Diagnostic(.error, "internal error: the validated spec does not fit the model (\(error)); please report it", at: node.location))
            return (nil, diagnostics)
        }
        diagnostics += SpecLint(spec: spec, sourceMap: sourceMap).run()
        let sorted = Self.sorted(diagnostics)
        guard !sorted.hasErrors else { return (nil, sorted) }
        return (Loaded(spec: spec, sourceMap: sourceMap, warnings: sorted), sorted)
    }

    /// Loads a spec for a command that needs a valid one; errors are thrown together.
    public func load(path: String, parts: Set<SpecPart>? = nil) throws -> Loaded {
        let result = validate(path: path, parts: parts)
        guard let loaded = result.loaded else { throw SpecError(diagnostics: result.diagnostics.errors) }
        return loaded
    }

    /// In file order, so output reads top to bottom.
    private static func sorted(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.enumerated().sorted { a, b in
            (a.element.location.line, a.element.location.column, a.offset) < (b.element.location.line, b.element.location.column, b.offset)
        }.map(\.element)
    }
}
