/// A part of the spec a command can be limited to (`--only aws twilio`).
///
/// A part left out is not read at all: its sections are dropped before interpolation, so it needs
/// none of its environment variables, and no check or request concerns it.
public enum SpecPart: String, CaseIterable, Sendable, Hashable, Codable {
    case aws
    case twilio
    case airtable
    /// The live voice webhook (`verify --only webhook`): needs the app URL and the recording settings.
    case webhook

    /// The top-level sections of the spec this part reads.
    public var sections: Set<String> {
        switch self {
        case .aws: return ["aws", "bucket", "iam", "audit"]
        case .twilio: return ["app", "twilio"]
        case .airtable: return ["airtable"]
        case .webhook: return ["app", "twilio"]
        }
    }

    /// Sections every command reads.
    static let common: Set<String> = ["version"]

    /// Sections to read for these parts; nil means all of them.
    static func sections(for parts: Set<SpecPart>?) -> Set<String>? {
        guard let parts else { return nil }
        return parts.reduce(common) { $0.union($1.sections) }
    }
}
