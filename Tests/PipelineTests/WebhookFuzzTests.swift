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

    /// The properties WebhookFuzzer checks under libFuzzer, here over the kept corpus and the
    /// seeded bodies in every test run.
    @Test func parsersKeepTheirPropertiesOnAnyBody() throws {
        let url = "https://svc.example.com/api/twilio/recording"
        var decoded = 0, accepted = 0
        for body in try Self.bodies() {
            guard let form = FormEncoding.decode(body) else { continue }
            decoded += 1
            // What the decoder returns survives encoding and decoding again.
            let again = FormEncoding.decode(FormEncoding.encode(form))
            #expect(again?.map(\.name) == form.map(\.name) && again?.map(\.value) == form.map(\.value), "\(body.prefix(80))")
            // A signature over these parameters is accepted, and refused once a parameter is added.
            let signature = TwilioSignature.compute(url: url, parameters: form, authToken: RouteHarness.token)
            #expect(TwilioSignature.isValid(signature: signature, url: url, parameters: form, authToken: RouteHarness.token))
            #expect(!TwilioSignature.isValid(signature: signature, url: url, parameters: form + [(name: "JobId", value: "J-1")], authToken: RouteHarness.token))
            #expect(!TwilioSignature.isValid(signature: body, url: url, parameters: form, authToken: RouteHarness.token))
            // A callback is refused with a reason, or its fields are well-formed.
            let fields = Dictionary(form.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            do {
                let callback = try RecordingCallback(form: fields)
                accepted += 1
                #expect(callback.recordingSid.hasPrefix("RE") && callback.recordingSid.count == 34)
                #expect(callback.callSid.hasPrefix("CA") && callback.callSid.count == 34 && (callback.duration ?? 0) >= 0)
            } catch let error as RecordingCallback.Invalid {
                #expect(!error.description.isEmpty)
            }
        }
        // The corpus reaches both sides: bodies that decode, and a well-formed callback.
        #expect(decoded > 50 && accepted >= 1, "\(decoded) decoded, \(accepted) accepted")
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
