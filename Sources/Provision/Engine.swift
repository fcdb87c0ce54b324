import Foundation
import Spec

/// Observes, diffs and applies a set of resources: plan, apply and verify all go through here.
public struct Engine: Sendable {
    public let resources: [AnyResource]

    public init(resources: [AnyResource]) {
        self.resources = resources
    }

    /// Observes every resource at once: all reads go out in one concurrent wave.
    public func plan() async -> Plan {
        let plans = await withTaskGroup(of: ResourcePlan.self) { group in
            for resource in resources {
                group.addTask { await resource.plan() }
            }
            return await group.reduce(into: [ResourcePlan]()) { $0.append($1) }
        }
        let order = Dictionary(uniqueKeysWithValues: resources.enumerated().map { ($1.id, $0) })
        return Plan(resources: plans.sorted { order[$0.id]! < order[$1.id]! })
    }

    public enum Event: Sendable {
        case applying(ResourcePlan)
        case applied(ResourceID)
    }

    public struct ApplyError: Error, CustomStringConvertible {
        public var resource: ResourceID
        public var reason: String
        public var description: String { "\(resource): \(reason)" }
    }

    /// Applies a plan's changes, dependencies first, then reads each changed resource back and
    /// fails unless it now matches (a write the service silently ignored is caught here).
    public func apply(_ plan: Plan, progress: @Sendable (Event) -> Void = { _ in }) async throws {
        if let failed = plan.errors.first {
            throw ApplyError(resource: failed.id, reason: "could not be read, so nothing was applied: \(failed.error.map(\.description) ?? "")")
        }
        var done: Set<ResourceID> = []
        var pending = plan.changed
        while !pending.isEmpty {
            guard let index = pending.firstIndex(where: { item in
                resources.first { $0.id == item.id }?.dependencies.allSatisfy { done.contains($0) || !pending.map(\.id).contains($0) } ?? true
            }) else {
                throw ApplyError(resource: pending[0].id, reason: "dependency cycle")
            }
            let item = pending.remove(at: index)
            progress(.applying(item))
            do {
                try await item.perform?()
            } catch {
                throw ApplyError(resource: item.id, reason: "\(error)")
            }
            guard let resource = resources.first(where: { $0.id == item.id }) else { continue }
            let check = await resource.plan()
            if let error = check.error {
                throw ApplyError(resource: item.id, reason: "applied, but reading it back failed: \(error)")
            }
            if !check.changes.isEmpty {
                let fields = check.changes.map(\.field).joined(separator: ", ")
                throw ApplyError(resource: item.id, reason: "applied, but reading it back still differs in \(fields)")
            }
            done.insert(item.id)
            progress(.applied(item.id))
        }
    }
}
