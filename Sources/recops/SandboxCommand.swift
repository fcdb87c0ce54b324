import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Sandbox

/// `recops sandbox`: local Twilio and Airtable, for people and tests.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run local emulators of Twilio's and Airtable's APIs (with moto_server for AWS, everything runs on one machine).",
        discussion: "Prints the environment variables that point recops at it. GET /_sandbox/state shows what a flow did.",
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the sandbox (the default).")

        @Option(help: "Port on 127.0.0.1 (0 picks a free one).")
        var port: Int = 0

        @Option(help: ArgumentHelp("JSON seed: account, numbers, Airtable base and jobs.", valueName: "file"))
        var seed: String?

        @Option(help: "Airtable requests per second per base before 429.")
        var airtableRate: Int = 5

        @Option(help: "Seconds a base stays throttled after a 429 (Airtable: 30).")
        var throttlePause: Int = 30

        func run() async throws {
            Wiring.bootstrapLogging()
            var seedValue = SandboxSeed.standard
            if let seed {
                do {
                    seedValue = try JSONDecoder().decode(SandboxSeed.self, from: Data(contentsOf: URL(fileURLWithPath: seed)))
                } catch {
                    Wiring.writeError("sandbox: cannot read seed \(seed): \(error)")
                    throw CommandExit.failure
                }
            }
            let state = SandboxState(seed: seedValue, requestsPerSecond: airtableRate, throttlePause: .seconds(throttlePause))
            let server = SandboxServer(state: state, seed: seedValue)
            let app = server.buildApplication(port: port, logger: Logger(label: "recops.sandbox")) { bound in
                let base = "http://127.0.0.1:\(bound)"
                var lines = ["recops sandbox listening on \(base)", "# export these to point recops at it:"]
                lines += server.environment(baseURL: base).map { "export \($0.0)=\($0.1)" }
                // Unbuffered, so a script reading the pipe sees it at once.
                FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            }
            try await app.runService()
        }
    }
}
