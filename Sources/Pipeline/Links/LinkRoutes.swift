import AWS
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RecopsBase

/// `GET /r/{id}`: a stable link, answered with a 302 to a presigned URL of `redirectTTL`
/// seconds, signed now with the credentials in use now. A link in a year-old history therefore
/// opens after any key rotation or session end, and no recording is ever public.
///
/// - Every open is recorded in the audit before it is answered; an open that cannot be recorded
///   is not answered with a URL (503: try again), so the audit misses nothing.
/// - A revoked link, an expired one and an id no link has get the same 410 page: the answer never
///   says whether an id exists. An unknown id also costs what a known one does: the same lookup,
///   a URL signed (for a decoy key) and an audit row; the pattern checks run after the answer.
/// - Opens are limited per client address (`opens_per_minute`, then 429).
/// - With `link_access: login`, a client without a signed-in session gets the sign-in form,
///   which brings it back to the link.
public struct LinkRoutes: Sendable {
    let configuration: PipelineConfiguration
    let store: any JobStore
    let s3: S3Client
    let ops: OpsRoutes
    let alerts: AlertSink
    let metrics: PipelineMetrics
    let now: @Sendable () -> Date
    let logger: Logger
    let throttle: LinkThrottle
    let patterns: AccessPatterns

    public init(configuration: PipelineConfiguration, store: any JobStore, s3: S3Client, ops: OpsRoutes, alerts: AlertSink, metrics: PipelineMetrics,
                now: @escaping @Sendable () -> Date, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.s3 = s3
        self.ops = ops
        self.alerts = alerts
        self.metrics = metrics
        self.now = now
        self.logger = logger
        throttle = LinkThrottle(perMinute: configuration.links.opensPerMinute)
        patterns = AccessPatterns(store: store, threshold: configuration.links.distinctRecordingsPerHour, alerts: alerts, logger: logger)
    }

    public func add(to router: Router<PipelineRequestContext>) {
        router.get("/r/:id") { request, context in
            await open(request, id: context.parameters.get("id") ?? "", peer: context.clientAddress)
        }
    }

    func open(_ request: Request, id: String, peer: String) async -> Response {
        let at = now()
        let client = LinkClient(request, peer: peer)
        let userAgent = String(String.UnicodeScalarView((request.headers[.userAgent] ?? "").unicodeScalars.prefix(256)))
        let session = ops.sessionID(request).flatMap { ops.sessions.isValid($0, now: at) ? String(OpsSessions.digest($0).prefix(12)) : nil }
        var open = LinkOpen(at: at, linkID: nil, recordingSid: nil, objectKey: nil, jobID: nil, client: client.address, network: client.network,
                            userAgent: userAgent, session: session, answer: .unknown)
        switch throttle.take(client.address, now: at) {
        case .allowed:
            break
        case .refused(let wait, let first):
            // Recorded once a window per client: a flood must not become a flood of audit rows.
            open.answer = .throttled
            if first { _ = await record(open) } else { metrics.linkOpen(.throttled) }
            var response = Self.page(.tooManyRequests, title: "Too many recordings opened", text: "This address opened too many recording links in a minute. Try again in \(wait) s.")
            response.headers[.retryAfter] = String(wait)
            return response
        }
        let link: RecordingLink?
        do {
            link = RecordingLink.isWellFormed(id[...]) ? try await store.link(id: id) : nil
        } catch {
            logger.error("stable link: the store cannot be read: \(Redaction.message(error))")
            return Self.unavailable
        }
        if let link {
            open.linkID = link.id
            open.recordingSid = link.recordingSid
            open.objectKey = link.objectKey
            open.jobID = link.jobID
        }
        // Under `login`, the sign-in comes before any judgement of the id: the form for every id,
        // known or not, so an unauthenticated client learns nothing about which exist.
        if configuration.links.access == .login, !ops.isAuthorized(request) {
            open.answer = .loginRequired
            _ = await record(open)
            let next = RecordingLink.isWellFormed(id[...]) ? RecordingLink.pathPrefix + id : nil
            return OpsRoutes.html(OpsPage.login(error: ops.adminToken == nil ? "Sign-in is off on this service (no RECOPS_ADMIN_TOKEN): no one can open this link." : "Sign in to open this recording.",
                                                next: next), status: .unauthorized)
        }
        // Every answer does the same work (a URL signed, an audit row, the pattern check), for a
        // decoy key when there is no live link: the time taken never tells a known id from another.
        let signed: URL?
        do {
            signed = try await s3.presignedGetURL(bucket: configuration.bucket, key: link?.objectKey ?? "recordings/" + RecordingLink.newID(),
                                                  expires: configuration.links.redirectTTL)
        } catch {
            logger.error("stable link: no URL could be signed: \(Redaction.message(error))")
            signed = nil
        }
        if let link {
            if link.revokedAt != nil {
                open.answer = .revoked
            } else if let maxAge = configuration.links.maxAge, at.timeIntervalSince(link.createdAt) >= maxAge {
                open.answer = .expired
            } else {
                open.answer = signed == nil ? .failed : .redirected
            }
        }
        let recorded = await record(open)
        logger.info("stable link opened", metadata: ["answer": "\(open.answer.rawValue)", "recording_sid": "\(open.recordingSid ?? "-")", "client": "\(client.address)"])
        let checked = open
        Task { await patterns.check(checked) }
        switch open.answer {
        case .redirected:
            guard recorded, let signed else { return Self.unavailable }
            return OpsRoutes.secured(Response(status: .found, headers: [.location: signed.absoluteString, .cacheControl: "no-store"]))
        case .failed:
            return Self.unavailable
        default:
            return Self.gone
        }
    }

    /// Writes the open; false (logged) when the store refused it.
    private func record(_ open: LinkOpen) async -> Bool {
        metrics.linkOpen(open.answer)
        do {
            try await store.recordOpen(open)
            return true
        } catch {
            logger.error("stable link: the open cannot be recorded in the audit: \(Redaction.message(error))")
            return false
        }
    }

    static var gone: Response {
        page(.gone, title: "This recording link is no longer available",
             text: "The link was revoked, has expired, or does not exist. Ask the office for a new link to this recording.")
    }

    static var unavailable: Response {
        var response = page(.serviceUnavailable, title: "The recording cannot be opened right now", text: "Please try again in a minute.")
        response.headers[.retryAfter] = "30"
        return response
    }

    static func page(_ status: HTTPResponse.Status, title: String, text: String) -> Response {
        OpsRoutes.html(OpsPage.document(title: title, body: "<h1>\(OpsPage.escape(title))</h1><p>\(OpsPage.escape(text))</p>"), status: status)
    }
}
