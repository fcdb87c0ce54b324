import Foundation
import Hummingbird
import HummingbirdTesting
import Pipeline
import RecopsTesting
import Testing
import Transport
import Twilio

/// Property tests of the webhook parsers, with a kept corpus (Tests/Fixtures/fuzz/webhook) and
/// seeded random bodies: nothing crashes, every answer is a clear refusal, nothing is stored.
@Suite struct WebhookFuzzTests {
    static let corpus = ProvisionFixture.repositoryRoot.appendingPathComponent("Tests/Fixtures/fuzz/webhook")

    static func bodies() throws -> [String] {
        var bodies = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted().map {
            String(decoding: try Data(contentsOf: corpus.appendingPathComponent($0)), as: UTF8.self)
        }
        var generator = SeededGenerator(state: 5_0000_0001)
        let alphabet = Array("=&%+abcRECAJ0123456789FF-_.~ \u{0}é")
        for _ in 0..<400 {
            bodies.append(String((0..<Int.random(in: 0...200, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        return bodies
    }

    @Test func parsersNeverCrashAndOnlyAcceptWellFormedCallbacks() throws {
        for body in try Self.bodies() {
            guard let form = FormEncoding.decode(body) else { continue }
            let fields = Dictionary(form.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            if let callback = try? RecordingCallback(form: fields) {
                #expect(callback.recordingSid.hasPrefix("RE") && callback.recordingSid.count == 34)
            }
            _ = TwilioSignature.isValid(signature: body, url: "https://svc.example.com/api/twilio/recording", parameters: form, authToken: RouteHarness.token)
        }
    }

    @Test func randomBodiesAreRefusedAndStoreNothing() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let bodies = try Self.bodies()
            try await harness.test { client in
                for (index, body) in bodies.enumerated() {
                    let path = ["/api/twilio/recording", "/api/twilio/voice", "/api/twilio/status", "/api/twilio/voice/job"][index % 4]
                    // Half unsigned or forged; half signed correctly, so the parsers behind the check run too.
                    let form = FormEncoding.decode(body)
                    let signature = index % 2 == 0 || form == nil ? "forged" : RouteHarness.sign(path, form!)
                    let answer = try await RouteHarness.post(client, path, [], signature: signature, body: body)
                    if index % 2 == 0 || form == nil {
                        #expect([.forbidden, .badRequest].contains(answer.status), "\(path) \(body.prefix(80)): \(answer.status)")
                    } else {
                        // Signed but made up: refused for its account or its fields, never a 5xx.
                        #expect(answer.status.code < 500, "\(path) \(body.prefix(80)): \(answer.status)")
                    }
                }
            }
            #expect(try await harness.store.jobs(in: Set(RecordingJob.State.allCases), limit: 10).isEmpty)
        }
    }
}
