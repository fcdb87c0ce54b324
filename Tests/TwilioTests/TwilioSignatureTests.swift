import Foundation
import RecopsTesting
import Testing
import Transport
import Twilio

/// `Tests/Fixtures/vectors/twilio-signature.json`: signatures computed by Twilio's own Python library.
@Suite struct TwilioSignatureTests {
    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var token: String
        var url: String
        var params: [String: String]
        var signature: String
        var url_with_port: String?
        var signature_over_url_with_port: String?
        var body: String?
        var testDescription: String { name }

        var parameters: [(name: String, value: String)] { params.map { ($0.key, $0.value) } }
    }

    static let vectors: [Vector] = {
        let file = TestFixtures.directory.appendingPathComponent(TestFixtures.twilioSignatures)
        struct Document: Decodable { var vectors: [Vector] }
        return (try? JSONDecoder().decode(Document.self, from: Data(contentsOf: file)).vectors) ?? []
    }()

    @Test func theVectorsAreThere() {
        #expect(Self.vectors.count == 5)
    }

    @Test(arguments: vectors) func agreesWithTwilio(_ vector: Vector) {
        if let body = vector.body {
            #expect(TwilioSignature.isValid(signature: vector.signature, url: vector.url, body: Data(body.utf8), authToken: vector.token))
            #expect(!TwilioSignature.isValid(signature: vector.signature, url: vector.url, body: Data((body + " ").utf8), authToken: vector.token))
            return
        }
        #expect(TwilioSignature.compute(url: vector.url, parameters: vector.parameters, authToken: vector.token) == vector.signature)
        if let withPort = vector.url_with_port, let signature = vector.signature_over_url_with_port {
            #expect(TwilioSignature.compute(url: withPort, parameters: vector.parameters, authToken: vector.token) == signature)
            // Twilio may sign either form; both validate against the configured URL.
            #expect(TwilioSignature.isValid(signature: signature, url: vector.url, parameters: vector.parameters, authToken: vector.token))
            #expect(TwilioSignature.isValid(signature: vector.signature, url: withPort, parameters: vector.parameters, authToken: vector.token))
        }
        #expect(TwilioSignature.isValid(signature: vector.signature, url: vector.url, parameters: vector.parameters, authToken: vector.token))
        // Forged: another token, another parameter value, another URL.
        #expect(!TwilioSignature.isValid(signature: vector.signature, url: vector.url, parameters: vector.parameters, authToken: vector.token + "x"))
        var changed = vector.parameters
        if !changed.isEmpty { changed[0].value += "1" } else { changed = [("Extra", "1")] }
        #expect(!TwilioSignature.isValid(signature: vector.signature, url: vector.url, parameters: changed, authToken: vector.token))
        #expect(!TwilioSignature.isValid(signature: vector.signature, url: vector.url + "x", parameters: vector.parameters, authToken: vector.token))
    }

    @Test func formEncodingRoundTrips() {
        let parameters = [("To", "+15005550006"), ("Digits", "12 34"), ("Note", "a&b=c/ü")]
        let decoded = FormEncoding.decode(FormEncoding.encode(parameters))
        #expect(decoded?.map(\.name) == parameters.map(\.0))
        #expect(decoded?.map(\.value) == parameters.map(\.1))
        #expect(FormEncoding.decode("a=%ZZ") == nil)
        #expect(FormEncoding.decode("Digits=1+2")?.first?.value == "1 2")
    }
}
