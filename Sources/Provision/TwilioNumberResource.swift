import Spec
import Twilio

/// `twilio.number/<E.164>`: the number's webhooks. recops configures an existing number and never
/// buys or releases one.
public struct TwilioNumberResource: Resource {
    public struct State: Equatable, Codable, Sendable {
        /// Observed only: the number's SID, to update it.
        public var sid: String?
        /// Named as in the spec, so a finding points at the line that declares it.
        public var voice: Webhook
        public var voiceFallback: Webhook?
        public var statusCallback: Webhook
        /// Either makes Twilio ignore the voice URL: both must be empty.
        public var voiceApplicationSid: String
        public var trunkSid: String

        public struct Webhook: Equatable, Codable, Sendable {
            public var url: String
            public var method: String
        }
    }

    public let id: ResourceID
    public let part = SpecPart.twilio
    public let specPath: String
    public let desired: State
    public let canCreate = false
    let number: String
    let twilio: TwilioClient

    public init(spec: Spec.Twilio.Number, index: Int, twilio: TwilioClient) {
        number = spec.number
        self.twilio = twilio
        id = ResourceID("twilio.number", spec.number)
        specPath = "twilio.numbers[\(index)]"
        desired = State(
            sid: nil, voice: .init(url: spec.voice.url, method: spec.voice.method),
            voiceFallback: spec.voiceFallback.map { .init(url: $0.url, method: $0.method) },
            statusCallback: .init(url: spec.statusCallback.url, method: spec.statusCallback.method),
            voiceApplicationSid: "", trunkSid: "")
    }

    public func observe() async throws -> State? {
        guard let found = try await twilio.incomingPhoneNumber(number) else { return nil }
        return State(
            sid: found.sid, voice: .init(url: found.voiceUrl ?? "", method: found.voiceMethod ?? ""),
            voiceFallback: .init(url: found.voiceFallbackUrl ?? "", method: found.voiceFallbackMethod ?? ""),
            statusCallback: .init(url: found.statusCallback ?? "", method: found.statusCallbackMethod ?? ""),
            voiceApplicationSid: found.voiceApplicationSid ?? "", trunkSid: found.trunkSid ?? "")
    }

    public func checks(observed: State?) -> [CheckFailure] {
        guard observed == nil else { return [] }
        return [CheckFailure(property: "exists", expected: .string(number), actual: .null,
                             message: "\(number) is not a number of this Twilio account; recops never buys numbers: buy or port it in the console, or fix the spec")]
    }

    public func apply(_ change: Change<State>) async throws {
        guard case .update(let current, _, _) = change, let sid = current.sid else { return }
        var fields: [(name: String, value: String)] = [
            ("VoiceUrl", desired.voice.url), ("VoiceMethod", desired.voice.method),
            ("StatusCallback", desired.statusCallback.url), ("StatusCallbackMethod", desired.statusCallback.method),
            ("VoiceApplicationSid", ""), ("TrunkSid", ""),
        ]
        if let fallback = desired.voiceFallback {
            fields += [("VoiceFallbackUrl", fallback.url), ("VoiceFallbackMethod", fallback.method)]
        }
        try await twilio.updateIncomingPhoneNumber(sid: sid, fields)
    }
}
