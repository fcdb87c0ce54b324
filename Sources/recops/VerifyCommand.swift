import ArgumentParser
import Foundation
import Provision
import Spec
import AWS
import Transport
import Twilio
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
        // Each client made once, when first needed (`--only` may need neither), for the
        // resources and the audits alike.
        let aws = Once { try Wiring.awsClient(region: loaded.spec.aws?.region ?? "us-east-1", transport: transport) }
        let twilio = Once { try Wiring.twilioClient(transport: transport) }
        let resources = try Wiring.resources(for: loaded, parts: parts, transport: transport, aws: aws.get, twilio: twilio.get)
        let audits = try VerifyAudits.make(spec: loaded.spec, parts: parts, s3: { S3Client(aws: try aws.get()) }, twilio: twilio.get, now: { Date() })
        var report = await Verifier(engine: Engine(resources: resources), sourceMap: loaded.sourceMap, audits: audits).run()
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

/// A value made when first asked for, then the same one (a command's clients, shared).
final class Once<Value> {
    private var value: Value?
    private let make: () throws -> Value

    init(_ make: @escaping () throws -> Value) {
        self.make = make
    }

    func get() throws -> Value {
        if let value { return value }
        let made = try make()
        value = made
        return made
    }
}
