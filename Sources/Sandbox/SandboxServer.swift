import Foundation
import Hummingbird
import Logging
import NIOCore
import Spec

/// `recops sandbox`: Twilio's and Airtable's APIs, locally, with their real shapes, auth, paging,
/// error bodies and limits, so everything runs on one machine with no accounts.
public struct SandboxServer: Sendable {
    public let state: SandboxState
    public let seed: SandboxSeed

    public init(state: SandboxState, seed: SandboxSeed) {
        self.state = state
        self.seed = seed
    }

    /// The router, built once for the executable and for in-process tests alike.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        addTwilioRoutes(to: router)
        addAirtableRoutes(to: router)
        router.get("/_sandbox/state") { _, _ in
            Self.json(await state.dump())
        }
        // Stages an Airtable outage: {"requests": N, "status": 503}.
        router.post("/_sandbox/airtable/outage") { request, _ in
            let body = try? JSONDecoder().decode(JSONValue.self, from: try await Self.body(request))
            guard case .number(let requests)? = body?["requests"] else { return twilioError(400, 21211, "requests is required") }
            var status = 503
            if case .number(let given)? = body?["status"] { status = Int(given) }
            await state.startAirtableOutage(requests: Int(requests), status: status)
            return Self.json(.object(["requests": .number(requests), "status": .number(Double(status))]))
        }
        // The call simulator's hook: a finished call's recording, as Twilio would hold it.
        router.post("/_sandbox/recordings") { request, _ in
            let expected = "Basic " + Data("\(seed.accountSID):\(seed.authToken)".utf8).base64EncodedString()
            guard request.headers[.authorization] == expected else { return twilioError(401, 20003, "Authenticate") }
            let body = try? JSONDecoder().decode(JSONValue.self, from: try await Self.body(request))
            guard let callSid = body?["call_sid"]?.stringValue, case .number(let duration)? = body?["duration"], duration > 0 else {
                return twilioError(400, 21211, "call_sid and a positive duration are required")
            }
            if let from = body?["from"]?.stringValue {
                await state.addCall(sid: callSid, from: from, to: body?["to"]?.stringValue ?? "")
            }
            let recording = await state.addRecording(callSid: callSid, duration: Int(duration))
            let media = "\(request.uri.scheme.map { "\($0)://" } ?? "http://")\(request.head.authority ?? "127.0.0.1")/2010-04-01/Accounts/\(seed.accountSID)/Recordings/\(recording.sid)"
            return Self.json(.object(["sid": .string(recording.sid), "media_url": .string(media), "start_time": .string(Self.rfc2822(recording.created))]))
        }
        return router
    }

    /// Builds the application on 127.0.0.1:`port` (0 picks a free one); `onRunning` gets the
    /// bound port.
    public func buildApplication(port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "recops-sandbox"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// What a person exports to point recops at this sandbox (values shell-quoted when needed).
    public func environment(baseURL: String) -> [(String, String)] {
        [
            ("TWILIO_API_BASE_URL", baseURL), ("TWILIO_ACCOUNT_SID", seed.accountSID), ("TWILIO_AUTH_TOKEN", seed.authToken),
            ("TWILIO_PHONE_NUMBER", seed.numbers.first?.phoneNumber ?? ""),
            ("AIRTABLE_API_BASE_URL", baseURL), ("AIRTABLE_TOKEN", seed.airtableToken), ("AIRTABLE_BASE_ID", seed.baseID),
            ("AIRTABLE_TABLE", seed.tableName),
        ]
    }

    // MARK: Responses

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.encoded())))
    }

    /// Query items with names and values percent-decoded (`DateCreated%3E` is `DateCreated>`).
    static func query(_ request: Request) -> [String: String] {
        var items: [String: String] = [:]
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            items[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return items
    }

    /// Every value of a repeated query item (`fields[]=a&fields[]=b`).
    static func queryValues(_ request: Request, named name: String) -> [String] {
        (request.uri.query ?? "").split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return parts[0] == name ? (parts.count > 1 ? parts[1] : "") : nil
        }
    }

    static func body(_ request: Request) async throws -> Data {
        var request = request
        // A batch of ten long texts at 100,000 characters each, with room for multi-byte text.
        let buffer = try await request.collectBody(upTo: 8 << 20)
        return Data(buffer.readableBytesView)
    }
}
