import Foundation
import Spec
import Transport

extension VerifyReport {
    public enum Format: String, Sendable, CaseIterable {
        case text
        case json
        case junit
        case github
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .text: return text
        case .json: return json
        case .junit: return junit
        case .github: return github
        }
    }

    var text: String {
        var lines: [String] = []
        for failure in failures {
            lines.append("? \(failure.resource): could not check (\(failure.reason.reason.rawValue)): \(failure.reason.message)")
        }
        for finding in problems {
            let marker = finding.severity == .drift ? "~" : "!"
            let fix = finding.fixableByApply ? "recops apply fixes this" : "apply cannot fix this"
            lines.append("\(marker) \(finding.resource) \(finding.property): \(finding.message) [\(finding.location); \(fix)]")
        }
        for finding in warnings {
            lines.append("warning: \(finding.resource) \(finding.property): \(finding.message) [\(finding.location)]")
        }
        for finding in notes {
            lines.append("note: \(finding.resource) \(finding.property): \(finding.message)")
        }
        var summary: String
        let problems = problems
        switch status {
        case .inSync: summary = "In sync: \(checked.count) resource\(checked.count == 1 ? "" : "s") match the spec."
        case .drift: summary = "Drift: \(problems.count) finding\(problems.count == 1 ? "" : "s") in \(Set(problems.map(\.resource)).count) resource\(Set(problems.map(\.resource)).count == 1 ? "" : "s")."
        case .unknown: summary = "Could not check \(failures.count) resource\(failures.count == 1 ? "" : "s"): no conclusion."
        }
        if !warnings.isEmpty { summary += " \(warnings.count) warning\(warnings.count == 1 ? "" : "s")." }
        var measures: [String] = []
        if let requestCount { measures.append("\(requestCount) requests") }
        if let duration { measures.append("\(duration.milliseconds) ms") }
        if !measures.isEmpty { summary += " (\(measures.joined(separator: ", ")))" }
        return (lines + [summary]).joined(separator: "\n")
    }

    var json: String {
        var object: [String: JSONValue] = [
            "status": .string(status.rawValue),
            "findings": .array(findings.map { finding in
                .object([
                    "resource": .string(finding.resource.description),
                    "property": .string(finding.property),
                    "expected": finding.expected,
                    "actual": finding.actual ?? .null,
                    "severity": .string(finding.severity.rawValue),
                    "fixable_by_apply": .bool(finding.fixableByApply),
                    "message": .string(finding.message),
                    "file": .string(finding.location.file),
                    "line": .number(Double(finding.location.line)),
                    "column": .number(Double(finding.location.column)),
                ])
            }),
        ]
        if !failures.isEmpty {
            object["errors"] = .array(failures.map {
                .object(["resource": .string($0.resource.description), "reason": .string($0.reason.reason.rawValue), "message": .string($0.reason.message)])
            })
        }
        if let requestCount { object["requests"] = .number(Double(requestCount)) }
        return JSONValue.object(object).encoded(pretty: true)
    }

    var junit: String {
        func escape(_ text: String) -> String { XMLNode.escape(text) }
        var cases: [String] = []
        // An audit that could not read is not among the resources checked: it gets a case of its own.
        let unlisted = failures.map(\.resource).filter { !checked.contains($0) }
        for resource in checked + unlisted {
            let own = problems.filter { $0.resource == resource }
            var body = ""
            if let failure = failures.first(where: { $0.resource == resource }) {
                body = "<error type=\"\(failure.reason.reason.rawValue)\" message=\"\(escape(failure.reason.message))\"/>"
            } else if !own.isEmpty {
                let detail = own.map { "\($0.property): \($0.message) (\($0.location))" }.joined(separator: "\n")
                body = "<failure type=\"\(own.contains { !$0.fixableByApply } ? "failed_check" : "drift")\" message=\"\(escape("\(own.count) finding(s)"))\">\(escape(detail))</failure>"
            }
            cases.append("    <testcase classname=\"recops.verify\" name=\"\(escape(resource.description))\">\(body)</testcase>")
        }
        let failed = checked.filter { id in problems.contains { $0.resource == id } }.count
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites>
              <testsuite name="recops verify" tests="\(checked.count + unlisted.count)" failures="\(failed)" errors="\(failures.count)">
            \(cases.joined(separator: "\n"))
              </testsuite>
            </testsuites>
            """
    }

    /// GitHub Actions workflow commands: each finding annotates the spec line that declares it.
    var github: String {
        // By scalar: "\r\n" is one Character, and a `%` may carry a combining mark.
        func escape(_ text: String) -> String {
            ScalarEscaping.escape(text) { scalar in
                switch scalar {
                case "%": "%25"
                case "\r": "%0D"
                case "\n": "%0A"
                default: nil
                }
            }
        }
        var lines = findings.map { finding in
            // Drift fails the check as surely as a failed check does: both are errors.
            let level = switch finding.severity {
            case .drift, .failedCheck: "error"
            case .warning: "warning"
            case .note: "notice"
            }
            return "::\(level) file=\(finding.location.file),line=\(finding.location.line),col=\(finding.location.column),title=\(escape("recops verify: \(finding.resource)"))::\(escape("\(finding.property): \(finding.message)"))"
        }
        lines += failures.map { "::error title=\(escape("recops verify: could not check \($0.resource)"))::\(escape($0.reason.description))" }
        lines.append(text.split(separator: "\n").last.map(String.init) ?? "")
        return lines.joined(separator: "\n")
    }
}
