import Foundation
import Provision
import Spec

/// `recops verify`: a plan that never applies, turned into findings that point into the spec.
/// The audits (what the bucket and Twilio hold) run in the same wave as the plan's reads.
public struct Verifier: Sendable {
    public let engine: Engine
    public let sourceMap: SourceMap
    public let audits: [any VerifyAudit]

    public init(engine: Engine, sourceMap: SourceMap, audits: [any VerifyAudit] = []) {
        self.engine = engine
        self.sourceMap = sourceMap
        self.audits = audits
    }

    public func run() async -> VerifyReport {
        async let plan = engine.plan()
        let audited = await withTaskGroup(of: (Int, Result<[Finding], any Error>).self) { group in
            for (index, audit) in audits.enumerated() {
                group.addTask {
                    do { return (index, .success(try await audit.findings(sourceMap: sourceMap))) } catch { return (index, .failure(error)) }
                }
            }
            var results: [(Int, Result<[Finding], any Error>)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var report = report(await plan)
        for (audit, result) in zip(audits, audited) {
            switch result {
            case .success(let findings): report.findings += findings
            case .failure(let error): report.failures.append(.init(resource: audit.id, reason: ReadFailure(error)))
            }
        }
        return report
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
