import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Spec

/// `recops sandbox proxy`: an HTTP proxy to one upstream (moto, the sandbox) that injects the
/// failures real services have, on command: a chosen status (500, 503 SlowDown, 429), latency, a
/// connection reset before the answer (mid-upload), or an answer cut short (mid-download), for the
/// next N matching requests or a fraction of them.
///
/// Admin API (never forwarded): `POST /_proxy/rules` adds a rule (JSON, see `Rule`), `DELETE
/// /_proxy/rules` clears them, `GET /_proxy/stats` counts requests, faults, requests per AWS
/// Query operation (`Action=`, so IAM's `GetUser` and `ListAccessKeys` are told apart), and the
/// most requests any one second saw per first path segment (`/v0` is Airtable).
///
/// Rules are tried in the order they were added; a request a rule's `fraction` spares goes on to
/// the next rule, so "a third get 429, and the next ten 503" is two rules.
public struct FaultProxy: Sendable {
    public struct Rule: Codable, Sendable {
        public enum Action: String, Codable, Sendable { case status, latency, reset, truncate }
        public var method: String?
        public var pathPrefix: String?
        public var pathSuffix: String?
        public var action: Action
        public var status: Int?
        public var body: String?
        public var latencyMs: Int?
        /// The next `count` matching requests (nil: all of them).
        public var count: Int?
        /// Each matching request is hit with this probability (nil: always).
        public var fraction: Double?
        /// The rule lasts this long after it is added (nil: until cleared): an outage of minutes.
        public var durationMs: Int?

        public init(method: String? = nil, pathPrefix: String? = nil, pathSuffix: String? = nil, action: Action, status: Int? = nil,
                    body: String? = nil, latencyMs: Int? = nil, count: Int? = nil, fraction: Double? = nil, durationMs: Int? = nil) {
            self.method = method
            self.pathPrefix = pathPrefix
            self.pathSuffix = pathSuffix
            self.action = action
            self.status = status
            self.body = body
            self.latencyMs = latencyMs
            self.count = count
            self.fraction = fraction
            self.durationMs = durationMs
        }

        enum CodingKeys: String, CodingKey {
            case method, action, status, body, count, fraction
            case pathPrefix = "path_prefix", pathSuffix = "path_suffix", latencyMs = "latency_ms", durationMs = "duration_ms"
        }

        /// S3's answer when it sheds load.
        public static let s3SlowDown = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    }

    /// The rules and what the proxy saw.
    public actor State {
        var rules: [Rule] = []
        var ends: [ContinuousClock.Instant?] = []
        var requests = 0
        var faults = 0
        var operations: [String: Int] = [:]
        var arrivals: [String: [ContinuousClock.Instant]] = [:]

        public init() {}

        public func add(_ rule: Rule) {
            rules.append(rule)
            ends.append(rule.durationMs.map { ContinuousClock.now + .milliseconds($0) })
        }

        public func clear() {
            rules.removeAll()
            ends.removeAll()
        }

        /// Records the request and picks the rule that hits it, if any (using up one of its count).
        func arrive(method: String, path: String, operation: String?) -> Rule? {
            requests += 1
            if let operation { operations[operation, default: 0] += 1 }
            let segment = "/" + (path.split(separator: "/").first.map(String.init) ?? "")
            arrivals[segment, default: []].append(.now)
            for index in rules.indices {
                let rule = rules[index]
                guard rule.method.map({ $0.uppercased() == method }) ?? true,
                      rule.pathPrefix.map({ path.hasPrefix($0) }) ?? true,
                      rule.pathSuffix.map({ path.hasSuffix($0) }) ?? true,
                      rule.count.map({ $0 > 0 }) ?? true,
                      ends[index].map({ ContinuousClock.now < $0 }) ?? true else { continue }
                if let fraction = rule.fraction, Double.random(in: 0..<1) >= fraction { continue }
                if let count = rule.count { rules[index].count = count - 1 }
                faults += 1
                return rule
            }
            return nil
        }

        /// The most requests that arrived within any one second, per first path segment.
        public func peakPerSecond() -> [String: Int] {
            arrivals.mapValues { times in
                var best = 0
                var start = 0
                for end in times.indices {
                    while times[end] - times[start] >= .seconds(1) { start += 1 }
                    best = max(best, end - start + 1)
                }
                return best
            }
        }

        public func stats() -> JSONValue {
            .object(["requests": .number(Double(requests)), "faults": .number(Double(faults)),
                     "operations": .object(operations.mapValues { .number(Double($0)) }),
                     "max_per_second": .object(peakPerSecond().mapValues { .number(Double($0)) })])
        }
    }

    /// Carries the connection, so a rule can drop it.
    public struct Context: RequestContext {
        public var coreContext: CoreRequestContextStorage
        let channel: any Channel

        public init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            channel = source.channel
        }
    }

    public let upstream: URL
    public let state: State
    let client: HTTPClient

    public init(upstream: URL, state: State = State(), client: HTTPClient = .shared) {
        self.upstream = upstream
        self.state = state
        self.client = client
    }

    public func buildRouter() -> Router<Context> {
        let router = Router(context: Context.self)
        router.post("/_proxy/rules") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            guard let rule = try? JSONDecoder().decode(Rule.self, from: Data(buffer: body)) else {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "a rule is JSON: {\"action\": \"status|latency|reset|truncate\", …}\n")))
            }
            await state.add(rule)
            return Response(status: .created)
        }
        router.delete("/_proxy/rules") { _, _ in
            await state.clear()
            return Response(status: .noContent)
        }
        router.get("/_proxy/stats") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: await state.stats().encoded())))
        }
        for method in [HTTPRequest.Method.get, .put, .post, .patch, .delete, .head] {
            // "**" needs at least one segment: the root (IAM, STS) is routed on its own.
            for path in ["/", "**"] {
                router.on(RouterPath(path), method: method) { request, context in try await forward(request, context) }
            }
        }
        return router
    }

    func forward(_ request: Request, _ context: Context) async throws -> Response {
        let path = request.uri.path
        var request = request
        // A form body (AWS's Query protocol) is small and read first, for its operation name;
        // any other body is left streaming, so a reset can still land mid-upload.
        let isForm = request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true
        let formBody = isForm ? try await request.collectBody(upTo: 1 << 20) : nil
        let query = URLComponents(string: "?" + (request.uri.query ?? ""))?.queryItems ?? []
        let form = formBody.flatMap { URLComponents(string: "?" + String(buffer: $0))?.queryItems } ?? []
        let operation = (query + form).first { $0.name == "Action" }?.value
        let rule = await state.arrive(method: request.method.rawValue, path: path, operation: operation)
        switch rule?.action {
        case .status?:
            let body = rule?.body ?? ""
            return Response(status: .init(code: rule?.status ?? 503), headers: [.contentType: body.hasPrefix("<") ? "application/xml" : "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        case .reset?:
            // Dropped before any answer, whatever the client was still sending.
            try? await context.channel.close()
            return Response(status: .internalServerError)
        case .latency?:
            try await Task.sleep(for: .milliseconds(rule?.latencyMs ?? 1000))
        case .truncate?, nil:
            break
        }
        var outgoing = HTTPClientRequest(url: upstream.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + request.uri.description)
        outgoing.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !["connection", "transfer-encoding", "content-length", "expect"].contains(field.name.canonicalName) {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        let body: ByteBuffer
        if let formBody { body = formBody } else { body = try await request.collectBody(upTo: 512 << 20) }
        if body.readableBytes > 0 || [.put, .post, .patch].contains(request.method) {
            outgoing.body = .bytes(body)
        }
        let answer = try await client.execute(outgoing, timeout: .seconds(120))
        var responseBody = try await answer.body.collect(upTo: 512 << 20)
        var headers = HTTPFields()
        for header in answer.headers where !["connection", "transfer-encoding", "content-length"].contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        if rule?.action == .truncate {
            // The full length announced, half the bytes sent, then the connection closed.
            let full = responseBody.readableBytes
            let half = responseBody.readSlice(length: full / 2) ?? ByteBuffer()
            headers[.contentLength] = String(full)
            let channel = context.channel
            return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: ResponseBody { writer in
                try await writer.write(half)
                try? await channel.close()
            })
        }
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: responseBody))
    }

    /// On 127.0.0.1:`port` (0 picks one); `onRunning` gets the bound port.
    public func buildApplication(port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "recops-proxy"),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }
}
