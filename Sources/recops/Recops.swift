import ArgumentParser
import Foundation

/// The composition root: the only place that reads the process environment, the clock and
/// standard output, and the only place that decides exit codes.
struct Recops: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "recops",
        abstract: "Call recording infrastructure from one spec: validate it, make AWS, Twilio and Airtable match it, check for drift.",
        discussion: """
            The spec (infra/policy.yaml by default) declares the recordings bucket, the pipeline's IAM
            user, the Twilio number's webhooks, the Airtable field and how recordings are stored and
            linked. ${VAR} and ${VAR:-default} in it are filled in from the environment; secrets stay
            in the environment and are never spec values.

            Exit codes: 0 success, 1 invalid input or could not run, 2 drift or failed checks.
            """,
        version: version,
        subcommands: [ValidateCommand.self, PlanCommand.self, ApplyCommand.self, VerifyCommand.self, ServeCommand.self, ReconcileCommand.self, RecordingsCommand.self, AuditCommand.self, StatusCommand.self, KeysCommand.self, IAMPolicyCommand.self, SandboxCommand.self, SchemaCommand.self, StoreCommand.self, QualityCommand.self]
    )
}

/// Options shared by every command that reads the spec.
struct SpecOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Path of the spec.", valueName: "path"))
    var spec: String = "infra/policy.yaml"
}

/// Output formats of `validate`.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}
