import Airtable
import ArgumentParser
import AWS
import Foundation
import PipelineAssembly
import Spec

/// `recops validate`: every problem in the spec, with its position, before any API call.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the spec: YAML, settings, environment variables, and what AWS, Twilio or Airtable would reject.",
        discussion: """
            Exit 0 when valid (warnings allowed), 1 when invalid. Makes no network request. A valid spec also gets a note: \
            the longest history line it can write and the URL length that assumes, with and without a session token.
            """
    )

    @OptionGroup var specOptions: SpecOptions

    @Option(help: "Output format: text (file:line:column: severity: message) or json.")
    var format: ReportFormat = .text

    func run() throws {
        let loader = SpecLoader(environment: ProcessInfo.processInfo.environment)
        let result = loader.validate(path: specOptions.spec)
        var diagnostics = result.diagnostics
        var estimate: HistoryLineEstimate?
        if let loaded = result.loaded, let found = HistoryLineEstimate(spec: loaded.spec) {
            estimate = found
            diagnostics += Self.diagnostics(found, at: loaded.sourceMap.location(of: "recordings.history_line"))
        }
        if let loaded = result.loaded, let recordings = loaded.spec.recordings, !recordings.publicUrl,
           let (source, seconds) = CredentialChain.sessionLength(ProcessInfo.processInfo.environment), recordings.signedUrlTtl.seconds > seconds {
            diagnostics.append(Diagnostic(.warning, "recordings.signed_url_ttl: \(recordings.signedUrlTtl) is longer than the \(seconds) s sessions of \(source): a presigned link dies with the credentials that signed it, so links would stop working early; raise the role's session length or shorten signed_url_ttl",
                                          at: loaded.sourceMap.location(of: "recordings.signed_url_ttl")))
        }
        let valid = result.loaded != nil && !diagnostics.hasErrors
        print(Self.render(diagnostics, file: specOptions.spec, valid: valid, estimate: estimate, format: format))
        if !valid { throw ExitCode(1) }
    }

    /// A field holding fewer lines than this fills within weeks on a busy job.
    static let fewLinesPerField = 20

    /// The note, and an error or a warning when the lines are too long for the history field.
    static func diagnostics(_ estimate: HistoryLineEstimate, at location: SourceLocation) -> [Diagnostic] {
        var found = [Diagnostic(.note, estimate.summary, at: location)]
        if estimate.worst + 1 > AirtableLimits.longTextCharacters {
            found.append(Diagnostic(.error, "recordings.history_line: a line of \(estimate.worst) characters can never be written to a \(AirtableLimits.longTextCharacters)-character history field; shorten the line or the key", at: location))
        } else if estimate.linesPerField < fewLinesPerField {
            found.append(Diagnostic(.warning, "recordings.history_line: a history field holds only \(estimate.linesPerField) such lines before its recordings wait as history_full; shorten the line or the key", at: location))
        }
        return found
    }

    static func render(_ diagnostics: [Diagnostic], file: String, valid: Bool, estimate: HistoryLineEstimate? = nil, format: ReportFormat) -> String {
        switch format {
        case .json:
            let items = diagnostics.map { diagnostic -> JSONValue in
                .object([
                    "severity": .string(diagnostic.severity.rawValue),
                    "message": .string(diagnostic.message),
                    "file": .string(diagnostic.location.file),
                    "line": .number(Double(diagnostic.location.line)),
                    "column": .number(Double(diagnostic.location.column)),
                ])
            }
            var report: [String: JSONValue] = ["valid": .bool(valid), "diagnostics": .array(items)]
            if let estimate {
                var line: [String: JSONValue] = [
                    "line": .number(Double(estimate.line)), "url": .number(Double(estimate.url)), "presigned": .bool(estimate.presigned), "links": .string(estimate.links.rawValue),
                    "lines_per_field": .number(Double(estimate.linesPerField)),
                ]
                if let withToken = estimate.lineWithSessionToken, let urlWithToken = estimate.urlWithSessionToken {
                    line["line_with_session_token"] = .number(Double(withToken))
                    line["url_with_session_token"] = .number(Double(urlWithToken))
                    line["assumed_session_token"] = .number(Double(HistoryLineEstimate.assumedSessionTokenLength))
                }
                report["history_line"] = .object(line)
            }
            return JSONValue.object(report).encoded(pretty: true)
        case .text:
            let errors = diagnostics.errors.count, warnings = diagnostics.warnings.count
            let counts = [errors > 0 ? plural(errors, "error") : nil, warnings > 0 ? plural(warnings, "warning") : nil].compactMap { $0 }
            let summary = valid
                ? "\(file): valid" + (counts.isEmpty ? "" : " (\(counts.joined(separator: ", ")))")
                : "\(file): invalid: \(counts.joined(separator: ", "))"
            return (diagnostics.map(\.description) + [summary]).joined(separator: "\n")
        }
    }

    private static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
}
