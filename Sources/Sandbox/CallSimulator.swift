import Foundation
import Logging
import Spec
import Transport
import Twilio

/// `recops sandbox call`: what Twilio does for one inbound call, against the number's configured
/// webhooks. It signs every request as Twilio would, follows the TwiML it gets back, records only
/// if the TwiML starts a recording, and at the end sends the recording and call status callbacks.
public struct CallSimulator: Sendable {
    public struct Options: Sendable {
        public var to: String
        public var from: String
        /// Keyed in when the TwiML gathers digits (its digits only).
        public var job: String?
        public var duration: Int

        public init(to: String, from: String = "+14155550123", job: String? = nil, duration: Int = 9) {
            self.to = to
            self.from = from
            self.job = job
            self.duration = duration
        }
    }

    /// What happened, step by step, and what went wrong.
    public struct Report: Sendable {
        public var callSid: String
        public var steps: [String] = []
        public var recordingSid: String?
        public var recordingChannels: String?
        public var problems: [String] = []
        public var succeeded: Bool { problems.isEmpty }
    }

    let twilio: TwilioClient
    let authToken: String
    let transport: any HTTPTransport

    public init(twilio: TwilioClient, authToken: String, transport: any HTTPTransport) {
        self.twilio = twilio
        self.authToken = authToken
        self.transport = transport
    }

    public func run(_ options: Options) async throws -> Report {
        let accountSID = twilio.credentials.accountSID
        var report = Report(callSid: "CA" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())
        guard let number = try await twilio.incomingPhoneNumber(options.to) else {
            report.problems.append("\(options.to) is not a number of the sandbox account")
            return report
        }
        guard let voiceURL = number.voiceUrl, !voiceURL.isEmpty else {
            report.problems.append("\(options.to) has no voice URL: run `recops apply --only twilio` first")
            return report
        }
        let base: [(name: String, value: String)] = [
            ("AccountSid", accountSID), ("ApiVersion", "2010-04-01"), ("CallSid", report.callSid), ("Direction", "inbound"),
            ("From", options.from), ("Caller", options.from), ("To", options.to), ("Called", options.to),
        ]
        var recording: (callback: String, method: String, channels: String)?
        var next: (url: String, method: String, parameters: [(name: String, value: String)])? = (voiceURL, number.voiceMethod ?? "POST", base + [("CallStatus", "ringing")])
        var hops = 0
        while let request = next, hops < 10 {
            hops += 1
            next = nil
            guard let twiml = try await post(request.url, method: request.method, request.parameters, step: "voice webhook", report: &report) else { return report }
            guard let document = XMLNode.parse(Data(twiml.utf8)), document.name == "Response" else {
                report.problems.append("the answer of \(request.url) is not TwiML (<Response>…</Response>)")
                return report
            }
            for verb in document.children {
                switch verb.name {
                case "Start":
                    for child in verb.children where child.name == "Recording" {
                        guard let callback = child.attributes["recordingStatusCallback"] else {
                            report.problems.append("<Recording> has no recordingStatusCallback: nobody would hear of the recording")
                            continue
                        }
                        // TwiML's default is dual channel: record what the TwiML asks for.
                        recording = (callback, child.attributes["recordingStatusCallbackMethod"] ?? "POST", child.attributes["channels"] ?? "dual")
                        report.steps.append("recording started (channels=\(recording!.channels))")
                    }
                case "Gather":
                    let action = resolve(verb.attributes["action"] ?? request.url, against: request.url)
                    let digits = (options.job ?? "").filter(\.isNumber)
                    report.steps.append("gather answered with \(digits.isEmpty ? "nothing" : digits)")
                    next = (action, verb.attributes["method"] ?? "POST", base + [("CallStatus", "in-progress"), ("Digits", digits)])
                case "Redirect":
                    next = (resolve(verb.text, against: request.url), verb.attributes["method"] ?? "POST", base + [("CallStatus", "in-progress")])
                    report.steps.append("redirected to \(verb.text)")
                case "Say", "Play", "Pause":
                    report.steps.append("\(verb.name.lowercased()): \(verb.text.prefix(60))")
                case "Hangup", "Reject":
                    report.steps.append(verb.name.lowercased())
                default:
                    report.steps.append("ignored <\(verb.name)>")
                }
                if next != nil || verb.name == "Hangup" || verb.name == "Reject" { break }
            }
        }

        if let recording {
            let created = try await createRecording(callSID: report.callSid, duration: options.duration, from: options.from, to: options.to)
            report.recordingSid = created.sid
            report.recordingChannels = recording.channels
            let parameters: [(name: String, value: String)] = [
                ("AccountSid", accountSID), ("CallSid", report.callSid), ("RecordingSid", created.sid),
                ("RecordingUrl", created.mediaURL), ("RecordingStatus", "completed"), ("RecordingDuration", String(options.duration)),
                ("RecordingChannels", recording.channels == "mono" ? "1" : "2"), ("RecordingStartTime", created.startTime),
                ("RecordingSource", "StartCallRecording"), ("RecordingTrack", "both"), ("ErrorCode", "0"),
            ]
            _ = try await post(recording.callback, method: recording.method, parameters, step: "recording status callback", report: &report)
        }
        if let statusURL = number.statusCallback, !statusURL.isEmpty {
            _ = try await post(statusURL, method: number.statusCallbackMethod ?? "POST",
                               base + [("CallStatus", "completed"), ("CallDuration", String(options.duration))], step: "call status callback", report: &report)
        }
        return report
    }

    /// Sends a signed webhook; a transport failure or non-2xx is a problem in the report.
    private func post(_ url: String, method: String, _ parameters: [(name: String, value: String)], step: String, report: inout Report) async throws -> String? {
        let signature = TwilioSignature.compute(url: method == "GET" ? Self.withQuery(url, parameters) : url,
                                                parameters: method == "GET" ? [] : parameters, authToken: authToken)
        guard let target = URL(string: method == "GET" ? Self.withQuery(url, parameters) : url) else {
            report.problems.append("\(step): '\(url)' is not a URL")
            return nil
        }
        let request = HTTPRequest(
            method: method, url: target,
            headers: [(name: "X-Twilio-Signature", value: signature), (name: "Content-Type", value: "application/x-www-form-urlencoded"),
                      (name: "User-Agent", value: "TwilioProxy/1.1 (recops sandbox)")],
            body: method == "GET" ? Data() : Data(FormEncoding.encode(parameters).utf8))
        do {
            let response = try await transport.send(request)
            guard response.isSuccess else {
                report.problems.append("\(step) to \(url) was answered HTTP \(response.status), not 2xx")
                return nil
            }
            report.steps.append("\(step): \(response.status)")
            return String(decoding: response.body, as: UTF8.self)
        } catch {
            report.problems.append("\(step) to \(url) failed: \(error)")
            return nil
        }
    }

    private func createRecording(callSID: String, duration: Int, from: String, to: String) async throws -> (sid: String, mediaURL: String, startTime: String) {
        let url = twilio.baseURL.appendingPathComponent("_sandbox/recordings")
        let auth = "Basic " + Data("\(twilio.credentials.username):\(twilio.credentials.password)".utf8).base64EncodedString()
        // The call's record too, as Twilio keeps one for every call (with its From).
        let body = JSONValue.object(["call_sid": .string(callSID), "duration": .number(Double(duration)), "from": .string(from), "to": .string(to)]).encoded()
        let response = try await transport.send(HTTPRequest(method: "POST", url: url, headers: [(name: "Authorization", value: auth), (name: "Content-Type", value: "application/json")], body: Data(body.utf8)))
        let answer = try JSONDecoder().decode(JSONValue.self, from: response.body)
        guard response.isSuccess, let sid = answer["sid"]?.stringValue, let media = answer["media_url"]?.stringValue, let start = answer["start_time"]?.stringValue else {
            throw TwilioError(code: nil, message: "the sandbox did not create the recording", moreInfo: nil, status: response.status, operation: "CreateRecording")
        }
        return (sid, media, start)
    }

    private func resolve(_ target: String, against base: String) -> String {
        URL(string: target, relativeTo: URL(string: base))?.absoluteString ?? target
    }

    static func withQuery(_ url: String, _ parameters: [(name: String, value: String)]) -> String {
        url + (url.contains("?") ? "&" : "?") + FormEncoding.encode(parameters)
    }
}
