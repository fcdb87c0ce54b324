import AWS
import Foundation
import Provision
import Spec
import Transport

/// The project's real spec, pointed at a moto_server, and the engine built from it.
public struct ProvisionFixture: Sendable {
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let specPath = repositoryRoot.appendingPathComponent("infra/policy.yaml").path

    public static let bucket = "acme-call-recordings"

    public let moto: MotoServer
    public let loaded: SpecLoader.Loaded
    public let aws: AWSClient
    public let counter: CountingTransport
    public var engine: Engine

    public init(moto: MotoServer, credentials: AWSCredentials = MotoServer.bootstrapCredentials, now: @escaping @Sendable () -> Date = { Date() },
         edit: (String) -> String = { $0 }) throws {
        self.moto = moto
        let text = edit(try String(contentsOfFile: Self.specPath, encoding: .utf8))
        let result = SpecLoader(environment: ["S3_BUCKET": Self.bucket]).validate(yaml: text, file: "infra/policy.yaml", parts: [.aws])
        guard var loaded = result.loaded else { throw SpecError(diagnostics: result.diagnostics) }
        MotoGaps.lifecycle(&loaded.spec)
        self.loaded = loaded
        counter = CountingTransport(AsyncHTTPClientTransport())
        aws = moto.client(credentials: credentials, transport: counter)
        engine = Engine(resources: AWSResources.make(spec: loaded.spec, aws: aws, now: now))
    }

    /// Plans and applies everything; returns the plan that was applied.
    @discardableResult
    public func apply() async throws -> Plan {
        let plan = await engine.plan()
        try await engine.apply(plan)
        return plan
    }
}
