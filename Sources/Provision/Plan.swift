import Spec

/// What plan found for one resource: the changes apply would make and the checks that failed.
public struct ResourcePlan: Sendable {
    public enum Action: String, Sendable, Codable {
        case create
        case update
        case none
    }

    public var id: ResourceID
    public var part: SpecPart
    public var specPath: String
    public var action: Action
    public var changes: [FieldChange]
    public var failures: [CheckFailure]
    /// Not drift: what will need a person soon.
    public var warnings: [CheckFailure] = []
    /// Why the resource could not be observed; such a plan proves nothing.
    public var error: ReadFailure?
    /// Performs the changes (nil when there are none or observing failed).
    let perform: (@Sendable () async throws -> Void)?
}

/// The plan for every selected resource.
public struct Plan: Sendable {
    public var resources: [ResourcePlan]

    public var changed: [ResourcePlan] { resources.filter { $0.action != .none } }
    public var hasChanges: Bool { !changed.isEmpty }
    public var hasFailures: Bool { resources.contains { !$0.failures.isEmpty } }
    public var errors: [ResourcePlan] { resources.filter { $0.error != nil } }

    public var summary: String {
        let creates = resources.filter { $0.action == .create }.count
        let updates = resources.filter { $0.action == .update }.count
        let failures = resources.reduce(0) { $0 + $1.failures.count }
        var text = "Plan: \(creates) to create, \(updates) to update"
        if failures > 0 { text += "; \(failures) failed check\(failures == 1 ? "" : "s") apply cannot fix" }
        if !errors.isEmpty { text += "; \(errors.count) resource\(errors.count == 1 ? "" : "s") could not be read" }
        if !hasChanges, failures == 0, errors.isEmpty { text = "No changes: everything matches the spec." }
        return text
    }
}
