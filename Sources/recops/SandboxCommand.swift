import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Sandbox
import Transport
import Twilio

/// `recops sandbox`: local Twilio and Airtable, for people and tests.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run local emulators of Twilio's and Airtable's APIs (with moto_server for AWS, everything runs on one machine).",
        discussion: "Prints the environment variables that point recops at it. GET /_sandbox/state shows what a flow did.",
        subcommands: [Serve.self, Call.self, Proxy.self],
        defaultSubcommand: Serve.self
    )

    struct Proxy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "proxy",
            abstract: "Run a fault-injecting HTTP proxy in front of one upstream (moto, the sandbox).",
            discussion: """
                Point recops at it instead of the upstream (AWS_ENDPOINT_URL_S3, TWILIO_API_BASE_URL, …) and
                inject failures over its admin API:
                  curl -X POST localhost:PORT/_proxy/rules -d '{"action":"status","status":503,"method":"PUT","count":3}'
                Actions: status (with "status" and optional "body"), latency ("latency_ms"), reset (drop the
                connection before answering, even mid-upload), truncate (announce the full length, send half).
                Match with "method", "path_prefix", "path_suffix"; limit with "count" (next N), "fraction", or
                "duration_ms" (an outage of that long from now). Rules are tried in the order added; a request
                a rule's fraction spares goes on to the next.
                DELETE /_proxy/rules clears them; GET /_proxy/stats counts requests, faults, AWS Query
                operations (Action=…) and the busiest second.
                """)

        @Option(help: ArgumentHelp("The server to forward to, e.g. http://127.0.0.1:5000.", valueName: "url"))
        var upstream: String

        @Option(help: "Port on 127.0.0.1 (0 picks a free one).")
        var port: Int = 0

        func run() async throws {
            Wiring.bootstrapLogging()
            guard let url = URL(string: upstream), url.scheme != nil, url.host != nil else {
                throw ValidationError("--upstream must be a URL such as http://127.0.0.1:5000")
            }
            let proxy = FaultProxy(upstream: url)
            let app = proxy.buildApplication(port: port, logger: Logger(label: "recops.proxy")) { bound in
                FileHandle.standardOutput.write(Data("recops sandbox proxy listening on http://127.0.0.1:\(bound), forwarding to \(url.absoluteString)\n".utf8))
            }
            try await app.runService()
        }
    }

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
                lines += server.environment(baseURL: base).map { "export \($0.0)=\(Self.shellQuoted($0.1))" }
                // Unbuffered, so a script reading the pipe sees it at once.
                FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            }
            try await app.runService()
        }

        /// A value a shell reads back unchanged (`'Work Orders'`).
        static func shellQuoted(_ value: String) -> String {
            let plain = value.allSatisfy { $0.isLetter || $0.isNumber || "+-_./:=@".contains($0) }
            return plain && !value.isEmpty ? value : "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
    }
}

extension SandboxCommand {
    /// `recops sandbox call`: one simulated inbound call against the number's webhooks.
    struct Call: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "call",
            abstract: "Simulate an inbound call as Twilio would: signed webhooks, TwiML followed, recording and status callbacks.",
            discussion: "Finds the sandbox through TWILIO_API_BASE_URL (as `recops sandbox` prints it) or --sandbox. Exit 1 when a webhook is not answered with 2xx or its TwiML is unusable."
        )

        @Option(help: "The number called (E.164).")
        var to: String

        @Option(help: "The caller's number.")
        var from: String = "+14155550123"

        @Option(help: "Job number the caller keys in when asked.")
        var job: String?

        @Option(help: "Length of the call and its recording, in seconds.")
        var duration: Int = 9

        @Option(help: "The sandbox's base URL (default: TWILIO_API_BASE_URL).")
        var sandbox: String?

        func validate() throws {
            guard duration > 0 else { throw ValidationError("--duration must be at least 1 second") }
        }

        func run() async throws {
            Wiring.bootstrapLogging()
            let environment = Wiring.environment
            guard let base = (sandbox ?? environment["TWILIO_API_BASE_URL"]).flatMap(URL.init(string:)) else {
                Wiring.writeError("sandbox call: no sandbox: pass --sandbox URL or export what `recops sandbox` prints")
                throw CommandExit.failure
            }
            guard let credentials = TwilioClient.Credentials.fromEnvironment(environment) else {
                Wiring.writeError("sandbox call: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN as `recops sandbox` prints them")
                throw CommandExit.failure
            }
            let transport = AsyncHTTPClientTransport()
            let twilio = TwilioClient(credentials: credentials, baseURL: base, transport: transport, logger: Logger(label: "recops.sandbox.call"))
            let simulator = CallSimulator(twilio: twilio, authToken: credentials.password, transport: transport)
            let report = try await simulator.run(.init(to: to, from: from, job: job, duration: duration))
            print("call \(report.callSid)")
            for step in report.steps { print("  \(step)") }
            if let sid = report.recordingSid { print("recording \(sid) (\(duration) s, channels=\(report.recordingChannels ?? "?"))") }
            for problem in report.problems { Wiring.writeError("problem: \(problem)") }
            if !report.succeeded { throw CommandExit.failure }
        }
    }
}
