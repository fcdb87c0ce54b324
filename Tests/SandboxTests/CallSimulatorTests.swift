import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RecopsTesting
import Sandbox
import Spec
import Synchronization
import Testing
import Transport
import Twilio

/// The call simulator against a webhook receiver of the test's own, which checks every signature
/// as the pipeline must (over its public URL) and records what it was sent.
@Suite struct CallSimulatorTests {
    /// A value shared between the test and the server's handlers.
    final class Shared<Value: Sendable>: Sendable {
        let mutex: Mutex<Value>
        init(_ value: Value) { mutex = Mutex(value) }
        func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    final class Receiver: Sendable {
        let received = Shared<[(path: String, parameters: [String: String], signatureValid: Bool)]>([])
        let port: Int
        let task: Task<Void, any Error>

        init(authToken: String, twiml: @escaping @Sendable (String, String) -> (Int, String)) async throws {
            let router = Router(context: BasicRequestContext.self)
            let (stream, continuation) = AsyncStream<Int>.makeStream()
            let box = Shared<Int>(0)
            let received = self.received
            for path in ["/api/twilio/voice", "/api/twilio/voice/job", "/api/twilio/recording", "/api/twilio/status"] {
                router.post(RouterPath(stringLiteral: path)) { request, _ in
                    var request = request
                    let body = String(buffer: try await request.collectBody(upTo: 1 << 16))
                    let parameters = FormEncoding.decode(body) ?? []
                    let url = "http://127.0.0.1:\(box.withLock { $0 })\(path)"
                    let valid = TwilioSignature.isValid(signature: request.headers[HTTPField.Name("X-Twilio-Signature")!] ?? "", url: url, parameters: parameters, authToken: authToken)
                    received.withLock { $0.append((path, Dictionary(parameters, uniquingKeysWith: { a, _ in a }), valid)) }
                    let (status, text) = twiml(path, body)
                    return Response(status: .init(code: status), headers: [.contentType: "text/xml"], body: .init(byteBuffer: ByteBuffer(string: text)))
                }
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                  onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0); continuation.finish() },
                                  logger: quietServerLogger("test.receiver"))
            task = Task { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = stream.makeAsyncIterator()
            port = await iterator.next() ?? 0
            box.withLock { $0 = port }
        }

        var url: String { "http://127.0.0.1:\(port)" }
        deinit { task.cancel() }
    }

    static func recordAndGather(_ base: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?><Response><Start><Recording channels="mono" track="both" trim="do-not-trim" \
        recordingStatusCallback="\(base)/api/twilio/recording" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed absent"/></Start>\
        <Gather action="/api/twilio/voice/job" numDigits="4"><Say>Please key in your job number.</Say></Gather></Response>
        """
    }

    /// Points the sandbox number's webhooks at the receiver.
    static func configure(_ sandbox: LocalSandbox, receiver: Receiver) async throws {
        try await sandbox.twilio().updateIncomingPhoneNumber(sid: sandbox.seed.numbers[0].sid, [
            ("VoiceUrl", "\(receiver.url)/api/twilio/voice"), ("VoiceMethod", "POST"),
            ("StatusCallback", "\(receiver.url)/api/twilio/status"), ("StatusCallbackMethod", "POST"),
        ])
    }

    @Test func aRecordedCallSendsSignedWebhooksAndARealRecording() async throws {
        try await LocalSandbox.with { sandbox in
            let box = Shared<String>("")
            let receiver = try await Receiver(authToken: sandbox.seed.authToken) { path, _ in
                switch path {
                case "/api/twilio/voice": return (200, Self.recordAndGather(box.withLock { $0 }))
                case "/api/twilio/voice/job": return (200, "<Response><Say>Thank you.</Say><Hangup/></Response>")
                default: return (204, "")
                }
            }
            box.withLock { $0 = receiver.url }
            try await Self.configure(sandbox, receiver: receiver)
            let simulator = CallSimulator(twilio: sandbox.twilio(), authToken: sandbox.seed.authToken, transport: AsyncHTTPClientTransport())
            let report = try await simulator.run(.init(to: "+15005550006", job: "J-1001", duration: 9))
            #expect(report.succeeded, "\(report.problems)")
            #expect(report.recordingChannels == "mono")

            let received = receiver.received.withLock { $0 }
            #expect(received.map(\.path) == ["/api/twilio/voice", "/api/twilio/voice/job", "/api/twilio/recording", "/api/twilio/status"])
            #expect(received.allSatisfy { $0.signatureValid })
            #expect(received[1].parameters["Digits"] == "1001")
            let callback = received[2].parameters
            #expect(callback["RecordingStatus"] == "completed")
            #expect(callback["RecordingDuration"] == "9")
            #expect(callback["RecordingChannels"] == "1")
            #expect(callback["CallSid"] == report.callSid)
            #expect(received[3].parameters["CallStatus"] == "completed")

            // The recording is on the sandbox, with real MP3 frames of the call's length.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("call-\(UUID()).mp3")
            defer { try? FileManager.default.removeItem(at: file) }
            let media = try #require(URL(string: (callback["RecordingUrl"] ?? "") + ".mp3"))
            let bytes = try await sandbox.twilio().downloadRecording(mediaURL: media, to: file)
            #expect(bytes == 250 * MP3Frames.frameBytes)
        }
    }

    @Test func twimlWithoutARecordingRecordsNothing() async throws {
        try await LocalSandbox.with { sandbox in
            let receiver = try await Receiver(authToken: sandbox.seed.authToken) { path, _ in
                path == "/api/twilio/voice" ? (200, "<Response><Say>Hello</Say><Hangup/></Response>") : (204, "")
            }
            try await Self.configure(sandbox, receiver: receiver)
            let report = try await CallSimulator(twilio: sandbox.twilio(), authToken: sandbox.seed.authToken, transport: AsyncHTTPClientTransport())
                .run(.init(to: "+15005550006"))
            #expect(report.succeeded)
            #expect(report.recordingSid == nil)
            #expect(receiver.received.withLock { $0.map(\.path) } == ["/api/twilio/voice", "/api/twilio/status"])
            #expect(try await sandbox.dump()["recordings"] == .array([]))
        }
    }

    @Test(arguments: [(500, "<Response/>", "answered HTTP 500"), (200, "this is not xml", "is not TwiML")])
    func aBadAnswerIsAProblem(_ status: Int, _ body: String, _ expected: String) async throws {
        try await LocalSandbox.with { sandbox in
            let receiver = try await Receiver(authToken: sandbox.seed.authToken) { _, _ in (status, body) }
            try await Self.configure(sandbox, receiver: receiver)
            let report = try await CallSimulator(twilio: sandbox.twilio(), authToken: sandbox.seed.authToken, transport: AsyncHTTPClientTransport())
                .run(.init(to: "+15005550006"))
            #expect(!report.succeeded)
            #expect(report.problems.contains { $0.contains(expected) }, "\(report.problems)")
        }
    }
}
