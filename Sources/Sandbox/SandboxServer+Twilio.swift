import Foundation
import Hummingbird
import Spec
import Transport
import Twilio

/// Twilio's 2010-04-01 API: numbers, calls, recordings and their media.
extension SandboxServer {
    func addTwilioRoutes(to router: Router<BasicRequestContext>) {
        let accounts = router.group("/2010-04-01/Accounts/:account")

        accounts.get("IncomingPhoneNumbers.json") { request, context in
            if let denied = twilioAuth(request, context) { return denied }
            let filter = Self.query(request)["PhoneNumber"]
            let all = await state.numbers.filter { number in
                // Partial match, as Twilio's: a prefix of digits finds every number containing it.
                guard let filter, !filter.isEmpty else { return true }
                return number.phoneNumber.contains(filter.replacingOccurrences(of: "*", with: ""))
            }
            return page(request, items: all.map(numberJSON), key: "incoming_phone_numbers", path: "/2010-04-01/Accounts/\(seed.accountSID)/IncomingPhoneNumbers.json")
        }

        accounts.get("IncomingPhoneNumbers/:file") { request, context in
            if let denied = twilioAuth(request, context) { return denied }
            guard let sid = jsonSID(context), let number = await state.number(sid: sid) else { return twilioError(404, 20404) }
            return Self.json(numberJSON(number))
        }

        accounts.post("IncomingPhoneNumbers/:file") { request, context in
            if let denied = twilioAuth(request, context) { return denied }
            guard let sid = jsonSID(context) else { return twilioError(404, 20404) }
            guard let form = FormEncoding.decode(String(decoding: try await Self.body(request), as: UTF8.self)) else {
                return twilioError(400, 21211, "malformed form body")
            }
            for (name, value) in form where name.hasSuffix("Method") && !["GET", "POST"].contains(value.uppercased()) {
                return twilioError(400, 21205, "\(name) must be GET or POST")
            }
            guard let number = await state.updateNumber(sid: sid, form) else { return twilioError(404, 20404) }
            return Self.json(numberJSON(number))
        }

        accounts.get("Recordings.json") { request, context in
            if let denied = twilioAuth(request, context) { return denied }
            let after = Self.query(request)["DateCreated>"].flatMap(Self.day)
            let before = Self.query(request)["DateCreated<"].flatMap(Self.day)
            let recordings = await state.recordings.filter { recording in
                (after.map { recording.created >= $0 } ?? true) && (before.map { recording.created < $0.addingTimeInterval(86400) } ?? true)
            }
            return page(request, items: recordings.map(recordingJSON), key: "recordings", path: "/2010-04-01/Accounts/\(seed.accountSID)/Recordings.json")
        }

        accounts.get("Recordings/:file") { request, context in
            if let denied = twilioAuth(request, context) { return denied }
            let file = context.parameters.get("file") ?? ""
            let sid = String(file.split(separator: ".").first ?? "")
            guard let recording = await state.recording(sid: sid) else { return twilioError(404, 20404) }
            if file.hasSuffix(".json") { return Self.json(recordingJSON(recording)) }
            // `.mp3` is MP3; Twilio answers WAV for no extension, which the sandbox does not make.
            guard file.hasSuffix(".mp3") else { return twilioError(415, 20415, "the sandbox serves .mp3 and .json") }
            return Response(status: .ok, headers: [.contentType: "audio/mpeg"], body: .init(byteBuffer: ByteBuffer(bytes: recording.media)))
        }

        accounts.get("Calls/:file") { request, context in
            if let denied = twilioAuth(request, context) { return denied }
            guard let sid = jsonSID(context), let call = await state.call(sid: sid) else { return twilioError(404, 20404) }
            return Self.json(.object([
                "sid": .string(call.sid), "account_sid": .string(seed.accountSID), "from": .string(call.from), "to": .string(call.to),
                "status": .string(call.status), "direction": .string("inbound"), "start_time": .string(Self.rfc2822(call.started)),
                "api_version": .string("2010-04-01"), "uri": .string("/2010-04-01/Accounts/\(seed.accountSID)/Calls/\(call.sid).json"),
            ]))
        }

        accounts.delete("Recordings/:file") { request, context in
            if let denied = twilioAuth(request, context) { return denied }
            guard let sid = jsonSID(context), await state.deleteRecording(sid: sid) else { return twilioError(404, 20404) }
            return Response(status: .noContent)
        }
    }

    private func jsonSID(_ context: BasicRequestContext) -> String? {
        guard let file = context.parameters.get("file"), file.hasSuffix(".json") else { return nil }
        return String(file.dropLast(5))
    }

    /// Basic auth with the account SID and token (or an API key would be checked the same way),
    /// and the path's account must be that account.
    private func twilioAuth(_ request: Request, _ context: BasicRequestContext) -> Response? {
        let expected = "Basic " + Data("\(seed.accountSID):\(seed.authToken)".utf8).base64EncodedString()
        guard let given = request.headers[.authorization], TwilioSignature.constantTimeEqual(given, expected) else {
            return twilioError(401, 20003, "Authenticate")
        }
        guard context.parameters.get("account") == seed.accountSID else { return twilioError(404, 20404) }
        return nil
    }

    func twilioError(_ status: Int, _ code: Int, _ message: String? = nil) -> Response {
        let text = message ?? (status == 404 ? "The requested resource was not found" : "Error")
        return Self.json(.object([
            "code": .number(Double(code)), "message": .string(text),
            "more_info": .string("https://www.twilio.com/docs/errors/\(code)"), "status": .number(Double(status)),
        ]), status: .init(code: status))
    }

    /// Twilio's paging: `Page` and `PageSize` (1–1000, default 50), `next_page_uri` null on the last.
    private func page(_ request: Request, items: [JSONValue], key: String, path: String) -> Response {
        let size = min(1000, max(1, Self.query(request)["PageSize"].flatMap { Int($0) } ?? 50))
        let index = max(0, Self.query(request)["Page"].flatMap { Int($0) } ?? 0)
        let slice = Array(items.dropFirst(index * size).prefix(size))
        var query = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("Page=") && !$0.hasPrefix("PageSize=") }.map(String.init)
        query.append("PageSize=\(size)")
        let uri = { (page: Int) in "\(path)?\((query + ["Page=\(page)"]).joined(separator: "&"))" }
        let hasNext = (index + 1) * size < items.count
        return Self.json(.object([
            key: .array(slice), "page": .number(Double(index)), "page_size": .number(Double(size)),
            "first_page_uri": .string(uri(0)), "uri": .string(uri(index)),
            "next_page_uri": hasNext ? .string(uri(index + 1)) : .null,
            "previous_page_uri": index > 0 ? .string(uri(index - 1)) : .null,
        ]))
    }

    private func numberJSON(_ number: SandboxState.Number) -> JSONValue {
        var object: [String: JSONValue] = [
            "sid": .string(number.sid), "account_sid": .string(seed.accountSID), "phone_number": .string(number.phoneNumber),
            "friendly_name": .string(number.phoneNumber), "api_version": .string("2010-04-01"),
            "date_created": .string("Mon, 01 Jan 2024 00:00:00 +0000"), "date_updated": .string(Self.rfc2822(Date())),
            "uri": .string("/2010-04-01/Accounts/\(seed.accountSID)/IncomingPhoneNumbers/\(number.sid).json"),
        ]
        for name in ["voice_url", "voice_method", "voice_fallback_url", "voice_fallback_method", "status_callback", "status_callback_method", "voice_application_sid", "trunk_sid"] {
            let value = number.fields[name] ?? ""
            object[name] = name.hasSuffix("_sid") && value.isEmpty ? .null : .string(value)
        }
        return .object(object)
    }

    private func recordingJSON(_ recording: SandboxState.Recording) -> JSONValue {
        .object([
            "sid": .string(recording.sid), "account_sid": .string(seed.accountSID), "call_sid": .string(recording.callSid),
            "duration": .string(String(recording.duration)), "channels": .number(1), "status": .string("completed"),
            "source": .string("StartCallRecording"), "date_created": .string(Self.rfc2822(recording.created)),
            "start_time": .string(Self.rfc2822(recording.created)), "api_version": .string("2010-04-01"),
            "uri": .string("/2010-04-01/Accounts/\(seed.accountSID)/Recordings/\(recording.sid).json"),
        ])
    }

    static func rfc2822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    static func day(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.date(from: String((text.removingPercentEncoding ?? text).prefix(10)))
    }
}
