import ArgumentParser
import Spec

/// `--only aws twilio` (or `--only aws,twilio`): limit a command to parts of the spec.
struct PartOptions: ParsableArguments {
    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Limit to these parts of the spec (\(SpecPart.allCases.map(\.rawValue).joined(separator: ", "))). A part left out needs none of its environment variables or credentials.", valueName: "part"))
    var only: [String] = []

    /// nil: every part.
    func parts(allowing allowed: [SpecPart] = SpecPart.allCases) throws -> Set<SpecPart>? {
        let names = only.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        guard !names.isEmpty else { return nil }
        var parts: Set<SpecPart> = []
        for name in names {
            guard let part = SpecPart(rawValue: name), allowed.contains(part) else {
                throw ValidationError("unknown part '\(name)' for --only; choose from \(allowed.map(\.rawValue).joined(separator: ", "))")
            }
            parts.insert(part)
        }
        return parts
    }
}
