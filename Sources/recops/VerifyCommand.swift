import ArgumentParser
import Foundation
import Provision
import Spec
import Transport
import Verify

extension VerifyReport.Format: ExpressibleByArgument {}

/// `recops verify`: the drift check CI runs. Read-only.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that AWS, Twilio and Airtable match the spec, reading everything in one concurrent wave. Never writes.",
        discussion: "Exit 0 in sync, 2 on drift or failed checks, 1 when it could not check (credentials, network, permissions)."
    )

    @OptionGroup var specOptions: SpecOptions
    @OptionGroup var partOptions: PartOptions

    @Option(help: "Output format: text, json, junit (CI test reports) or github (workflow annotations on the spec's lines).")
    var format: VerifyReport.Format = .text

    func run() async throws {
        Wiring.bootstrapLogging()
        let started = ContinuousClock.now
        let parts = try partOptions.parts()
        let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: parts)
        let transport = CountingTransport(AsyncHTTPClientTransport())
        let resources = try Wiring.resources(for: loaded, parts: parts, transport: transport)
        var report = await Verifier(engine: Engine(resources: resources), sourceMap: loaded.sourceMap).run()
        report.requestCount = transport.count
        report.duration = ContinuousClock.now - started
        print(report.render(format))
        switch report.status {
        case .inSync: return
        case .drift: throw CommandExit.drift
        case .unknown: throw CommandExit.failure
        }
    }
}
