import Foundation
import Provision
import Spec

/// The outcome of a drift check: in sync, drift, or could not check (with why).
public struct VerifyReport: Sendable {
    public enum Status: String, Sendable {
        case inSync = "in_sync"
        case drift
        /// Something could not be read: no conclusion, and never "in sync".
        case unknown
    }

    public struct Failure: Sendable {
        public var resource: ResourceID
        public var reason: ReadFailure
    }

    public var findings: [Finding]
    public var failures: [Failure]
    /// Resources checked, for reporters that list passing checks too (JUnit).
    public var checked: [ResourceID]
    public var requestCount: Int?
    public var duration: Duration?

    public init(findings: [Finding], failures: [Failure], checked: [ResourceID],
                requestCount: Int? = nil, duration: Duration? = nil) {
        self.findings = findings
        self.failures = failures
        self.checked = checked
        self.requestCount = requestCount
        self.duration = duration
    }

    public var status: Status {
        if !failures.isEmpty { return .unknown }
        return problems.isEmpty ? .inSync : .drift
    }

    /// Drift and failed checks: what makes the check fail.
    public var problems: [Finding] { findings.filter { [.drift, .failedCheck].contains($0.severity) } }
    public var warnings: [Finding] { findings.filter { $0.severity == .warning } }
    public var notes: [Finding] { findings.filter { $0.severity == .note } }
}
