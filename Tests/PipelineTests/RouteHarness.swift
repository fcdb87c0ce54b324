import Airtable
import AWS
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Pipeline
import PipelineAssembly
import RecopsTesting
import Spec
import Testing
import Transport
import Twilio

/// The webhook routes in-process (HummingbirdTesting), configured as the shared signature vectors
/// were computed: app URL https://svc.example.com, their account and their auth token. Nothing
/// in these tests reaches S3; job lookups reach an in-process sandbox.
struct RouteHarness {
    struct VectorMissing: Error, CustomStringConvertible {
        var name: String
        var description: String { "no usable vector \(name) in \(TestFixtures.twilioSignatures)" }
    }

    /// A vector of Tests/Fixtures/vectors/twilio-signature.json; a missing file or vector throws
    /// (that test fails with the reason; the run goes on).
    static func vector(_ name: String) throws -> (url: String, token: String, params: [(name: String, value: String)], signature: String, withPort: String) {
        let vectors = try JSONDecoder().decode(JSONValue.self, from: TestFixtures.data(TestFixtures.twilioSignatures))
        guard let vector = vectors["vectors"]?.arrayValue?.first(where: { $0["name"]?.stringValue == name }),
              let url = vector["url"]?.stringValue, let token = vector["token"]?.stringValue, let signature = vector["signature"]?.stringValue,
              let withPort = vector["signature_over_url_with_port"]?.stringValue, let object = vector["params"]?.objectValue else {
            throw VectorMissing(name: name)
        }
        let params = object.map { (name: $0.key, value: $0.value.stringValue ?? "") }
        return (url, token, params, signature, withPort)
    }

    static let account = "AC" + String(repeating: "a", count: 32)
    static let token = "0123456789abcdef0123456789abcdef"

    let assembled: AssembledPipeline
    var store: any JobStore { assembled.store }
    var pipeline: RecordingPipeline { assembled.pipeline }
    var routes: WebhookRoutes { assembled.routes }

    /// Built by `PipelineBuilder`, as `serve` builds it, with S3 on a dead port.
    /// `airtableThrough`: a fault proxy in front of the sandbox's Airtable. `lookupTimeout` is long
    /// by default, so a slow machine never turns a lookup's miss into "taken as given".
    init(sandbox: LocalSandbox, airtableThrough: URL? = nil, lookupTimeout: Duration = .seconds(60), overrides: PipelineFixture.Overrides = .init(),
         readiness: @escaping @Sendable () async -> [String] = { [] }) throws {
        let loaded = try PipelineFixture.loadSpec(appURL: "https://svc.example.com", sandbox: sandbox, phoneNumber: "+15005550006")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-routes-\(UUID().uuidString)")
        var configuration = try PipelineConfiguration(spec: loaded.spec, accountSID: Self.account, authToken: Self.token, owner: "routes", dataDirectory: directory)
        overrides.apply(to: &configuration)
        configuration.lookupTimeout = lookupTimeout
        let connections = PipelineFixture.connections(moto: nil, sandbox: sandbox, limiter: RateLimiter(), s3: URL(string: "http://127.0.0.1:9")!,
                                                      airtable: airtableThrough)
        var builder = PipelineBuilder(configuration: configuration, connections: connections, now: { Date() }, logger: { quietServerLogger("test.\($0)") })
        builder.readiness = readiness
        assembled = try builder.build()
    }

    /// The routes on a real loopback port, behind the listener `serve` runs (deadlines, cap).
    func serve(adminToken: String? = nil) async throws -> (port: Int, task: Task<Void, any Error>) {
        try await startInProcess("routes") { [assembled] onRunning in
            assembled.application(host: "127.0.0.1", port: 0, adminToken: adminToken, runWorker: false, onRunning: onRunning)
        }
    }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: PipelineServer.buildRouter(routes: routes), logger: quietServerLogger("test"))
        try await app.test(.router, body)
    }

    /// A form POST with a signature header (nil: none).
    static func post(_ client: any TestClientProtocol, _ uri: String, _ params: [(name: String, value: String)], signature: String?,
                     body: String? = nil) async throws -> (status: HTTPResponse.Status, body: String) {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let signature { headers[HTTPField.Name("X-Twilio-Signature")!] = signature }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body ?? FormEncoding.encode(params))) { response in
            (response.status, String(buffer: response.body))
        }
    }

    static func sign(_ path: String, _ params: [(name: String, value: String)], token: String = token) -> String {
        TwilioSignature.compute(url: "https://svc.example.com" + path, parameters: params, authToken: token)
    }
}
