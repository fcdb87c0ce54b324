import Spec

/// A resource of any state type, so one engine can hold them all.
public struct AnyResource: Sendable {
    public let id: ResourceID
    public let part: SpecPart
    public let specPath: String
    public let dependencies: [ResourceID]
    public let permissions: Permissions
    private let makePlan: @Sendable () async -> ResourcePlan

    public init<R: Resource>(_ resource: R) {
        id = resource.id
        part = resource.part
        specPath = resource.specPath
        dependencies = resource.dependencies
        permissions = resource.permissions
        makePlan = {
            let observed: R.State?
            do {
                observed = try await resource.observe()
            } catch {
                return ResourcePlan(id: resource.id, part: resource.part, specPath: resource.specPath, action: .none,
                                    changes: [], failures: [], error: ReadFailure(error), perform: nil)
            }
            let failures = resource.checks(observed: observed)
            if observed == nil, !resource.canCreate {
                return ResourcePlan(id: resource.id, part: resource.part, specPath: resource.specPath, action: .none,
                                    changes: [], failures: failures, error: nil, perform: nil)
            }
            let changes = StateDiff.compare(desired: resource.desired, observed: observed)
            let action: ResourcePlan.Action = observed == nil ? .create : (changes.isEmpty ? .none : .update)
            let perform: (@Sendable () async throws -> Void)?
            switch (observed, changes.isEmpty) {
            case (nil, _):
                perform = { try await resource.apply(.create(resource.desired)) }
            case (let current?, false):
                let fields = Set(changes.map(\.field))
                perform = { try await resource.apply(.update(from: current, to: resource.desired, fields: fields)) }
            default:
                perform = nil
            }
            return ResourcePlan(id: resource.id, part: resource.part, specPath: resource.specPath, action: action,
                                changes: changes, failures: failures, warnings: resource.warnings(observed: observed), error: nil, perform: perform)
        }
    }

    public func plan() async -> ResourcePlan { await makePlan() }
}
