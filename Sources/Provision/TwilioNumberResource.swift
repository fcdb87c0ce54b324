import Spec
import Twilio

/// `twilio.number/<E.164>`: the number's webhooks. recops configures an existing number and never
/// buys or releases one.
public struct TwilioNumberResource: Resource {
    public struct State: Equatable, Codable, Sendable {
        /// Observed only: the number's SID, to update it.
        public var sid: String?
        public var voiceUrl: String
        public var voiceMethod: String
        public var voiceFallbackUrl: String?
        public var voiceFallbackMethod: String?
        public var statusCallbackUrl: String
        public var statusCallbackMethod: String
        /// Either makes Twilio ignore the voice URL: both must be empty.
        public var voiceApplicationSid: String
        public var trunkSid: String
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
            sid: nil, voiceUrl: spec.voice.url, voiceMethod: spec.voice.method,
            voiceFallbackUrl: spec.voiceFallback?.url, voiceFallbackMethod: spec.voiceFallback?.method,
            statusCallbackUrl: spec.statusCallback.url, statusCallbackMethod: spec.statusCallback.method,
            voiceApplicationSid: "", trunkSid: "")
    }

    public func observe() async throws -> State? {
        guard let found = try await twilio.incomingPhoneNumber(number) else { return nil }
        return State(
            sid: found.sid, voiceUrl: found.voiceUrl ?? "", voiceMethod: found.voiceMethod ?? "",
            voiceFallbackUrl: found.voiceFallbackUrl ?? "", voiceFallbackMethod: found.voiceFallbackMethod ?? "",
            statusCallbackUrl: found.statusCallback ?? "", statusCallbackMethod: found.statusCallbackMethod ?? "",
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
            ("VoiceUrl", desired.voiceUrl), ("VoiceMethod", desired.voiceMethod),
            ("StatusCallback", desired.statusCallbackUrl), ("StatusCallbackMethod", desired.statusCallbackMethod),
            ("VoiceApplicationSid", ""), ("TrunkSid", ""),
        ]
        if let url = desired.voiceFallbackUrl, let method = desired.voiceFallbackMethod {
            fields += [("VoiceFallbackUrl", url), ("VoiceFallbackMethod", method)]
        }
        try await twilio.updateIncomingPhoneNumber(sid: sid, fields)
    }
}
