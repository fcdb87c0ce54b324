/// The spec as parsed YAML, every value with its position, after `${VAR}` interpolation.
///
/// Validation, the typed model and diagnostics all work from this one tree, so no error has to
/// guess where a value came from.
public indirect enum SpecNode: Sendable {
    public struct Entry: Sendable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: SpecNode
    }

    /// `text` is after interpolation; `isNull` for `~`, `null` or an empty value.
    case scalar(text: String, isNull: Bool, location: SourceLocation)
    case mapping([Entry], location: SourceLocation)
    case sequence([SpecNode], location: SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .scalar(_, _, let location), .mapping(_, let location), .sequence(_, let location):
            return location
        }
    }

    /// What the node is, in the words a message uses ("expected a mapping, found a list").
    var kindDescription: String {
        switch self {
        case .scalar(let text, let isNull, _): return isNull ? "nothing (null)" : "the value '\(text)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}
