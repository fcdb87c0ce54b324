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
            var printed: String?
            do {
                // Printed as soon as it exists: a failure later must not take the only copy of the secret.
                outcome = try await rotation.rotate(user: name, retireOld: retireOld) { key in
                    printed = key.id
                    let text = switch output {
                    case .env:
                        "AWS_ACCESS_KEY_ID=\(key.id)\nAWS_SECRET_ACCESS_KEY=\(key.secret)"
                    case .json:
                        JSONValue.object(["UserName": .string(name), "AccessKeyId": .string(key.id),
                                          "SecretAccessKey": .string(key.secret)]).encoded(pretty: true)
                    }
                    FileHandle.standardOutput.write(Data((text + "\n").utf8))  // unbuffered: out before anything can fail
                }
            } catch {
                let kept = printed.map { " The new key \($0) was created and printed above: store it, or delete it with the AWS CLI." } ?? ""
                Wiring.writeError("keys rotate: \(error).\(kept)")
                throw CommandExit.failure
            }
            let retired = outcome.retired.isEmpty ? "no key retired" : "retired \(outcome.retired.joined(separator: ", "))"
            Wiring.writeError("keys rotate: new key \(outcome.newKey.id) for \(name); \(retired). Store it, then restart the service with it.")
        }
    }
}
