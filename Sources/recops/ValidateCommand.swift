import ArgumentParser
import Foundation
import Spec

/// `recops validate`: every problem in the spec, with its position, before any API call.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the spec: YAML, settings, environment variables, and what AWS, Twilio or Airtable would reject.",
        discussion: "Exit 0 when valid (warnings allowed), 1 when invalid. Makes no network request."
    )

    @OptionGroup var specOptions: SpecOptions

    @Option(help: "Output format: text (file:line:column: severity: message) or json.")
    var format: ReportFormat = .text

    func run() throws {
        let loader = SpecLoader(environment: ProcessInfo.processInfo.environment)
        let result = loader.validate(path: specOptions.spec)
        print(Self.render(result.diagnostics, file: specOptions.spec, valid: result.loaded != nil, format: format))
        if result.loaded == nil { throw ExitCode(1) }
    }

    static func render(_ diagnostics: [Diagnostic], file: String, valid: Bool, format: ReportFormat) -> String {
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
            return JSONValue.object(["valid": .bool(valid), "diagnostics": .array(items)]).encoded(pretty: true)
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
