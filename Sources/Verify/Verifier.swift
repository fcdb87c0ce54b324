import Foundation
import Provision
import Spec

/// `recops verify`: a plan that never applies, turned into findings that point into the spec.
public struct Verifier: Sendable {
    public let engine: Engine
    public let sourceMap: SourceMap

    public init(engine: Engine, sourceMap: SourceMap) {
        self.engine = engine
        self.sourceMap = sourceMap
    }

    public func run() async -> VerifyReport {
        let plan = await engine.plan()
        return report(plan)
    }

    public func report(_ plan: Plan) -> VerifyReport {
        var findings: [Finding] = []
        var failures: [VerifyReport.Failure] = []
        for resource in plan.resources {
            if let error = resource.error {
                failures.append(.init(resource: resource.id, reason: error))
                continue
            }
            for change in resource.changes {
                let message = resource.action == .create
                    ? "\(resource.id) does not exist"
                    : "\(change.field) is \(change.actual.map { $0.encoded() } ?? "not set"), the spec says \(change.expected.encoded())"
                findings.append(Finding(
                    resource: resource.id, property: change.field, expected: change.expected, actual: change.actual,
                    severity: .drift, fixableByApply: true, message: message,
                    location: sourceMap.location(of: "\(resource.specPath).\(change.field)")))
            }
            for failure in resource.failures {
                findings.append(Finding(
                    resource: resource.id, property: failure.property, expected: failure.expected, actual: failure.actual,
                    severity: .failedCheck, fixableByApply: false, message: failure.message,
                    location: sourceMap.location(of: resource.specPath)))
            }
            for warning in resource.warnings {
                findings.append(Finding(
                    resource: resource.id, property: warning.property, expected: warning.expected, actual: warning.actual,
                    severity: .warning, fixableByApply: false, message: warning.message,
                    location: sourceMap.location(of: resource.specPath)))
            }
        }
        return VerifyReport(findings: findings, failures: failures, checked: plan.resources.map(\.id))
    }
}
