import AWS
import Foundation
import Provision
import RecopsTesting
import Spec
import Transport

/// The project's real spec, pointed at a moto_server, and the engine built from it.
struct ProvisionFixture {
    static let specPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("infra/policy.yaml").path

    static let bucket = "acme-call-recordings"

    let moto: MotoServer
    let loaded: SpecLoader.Loaded
    let aws: AWSClient
    let counter: CountingTransport
    var engine: Engine

    init(moto: MotoServer, credentials: AWSCredentials = MotoServer.bootstrapCredentials, now: @escaping @Sendable () -> Date = { Date() },
         edit: (String) -> String = { $0 }) throws {
        self.moto = moto
        let text = edit(try String(contentsOfFile: Self.specPath, encoding: .utf8))
        let result = SpecLoader(environment: ["S3_BUCKET": Self.bucket]).validate(yaml: text, file: "infra/policy.yaml", parts: [.aws])
        guard let loaded = result.loaded else { throw SpecError(diagnostics: result.diagnostics) }
        self.loaded = loaded
        counter = CountingTransport(AsyncHTTPClientTransport())
        aws = moto.client(credentials: credentials, transport: counter)
        engine = Engine(resources: AWSResources.make(spec: loaded.spec, aws: aws, now: now))
    }

    /// Plans and applies everything; returns the plan that was applied.
    @discardableResult
    func apply() async throws -> Plan {
        let plan = await engine.plan()
        try await engine.apply(plan)
        return plan
    }
}
