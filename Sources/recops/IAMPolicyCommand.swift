import ArgumentParser
import Foundation
import Provision
import Spec
import Transport

/// `recops iam-policy --for verify|apply|pipeline`: the least privilege each role needs.
struct IAMPolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam-policy",
        abstract: "Print the least-privilege IAM policy a role needs, derived from the spec.",
        discussion: "verify: read-only, for CI drift checks. apply: read and change. pipeline: what recops serve uses (the spec's iam section)."
    )

    enum Role: String, ExpressibleByArgument, CaseIterable {
        case verify
        case apply
        case pipeline
    }

    @OptionGroup var specOptions: SpecOptions

    @Option(name: .customLong("for"), help: "The role: verify, apply or pipeline.")
    var role: Role

    func run() async throws {
        Wiring.bootstrapLogging()
        let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: [.aws])
        let document: JSONValue
        if role == .pipeline {
            guard let iam = loaded.spec.iam else { throw CommandExit.failure }
            document = PolicyDocument.userPolicy(iam)
        } else {
            // Built from the resources themselves, so the policy follows what recops really calls.
            let resources = AWSResources.make(spec: loaded.spec, aws: Wiring.unsignedAWSClient(region: loaded.spec.aws?.region ?? "us-east-1"), now: { Date() })
            let grants = resources.flatMap { role == .verify ? $0.permissions.read : $0.permissions.read + $0.permissions.write }
            document = PolicyDocument.grants(grants)
        }
        print(document.encoded(pretty: true))
    }
}
