import AWS
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RecopsBase
import Transport
import Twilio

/// `/ops`: the operations page and its retry buttons, behind `RECOPS_ADMIN_TOKEN`.
///
/// Without the token configured the page is off (404). With it, a request is let in by
/// `Authorization: Bearer <token>` or by a session: the sign-in form creates one server-side
/// (a random id in an HttpOnly, SameSite=Lax cookie, Secure under https; only its hash is kept),
/// which expires after 12 hours, or 1 hour unused, and which signing out revokes. Sign-ins are
/// throttled per client; every POST that acts (retry, sign out) must come from the page itself
/// (a browser's `Sec-Fetch-Site` or `Origin` naming another site is refused); every answer
/// carries a Content-Security-Policy and the headers that keep it out of frames and referrers.
///
/// Sessions live in this process: with several replicas behind a load balancer, sign in with the
/// bearer token or pin the page to one replica.
public struct OpsRoutes: Sendable {
    let configuration: PipelineConfiguration
    let store: any JobStore
    /// For the bucket's size and (through its client) the IAM user's key ages.
    let s3: S3Client
    let now: @Sendable () -> Date
    let adminToken: String?
    let logger: Logger
    let sessions: OpsSessions
    private let cache = Locked<(at: Date, storage: Result<(objects: Int, bytes: Int), PipelineStatus.StatusError>, keys: Result<[(id: String, active: Bool, ageDays: Int)], PipelineStatus.StatusError>)?>(nil)

    public init(configuration: PipelineConfiguration, store: any JobStore, s3: S3Client, now: @escaping @Sendable () -> Date, adminToken: String?,
                logger: Logger, sessions: OpsSessions = OpsSessions()) {
        self.configuration = configuration
        self.store = store
        self.s3 = s3
        self.now = now
        self.adminToken = adminToken.flatMap { $0.isEmpty ? nil : $0 }
        self.logger = logger
        self.sessions = sessions
    }

    static let cookieName = "recops_ops"

    func sessionID(_ request: Request) -> String? {
        for cookie in (request.headers[.cookie] ?? "").split(separator: ";") {
            let parts = cookie.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, parts[0] == Self.cookieName { return parts[1] }
        }
        return nil
    }

    func isAuthorized(_ request: Request) -> Bool {
        guard let adminToken else { return false }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
           TwilioSignature.constantTimeEqual(String(header.dropFirst(7)), adminToken) {
            return true
        }
        return sessionID(request).map { sessions.isValid($0, now: now()) } ?? false
    }

    /// A POST a browser sent from another site (or a frame of one) is refused: `Sec-Fetch-Site`
    /// where the browser sends it, else `Origin` against the `Host` the request came to. A client
    /// that sends neither (curl, a script with the bearer token) is no browser and passes.
    static func isCrossSite(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            return !(site == "same-origin" || site == "none")
        }
        guard let origin = request.headers[HTTPField.Name("Origin")!] else { return false }
        guard origin != "null", let host = URL(string: origin).flatMap({ url in url.host.map { $0 + (url.port.map { ":\($0)" } ?? "") } }) else { return true }
        return host.lowercased() != (request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? "").lowercased()
    }

    public func add(to router: Router<PipelineRequestContext>) {
        router.get("/ops") { request, _ in
            guard adminToken != nil else { return Self.disabled }
            guard isAuthorized(request) else { return Self.html(OpsPage.login(error: nil), status: .unauthorized) }
            let retried = FormEncoding.decode(request.uri.query ?? "")?.first { $0.name == "retried" }?.value
            let notice = retried.flatMap { RecordingCallback.isSid($0, prefix: "RE") ? "Retry of \($0) queued." : nil }
            return Self.html(OpsPage.page(try await status(), notice: notice))
        }
        // Sign-in alone takes a cross-site post (the Chromium test signs in from a page on
        // file://): success needs the admin token, which grants everything anyway. Cross-site
        // attempts are counted under a key of their own, so a hostile page posting guesses from
        // the admin's browser exhausts only that budget, never the address's own sign-ins; and a
        // script faking the header gains nothing: it is throttled all the same. Everything that
        // acts needs same-origin.
        router.post("/ops/login") { request, context in
            guard adminToken != nil else { return Self.disabled }
            let crossSite = Self.isCrossSite(request)
            let client = context.clientAddress + (crossSite ? " (cross-site)" : "")
            if let wait = sessions.attempt(client, now: now()) {
                logger.warning("operations page: sign-ins throttled", metadata: ["client": "\(client)"])
                var response = Self.html(OpsPage.login(error: "Too many wrong tokens from this address: try again in \(wait) s."), status: .tooManyRequests)
                response.headers[.retryAfter] = String(wait)
                return response
            }
            var request = request
            let body = try await request.collectBody(upTo: 4096)
            let form = FormEncoding.decode(String(buffer: body)) ?? []
            let token = form.first { $0.name == "token" }?.value ?? ""
            // Back to the stable link that asked for the sign-in; nowhere else (no open redirect).
            let next = form.first { $0.name == "next" }.flatMap { RecordingLink.id(in: $0.value) }.map { RecordingLink.pathPrefix + $0 } ?? "/ops"
            guard let adminToken, TwilioSignature.constantTimeEqual(token, adminToken) else {
                logger.warning("operations page: wrong admin token", metadata: ["client": "\(client)"])
                return crossSite ? Self.crossSite : Self.html(OpsPage.login(error: "That token is not the admin token."), status: .unauthorized)
            }
            sessions.succeeded(client)
            let session = sessions.create(now: now())
            let secure = configuration.appURL.hasPrefix("https://") ? "; Secure" : ""
            return Self.secured(Response(status: .seeOther, headers: [
                .location: next, .cacheControl: "no-store",
                // Path=/: stable links (`/r/…`) read the same session under `link_access: login`.
                .setCookie: "\(Self.cookieName)=\(session); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(Int(OpsSessions.lifetime))\(secure)",
            ]))
        }
        router.post("/ops/logout") { request, _ in
            guard adminToken != nil else { return Self.disabled }
            guard !Self.isCrossSite(request) else { return Self.crossSite }
            if let id = sessionID(request) { sessions.revoke(id) }
            return Self.secured(Response(status: .seeOther, headers: [.location: "/ops", .setCookie: "\(Self.cookieName)=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"]))
        }
        router.post("/ops/retry/:sid") { request, context in
            guard adminToken != nil else { return Self.disabled }
            guard !Self.isCrossSite(request) else { return Self.crossSite }
            guard isAuthorized(request) else { return Self.html(OpsPage.login(error: "Sign in to retry."), status: .unauthorized) }
            let sid = context.parameters.get("sid") ?? ""
            guard RecordingCallback.isSid(sid, prefix: "RE"), let job = try await store.job(sid),
                  job.state != .erasing, job.state.isOpen || job.state == .historyFull else {
                return Self.html(OpsPage.document(title: "recops operations", body: "<h1>recops operations</h1><p role=\"alert\">No recording \(OpsPage.escape(sid)) is waiting to be retried.</p><p><a href=\"/ops\">Back</a></p>"), status: .notFound)
            }
            // A full history is looked at again at once (someone may have made room).
            _ = try await store.requeue(sid, as: job.state == .historyFull ? .stored : job.state, at: now())
            logger.notice("operations page: retry queued", metadata: ["recording_sid": "\(sid)"])
            return Self.secured(Response(status: .seeOther, headers: [.location: "/ops?retried=\(sid)"]))
        }
    }

    /// The page's numbers; the bucket listing and key ages are refreshed at most every 5 minutes.
    func status() async throws -> PipelineStatus {
        let now = now()
        let cached = cache.value.flatMap { now.timeIntervalSince($0.at) < 300 ? $0 : nil }
        var status = try await PipelineStatus.collect(
            store: store, now: now, bucket: configuration.bucket,
            s3: cached == nil ? s3 : nil, iam: cached == nil ? IAMClient(aws: s3.aws) : nil, user: configuration.iamUser,
            stallAfter: configuration.historyStallAfter, airtableBudget: configuration.airtable.monthlyRequestBudget)
        if let cached {
            status.storage = cached.storage
            status.keys = cached.keys
        } else {
            cache.exchange((now, status.storage, status.keys))
        }
        return status
    }

    static var disabled: Response {
        secured(Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: "the operations page is off: set RECOPS_ADMIN_TOKEN to turn it on\n"))))
    }

    static var crossSite: Response {
        secured(Response(status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: "cross-site request refused: use the operations page itself\n"))))
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        secured(Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                         body: .init(byteBuffer: ByteBuffer(string: text))))
    }

    /// The page has no script and no asset: its one inline style is allowed by hash, forms post
    /// only to itself, and it never shows inside a frame or leaks its URL as a referrer.
    static let contentSecurityPolicy = "default-src 'none'; style-src '\(OpsPage.styleHash)'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func secured(_ response: Response) -> Response {
        var response = response
        response.headers[HTTPField.Name("Content-Security-Policy")!] = contentSecurityPolicy
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return response
    }
}
