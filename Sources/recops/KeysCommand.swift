import ArgumentParser
import AWS
import Foundation
import Pipeline
import SQLiteStore
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
            abstract: "Create a new access key for the service user; hand it to the running service; with --retire-old, retire the previous key once nothing signs with it.",
            discussion: """
                Without --write-credentials the new key goes to standard output only, once, as shell exports (--output env)
                or JSON for a secrets manager: redirect it, never into a log. With --write-credentials FILE it is first proven
                (a request signed with it succeeds: STS GetCallerIdentity), then written into FILE at --profile (atomically,
                mode 0600, the other profiles kept) and not printed; a `recops serve` reading that file (AWS_SHARED_CREDENTIALS_FILE,
                AWS_PROFILE) switches to it on its own, within one sweep (15 s) when idle.
                With --retire-old the old key is deactivated and deleted only after the new one is proven and, with
                --write-credentials, once every replica that reported within the last minute (in the store: --data-dir or --store)
                signs with the new one; --wait bounds that (0: do not check), and a timeout keeps the old key and says which
                replica still uses it. The user never has more than two keys, nor none that works. Presigned links signed with
                the old key stop working when it is deactivated. Needs IAM rights over the user (the apply role).
                """)

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @Option(help: ArgumentHelp("IAM user (default: the spec's iam.user).", valueName: "name"))
        var user: String?
        @Option(help: "How the new key is printed: env (shell exports) or json.")
        var output: Output = .env
        @Flag(help: "Deactivate and delete the previous key once the new one works (and, with --write-credentials, once the service uses it).")
        var retireOld = false
        @Option(help: ArgumentHelp("Write the new key into this shared credentials file (atomically, mode 0600) instead of printing it.", valueName: "file"))
        var writeCredentials: String?
        @Option(help: ArgumentHelp("The profile of --write-credentials to set.", valueName: "name"))
        var profile: String = "default"
        @Option(help: ArgumentHelp("Seconds --retire-old waits for every live replica to sign with the new key (0: do not check).", valueName: "seconds"))
        var wait: Int = 120

        func validate() throws {
            guard wait >= 0 else { throw ValidationError("--wait must be 0 or more seconds") }
            if let writeCredentials, writeCredentials.isEmpty { throw ValidationError("--write-credentials needs a file") }
        }

        /// A replica that reported within this long is live: it sweeps every 15 s.
        static let liveWithin: TimeInterval = 60

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: [.aws])
            guard let name = user ?? loaded.spec.iam?.user else {
                throw ValidationError("no --user and no iam.user in the spec")
            }
            let aws = try Wiring.awsClient(region: loaded.spec.aws?.region ?? "us-east-1", transport: AsyncHTTPClientTransport())
            let rotation = KeyRotation(iam: IAMClient(aws: aws), prove: KeyRotation.stsProof(like: aws))
            // The store is opened first: a rotation that cannot see the service must not start.
            let store: (any JobStore)? = (writeCredentials != nil && retireOld && wait > 0) ? try await openStore(spec: loaded.spec) : nil
            if let file = writeCredentials, let current = SharedConfigFiles.accessKeyID(path: file, profile: profile) {
                // Never overwrite somebody else's key (the operator's own default profile).
                let own: [String]
                do { own = try await IAMClient(aws: aws).accessKeys(name).map(\.id) } catch {
                    Wiring.writeError("keys rotate: cannot list \(name)'s keys: \(error)")
                    throw CommandExit.failure
                }
                guard own.contains(current) else {
                    Wiring.writeError("keys rotate: \(file) [\(profile)] holds \(current), which is not one of \(name)'s keys: refusing to overwrite it (choose --profile)")
                    throw CommandExit.failure
                }
            }
            let outcome: KeyRotation.Outcome
            var printed: String?
            var written = false
            var created: IAM.NewAccessKey?
            do {
                outcome = try await rotation.rotate(user: name, retireOld: retireOld, created: { key in
                    // Printed as soon as it exists (a failure later must not take the only copy of
                    // the secret), unless it goes into a file once proven.
                    created = key
                    guard writeCredentials == nil else { return }
                    printed = key.id
                    show(key, user: name)
                }, proven: writeCredentials.map { file in
                    { key, retiring in
                        do {
                            try SharedConfigFiles.writeKey(path: file, profile: profile, accessKeyID: key.id, secretAccessKey: key.secret)
                            written = true
                            Wiring.writeError("keys rotate: new key \(key.id) written to \(file) [\(profile)]")
                        } catch {
                            printed = key.id
                            show(key, user: name)
                            throw error
                        }
                        if !retiring.isEmpty, let store { try await waitForReplicas(store, toLeave: retiring) }
                    }
                })
            } catch {
                // Neither written nor printed (its proof failed): print it now rather than lose it.
                if let key = created, printed == nil, !written {
                    printed = key.id
                    show(key, user: name)
                }
                let kept = printed.map { " The new key \($0) was created and printed above: store it, or delete it with the AWS CLI." }
                    ?? (written ? " The new key is in \(writeCredentials ?? "")." : "")
                Wiring.writeError("keys rotate: \(error).\(kept)")
                throw CommandExit.failure
            }
            let retired = outcome.retired.isEmpty ? "no key retired" : "retired \(outcome.retired.joined(separator: ", "))"
            let next = writeCredentials == nil ? " Store it, then restart the service with it." : ""
            Wiring.writeError("keys rotate: new key \(outcome.newKey.id) for \(name); \(retired).\(next)")
        }

        private func show(_ key: IAM.NewAccessKey, user name: String) {
            let text = switch output {
            case .env:
                "AWS_ACCESS_KEY_ID=\(key.id)\nAWS_SECRET_ACCESS_KEY=\(key.secret)"
            case .json:
                JSONValue.object(["UserName": .string(name), "AccessKeyId": .string(key.id), "SecretAccessKey": .string(key.secret)]).encoded(pretty: true)
            }
            FileHandle.standardOutput.write(Data((text + "\n").utf8))  // unbuffered: out before anything can fail
        }

        struct StillInUse: Error, CustomStringConvertible {
            var description: String
        }

        /// The service's store, where each replica reports the key it signs with.
        private func openStore(spec: Spec) async throws -> any JobStore {
            if case .postgres(let store) = try await PipelineWiring.openStore(spec: spec, override: dataDirOptions.store) { return store }
            let directory = URL(fileURLWithPath: dataDirOptions.dataDir, isDirectory: true).standardizedFileURL
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("recops.sqlite").path) else {
                Wiring.writeError("keys rotate: cannot see the service's store (no \(directory.path)/recops.sqlite), so cannot tell when it stops using the old key: pass --data-dir or --store, or --wait 0 to retire without checking")
                throw CommandExit.failure
            }
            do {
                return try SQLiteJobStore(directory: directory)
            } catch {
                Wiring.writeError("keys rotate: cannot open the store: \(error)")
                throw CommandExit.failure
            }
        }

        /// Until no live replica reports signing with a key being retired.
        private func waitForReplicas(_ store: any JobStore, toLeave retiring: [String]) async throws {
            let deadline = Date().addingTimeInterval(TimeInterval(wait))
            while true {
                let now = Date()
                let live = try await store.signingKeys().filter { $0.age < Self.liveWithin }
                let holding = live.filter { retiring.contains($0.accessKeyID) }
                if holding.isEmpty {
                    if live.isEmpty { Wiring.writeError("keys rotate: no replica reported a key in the last minute (is the service stopped, or is this another store?): retiring") }
                    return
                }
                guard now < deadline else {
                    throw StillInUse(description: holding.map { "replica \($0.owner) still signs with \($0.accessKeyID) (from \($0.source), seen \(Int($0.age)) s ago)" }
                        .joined(separator: "; ") + " after \(wait) s: does it read \(writeCredentials ?? "the file") at profile \(profile)?")
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
