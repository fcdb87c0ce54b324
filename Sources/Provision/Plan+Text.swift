import Spec

extension Plan {
    /// The readable diff `recops plan` and `apply` show: `+` create, `~` update (old → new per
    /// field), `-` removal of something recops manages, `!` a failed check, `?` unreadable,
    /// `warning:` fine for now.
    public var text: String {
        var lines: [String] = []
        for resource in resources {
            if let error = resource.error {
                lines.append("? \(resource.id): could not read (\(error.reason.rawValue)): \(error.message)")
                continue
            }
            switch resource.action {
            case .create:
                lines.append("+ \(resource.id)")
                for change in resource.changes {
                    // Lists show one item a line; an empty one (no extra policies) says nothing.
                    if case .array(let items) = change.expected {
                        lines += items.map { "    + \(change.field): \($0.encoded())" }
                    } else {
                        lines.append("    + \(change.field): \(change.expected.encoded())")
                    }
                }
            case .update:
                lines.append("~ \(resource.id)")
                for change in resource.changes {
                    lines += Self.describe(change)
                }
            case .none:
                break
            }
            for failure in resource.failures {
                lines.append("! \(resource.id) \(failure.property): \(failure.message)")
            }
            for warning in resource.warnings {
                lines.append("warning: \(resource.id) \(warning.property): \(warning.message)")
            }
        }
        return (lines + [summary]).joined(separator: "\n")
    }

    /// Arrays (owned sets) list what goes and what comes; anything else shows old → new.
    static func describe(_ change: FieldChange) -> [String] {
        if case .array(let wanted) = change.expected, case .array(let have)? = change.actual {
            let removed = have.filter { !wanted.contains($0) }.map { "    - \(change.field): \($0.encoded())" }
            let added = wanted.filter { !have.contains($0) }.map { "    + \(change.field): \($0.encoded())" }
            if !(removed + added).isEmpty { return removed + added }
        }
        return ["    ~ \(change.field): \(change.actual?.encoded() ?? "(absent)") → \(change.expected.encoded())"]
    }
}
