import ArgumentParser
import Foundation
import Provision
import Spec
import Transport

/// `recops apply`: make the accounts match the spec, after showing what will change.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make AWS, Twilio and Airtable match the spec: show the plan, ask, apply in dependency order, read each change back.",
        discussion: "Never creates or prints access keys, never deletes a bucket, never buys or releases a number. Exit 0 on success (or nothing to do), 1 on error; 2 when only checks apply cannot fix remain."
    )

    @OptionGroup var specOptions: SpecOptions
    @OptionGroup var partOptions: PartOptions

    @Flag(help: "Apply without asking (for automation). Without it, apply asks on a terminal and refuses otherwise.")
    var autoApprove = false

    func run() async throws {
        Wiring.bootstrapLogging()
        let parts = try partOptions.parts(allowing: [.aws, .twilio, .airtable])
        let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: parts)
        let resources = try Wiring.resources(for: loaded, parts: parts, transport: AsyncHTTPClientTransport())
        let engine = Engine(resources: resources)
        let plan = await engine.plan()
        print(plan.text)
        if !plan.errors.isEmpty {
            Wiring.writeError("apply: some resources could not be read; nothing was changed")
            throw CommandExit.failure
        }
        guard plan.hasChanges else {
            if plan.hasFailures { throw CommandExit.drift }
            return
        }
        if !autoApprove {
            guard isatty(STDIN_FILENO) == 1 else {
                Wiring.writeError("apply: refusing to change anything without a terminal to confirm on; pass --auto-approve")
                throw CommandExit.failure
            }
            print("Apply these changes? Only 'yes' is accepted: ", terminator: "")
            guard readLine() == "yes" else {
                print("Cancelled; nothing was changed.")
                throw CommandExit.failure
            }
        }
        do {
            try await engine.apply(plan) { event in
                switch event {
                case .applying(let resource): print("applying \(resource.id) (\(resource.action.rawValue))…")
                case .applied(let id): print("done: \(id) matches the spec")
                }
            }
        } catch {
            Wiring.writeError("apply failed: \(error)")
            throw CommandExit.failure
        }
        print("Apply complete: \(plan.changed.count) resource\(plan.changed.count == 1 ? "" : "s") changed.")
        if plan.hasFailures { throw CommandExit.drift }
    }
}
