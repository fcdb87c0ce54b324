import ArgumentParser
import AWS
import Foundation
import Provision
import Spec
import Transport

/// `recops keys rotate`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the pipeline user's access keys.",
        subcommands: [Rotate.self])

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case env, json
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Create a new access key for the service user and print it once; with --retire-old, retire the previous key after the new one is proven.",
            discussion: """
                The new key goes to standard output only, once, as shell exports (--output env) or JSON for a
                secrets manager: redirect it, never into a log. With --retire-old the old key is deactivated and
                deleted only after a request signed with the new key succeeds (STS GetCallerIdentity); the user
                never has more than two keys, nor none that works. Needs IAM rights over the user (the apply role).
                """)

        @OptionGroup var specOptions: SpecOptions
        @Option(help: ArgumentHelp("IAM user (default: the spec's iam.user).", valueName: "name"))
        var user: String?
        @Option(help: "How the new key is printed: env (shell exports) or json.")
        var output: Output = .env
        @Flag(help: "Deactivate and delete the previous key once the new one works.")
        var retireOld = false

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: [.aws])
            guard let name = user ?? loaded.spec.iam?.user else {
                throw ValidationError("no --user and no iam.user in the spec")
            }
            let aws = try Wiring.awsClient(region: loaded.spec.aws?.region ?? "us-east-1", transport: AsyncHTTPClientTransport())
            let rotation = KeyRotation(iam: IAMClient(aws: aws), prove: KeyRotation.stsProof(like: aws))
            let outcome: KeyRotation.Outcome
            do {
                outcome = try await rotation.rotate(user: name, retireOld: retireOld)
            } catch {
                Wiring.writeError("keys rotate: \(error)")
                throw CommandExit.failure
            }
            switch output {
            case .env:
                print("AWS_ACCESS_KEY_ID=\(outcome.newKey.id)\nAWS_SECRET_ACCESS_KEY=\(outcome.newKey.secret)")
            case .json:
                print(JSONValue.object(["UserName": .string(name), "AccessKeyId": .string(outcome.newKey.id),
                                        "SecretAccessKey": .string(outcome.newKey.secret)]).encoded(pretty: true))
            }
            let retired = outcome.retired.isEmpty ? "no key retired" : "retired \(outcome.retired.joined(separator: ", "))"
            Wiring.writeError("keys rotate: new key \(outcome.newKey.id) for \(name); \(retired). Store it, then restart the service with it.")
        }
    }
}
