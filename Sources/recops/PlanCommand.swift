import ArgumentParser
import Foundation
import Provision
import Spec
import Transport

/// `recops plan`: what apply would change, without changing anything.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change to make AWS, Twilio and Airtable match the spec.",
        discussion: "Exit 0 when nothing would change, 2 when changes are pending, 1 on error. Makes no change."
    )

    @OptionGroup var specOptions: SpecOptions
    @OptionGroup var partOptions: PartOptions

    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    func run() async throws {
        Wiring.bootstrapLogging()
        let parts = try partOptions.parts(allowing: [.aws, .twilio, .airtable])
        let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: parts)
        let resources = try Wiring.resources(for: loaded, parts: parts, transport: AsyncHTTPClientTransport())
        let plan = await Engine(resources: resources).plan()
        switch format {
        case .text:
            print(plan.text)
        case .json:
            print(Self.json(plan).encoded(pretty: true))
        }
        if !plan.errors.isEmpty { throw CommandExit.failure }
        if plan.hasChanges || plan.hasFailures { throw CommandExit.drift }
    }

    static func json(_ plan: Plan) -> JSONValue {
        .object([
            "resources": .array(plan.resources.map { resource in
                var object: [String: JSONValue] = [
                    "resource": .string(resource.id.description),
                    "action": .string(resource.action.rawValue),
                    "changes": .array(resource.changes.map { .object(["field": .string($0.field), "from": $0.actual ?? .null, "to": $0.expected]) }),
                    "failed_checks": .array(resource.failures.map { .object(["property": .string($0.property), "message": .string($0.message)]) }),
                ]
                if let error = resource.error { object["error"] = .string(error.description) }
                return .object(object)
            }),
            "summary": .string(plan.summary),
        ])
    }
}
