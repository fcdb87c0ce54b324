import Foundation
import Spec
import Transport
import Twilio

/// `webhook.voice/<url>`: the live voice webhook, asked as Twilio asks it (a signed POST), must
/// answer TwiML that starts recording the whole call, on the channels the spec says, with the
/// spec's recording callback. A wrong answer is a failed check: apply cannot fix a running service.
///
/// The probe is an ordinary signed "ringing" webhook for a made-up call SID; the service stores
/// it as a call that never completes, so it raises no alert.
public struct VoiceWebhookResource: Resource {
    /// All optional and nil in `desired`: nothing is compared as drift; `checks` judges the answer.
    public struct State: Equatable, Codable, Sendable {
        public var status: Int?
        public var isTwiML: Bool?
        /// The verb that comes first: it must be the recording, so nothing before it goes unrecorded.
        public var firstVerb: String?
        public var recording: [String: String]?
    }

    public let id: ResourceID
    public let part = SpecPart.webhook
    public let specPath = "twilio.recording"
    public let desired = State()
    public let canCreate = false
    let url: String
    let recording: Spec.Twilio.Recording
    let accountSID: String
    let authToken: String
    let to: String
    let transport: any HTTPTransport

    public init(spec: Spec, accountSID: String, authToken: String, transport: any HTTPTransport) {
        let app = spec.app?.url ?? ""
        url = (app.hasSuffix("/") ? String(app.dropLast()) : app) + "/api/twilio/voice"
        id = ResourceID("webhook.voice", url)
        recording = spec.twilio!.recording
        to = spec.twilio?.numbers.first?.number ?? ""
        self.accountSID = accountSID
        self.authToken = authToken
        self.transport = transport
    }

    public func observe() async throws -> State? {
        let parameters: [(name: String, value: String)] = [
            ("AccountSid", accountSID), ("ApiVersion", "2010-04-01"), ("CallSid", "CA" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()),
            ("CallStatus", "ringing"), ("Direction", "inbound"), ("From", "+10000000000"), ("To", to),
            ("RecopsProbe", "1"),  // the service answers it as a call but stores nothing
        ]
        guard let target = URL(string: url) else { throw TransportError(kind: .connect, endpoint: url, underlying: "not a URL") }
        let response = try await transport.send(HTTPRequest(
            method: "POST", url: target,
            headers: [(name: "X-Twilio-Signature", value: TwilioSignature.compute(url: url, parameters: parameters, authToken: authToken)),
                      (name: "Content-Type", value: "application/x-www-form-urlencoded"), (name: "User-Agent", value: "recops-verify")],
            body: Data(FormEncoding.encode(parameters).utf8)))
        guard response.isSuccess else { return State(status: response.status) }
        guard let document = XMLNode.parse(response.body), document.name == "Response" else { return State(status: response.status, isTwiML: false) }
        let first = document.children.first
        let recordingNode = document.children.first { $0.name == "Start" }?.children.first { $0.name == "Recording" }
        return State(status: response.status, isTwiML: true,
                     firstVerb: first.map { verb in verb.name == "Start" && verb.children.contains { $0.name == "Recording" } ? "Start/Recording" : verb.name },
                     recording: recordingNode?.attributes)
    }

    public func apply(_ change: Change<State>) async throws {}

    public func checks(observed: State?) -> [CheckFailure] {
        guard let observed, let status = observed.status else { return [] }
        guard (200..<300).contains(status) else {
            let why = status == 403 ? ": the service refused a correctly signed request (its TWILIO_AUTH_TOKEN or app.url differs from this one)" : ""
            return [failure("status", .number(200), .number(Double(status)), "\(url) answered HTTP \(status)\(why); Twilio's calls get the same")]
        }
        guard observed.isTwiML == true else {
            return [failure("twiml", .string("<Response>"), .string("not TwiML"), "\(url) did not answer TwiML")]
        }
        guard recording.enabled else {
            return observed.recording == nil ? [] : [failure("enabled", .bool(false), .bool(true), "the spec turns recording off, but the service still records calls")]
        }
        guard let attributes = observed.recording else {
            return [failure("enabled", .bool(true), .bool(false), "the service answers without <Start><Recording>: calls are not recorded")]
        }
        var failures: [CheckFailure] = []
        if observed.firstVerb != "Start/Recording" {
            failures.append(failure("first_verb", .string("Start/Recording"), .string(observed.firstVerb ?? ""),
                                    "the recording starts after <\(observed.firstVerb ?? "")>: the start of the call goes unrecorded"))
        }
        let expected: [(String, String, String)] = [
            ("channels", "channels", recording.channels.rawValue), ("track", "track", "both"), ("trim", "trim", recording.trim),
            ("status_callback.url", "recordingStatusCallback", recording.statusCallback.url),
            ("status_callback.method", "recordingStatusCallbackMethod", recording.statusCallback.method),
        ]
        for (property, attribute, value) in expected where attributes[attribute] != value {
            failures.append(failure(property, .string(value), attributes[attribute].map(JSONValue.string) ?? .null,
                                    "<Recording \(attribute)> is \(attributes[attribute].map { "'\($0)'" } ?? "not set"), the spec says '\(value)'"))
        }
        let events = Set((attributes["recordingStatusCallbackEvent"] ?? "").split(separator: " ").map(String.init))
        for (event, consequence) in [("completed", "the service would never hear of finished recordings"),
                                     ("absent", "a call whose recording never starts would go unreported")] where !events.contains(event) {
            failures.append(failure("status_callback.events", .string("completed absent"), .string(events.sorted().joined(separator: " ")),
                                    "<Recording recordingStatusCallbackEvent> lacks '\(event)': \(consequence)"))
        }
        return failures
    }

    private func failure(_ property: String, _ expected: JSONValue, _ actual: JSONValue, _ message: String) -> CheckFailure {
        CheckFailure(property: property, expected: expected, actual: actual, message: message)
    }
}
