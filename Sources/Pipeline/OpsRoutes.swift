import AWS
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Transport
import Twilio

/// `/ops`: the operations page and its retry buttons, behind `RECOPS_ADMIN_TOKEN`.
///
/// Without the token configured the page is off (404). With it, a request is let in by
/// `Authorization: Bearer <token>` or by the session cookie the sign-in form sets: HttpOnly,
/// SameSite=Lax (so another site cannot make the browser POST a retry), Secure under https, and
/// an HMAC of the token rather than the token itself.
public struct OpsRoutes: Sendable {
    let pipeline: RecordingPipeline
    let adminToken: String?
    let logger: Logger
    private let cache = Locked<(at: Date, storage: Result<(objects: Int, bytes: Int), PipelineStatus.StatusError>, keys: Result<[(id: String, active: Bool, ageDays: Int)], PipelineStatus.StatusError>)?>(nil)

    public init(pipeline: RecordingPipeline, adminToken: String?, logger: Logger) {
        self.pipeline = pipeline
        self.adminToken = adminToken.flatMap { $0.isEmpty ? nil : $0 }
        self.logger = logger
    }

    static let cookieName = "recops_ops"

    var session: String? {
        adminToken.map { token in
            Data(HMAC<SHA256>.authenticationCode(for: Data("recops-ops-session".utf8), using: SymmetricKey(data: Data(token.utf8)))).base64EncodedString()
        }
    }

    func isAuthorized(_ request: Request) -> Bool {
        guard let adminToken, let session else { return false }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
           TwilioSignature.constantTimeEqual(String(header.dropFirst(7)), adminToken) {
            return true
        }
        for cookie in (request.headers[.cookie] ?? "").split(separator: ";") {
            let parts = cookie.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, parts[0] == Self.cookieName, TwilioSignature.constantTimeEqual(parts[1], session) { return true }
        }
        return false
    }

    public func add(to router: Router<BasicRequestContext>) {
        router.get("/ops") { request, _ in
            guard adminToken != nil else { return Self.disabled }
            guard isAuthorized(request) else { return Self.html(OpsPage.login(error: nil), status: .unauthorized) }
            let retried = FormEncoding.decode(request.uri.query ?? "")?.first { $0.name == "retried" }?.value
            let notice = retried.flatMap { RecordingCallback.isSid($0, prefix: "RE") ? "Retry of \($0) queued." : nil }
            return Self.html(OpsPage.page(try await status(), notice: notice))
        }
        router.post("/ops/login") { request, _ in
            guard adminToken != nil, let session else { return Self.disabled }
            var request = request
            let body = try await request.collectBody(upTo: 4096)
            let token = FormEncoding.decode(String(buffer: body))?.first { $0.name == "token" }?.value ?? ""
            guard let adminToken, TwilioSignature.constantTimeEqual(token, adminToken) else {
                logger.warning("operations page: wrong admin token")
                return Self.html(OpsPage.login(error: "That token is not the admin token."), status: .unauthorized)
            }
            let secure = pipeline.configuration.appURL.hasPrefix("https://") ? "; Secure" : ""
            return Response(status: .seeOther, headers: [.location: "/ops", .setCookie: "\(Self.cookieName)=\(session); Path=/ops; HttpOnly; SameSite=Lax; Max-Age=43200\(secure)"])
        }
        router.post("/ops/logout") { _, _ in
            Response(status: .seeOther, headers: [.location: "/ops", .setCookie: "\(Self.cookieName)=; Path=/ops; HttpOnly; SameSite=Lax; Max-Age=0"])
        }
        router.post("/ops/retry/:sid") { request, context in
            guard adminToken != nil else { return Self.disabled }
            guard isAuthorized(request) else { return Self.html(OpsPage.login(error: "Sign in to retry."), status: .unauthorized) }
            let sid = context.parameters.get("sid") ?? ""
            guard RecordingCallback.isSid(sid, prefix: "RE"), let job = try await pipeline.store.job(sid), job.state.isOpen else {
                return Self.html(OpsPage.document(title: "recops operations", body: "<h1>recops operations</h1><p role=\"alert\">No recording \(OpsPage.escape(sid)) is waiting to be retried.</p><p><a href=\"/ops\">Back</a></p>"), status: .notFound)
            }
            _ = try await pipeline.store.requeue(sid, as: job.state, at: pipeline.now())
            logger.notice("operations page: retry queued", metadata: ["recording_sid": "\(sid)"])
            return Response(status: .seeOther, headers: [.location: "/ops?retried=\(sid)"])
        }
    }

    /// The page's numbers; the bucket listing and key ages are refreshed at most every 5 minutes.
    func status() async throws -> PipelineStatus {
        let now = pipeline.now()
        let cached = cache.value.flatMap { now.timeIntervalSince($0.at) < 300 ? $0 : nil }
        var status = try await PipelineStatus.collect(
            store: pipeline.store, now: now, bucket: pipeline.configuration.bucket,
            s3: cached == nil ? pipeline.s3 : nil, iam: cached == nil ? IAMClient(aws: pipeline.s3.aws) : nil, user: pipeline.configuration.iamUser,
            stallAfter: pipeline.configuration.historyStallAfter)
        if let cached {
            status.storage = cached.storage
            status.keys = cached.keys
        } else {
            cache.exchange((now, status.storage, status.keys))
        }
        return status
    }

    static var disabled: Response {
        Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: "the operations page is off: set RECOPS_ADMIN_TOKEN to turn it on\n")))
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
