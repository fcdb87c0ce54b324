import Airtable
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Transport
import Twilio

/// Twilio's webhooks and the service's health routes.
///
/// Every webhook is checked before anything is stored: body size (413), form syntax (400),
/// `X-Twilio-Signature` against the configured public URL (403), and the account (403). A
/// callback is answered 2xx only after the store has committed it, and nothing slow happens
/// before the answer: the worker does the rest.
public struct WebhookRoutes: Sendable {
    let configuration: PipelineConfiguration
    let store: any JobStore
    /// For the voice webhook's job lookup.
    let airtable: AirtableClient
    let metrics: PipelineMetrics
    let now: @Sendable () -> Date
    let readiness: ReadinessCache
    /// What a ready answer also says: the AWS key in use (its id, never the secret).
    let identity: @Sendable () async -> String?
    let logger: Logger

    /// `readiness` returns the problems that make the service unready (none: ready). Its answer
    /// is reused for `limits.readinessCache`: each check costs an S3 request (a billable
    /// CloudTrail data event on AWS) and a store write, and `/readyz` is unauthenticated.
    public init(configuration: PipelineConfiguration, store: any JobStore, airtable: AirtableClient, metrics: PipelineMetrics,
                now: @escaping @Sendable () -> Date, readiness: @escaping @Sendable () async -> [String],
                identity: @escaping @Sendable () async -> String? = { nil }, logger: Logger) {
        self.identity = identity
        self.configuration = configuration
        self.store = store
        self.airtable = airtable
        self.metrics = metrics
        self.now = now
        self.readiness = ReadinessCache(ttl: configuration.limits.readinessCache, check: readiness)
        self.logger = logger
    }

    public func add(to router: Router<PipelineRequestContext>) {
        router.post("/api/twilio/voice") { request, _ in
            try await webhook(request, kind: .voice) { await voice($0) }
        }
        router.post("/api/twilio/voice/job") { request, _ in
            try await webhook(request, kind: .voiceJob) { await voiceJob($0, request: request) }
        }
        router.post("/api/twilio/recording") { request, _ in
            try await webhook(request, kind: .recording) { await recordingCallback($0) }
        }
        router.post("/api/twilio/status") { request, _ in
            try await webhook(request, kind: .status) { await statusCallback($0) }
        }
        router.get("/healthz") { _, _ in
            Self.text(.ok, "ok\n")
        }
        router.get("/readyz") { _, _ in
            let problems = await readiness.problems()
            guard problems.isEmpty else { return Self.text(.serviceUnavailable, problems.joined(separator: "\n") + "\n") }
            return Self.text(.ok, "ready\n" + (await identity().map { $0 + "\n" } ?? ""))
        }
        router.get("/metrics") { _, _ in
            if let counts = try? await store.countsByState() { metrics.queueDepth(counts) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
    }

    // MARK: The checks every webhook passes

    /// Parameters of a webhook that passed every check, or the refusal.
    private func webhook(_ request: Request, kind: WebhookKind, handle: ([String: String]) async -> Response) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            metrics.callback(kind, .rejected)
            return Self.text(.contentTooLarge, "request body larger than \(configuration.maxBodyBytes) bytes\n")
        }
        guard let form = FormEncoding.decode(String(decoding: body.readableBytesView, as: UTF8.self)),
              let query = FormEncoding.decode(request.uri.query ?? "") else {
            metrics.callback(kind, .rejected)
            return Self.text(.badRequest, "malformed form body or query\n")
        }
        // The URL Twilio signed: the configured public base, this path, the query as received.
        let url = configuration.appURL + request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
        guard let signature = request.headers[HTTPField.Name("X-Twilio-Signature")!],
              TwilioSignature.isValid(signature: signature, url: url, parameters: form, authToken: configuration.authToken) else {
            metrics.signatureFailure(kind)
            metrics.callback(kind, .rejected)
            logger.warning("webhook refused: missing or wrong X-Twilio-Signature", metadata: ["kind": "\(kind)", "path": "\(request.uri.path)"])
            return Self.text(.forbidden, "invalid signature\n")
        }
        var parameters: [String: String] = [:]
        for item in query + form { parameters[item.name] = item.value }  // the form wins over the query
        guard parameters["AccountSid"] == configuration.accountSID else {
            metrics.callback(kind, .rejected)
            logger.warning("webhook refused: another account", metadata: ["kind": "\(kind)"])
            return Self.text(.forbidden, "unknown account\n")
        }
        return await handle(parameters)
    }

    // MARK: Voice

    /// Starts the recording (unless the spec's emergency switch is off), then names the job:
    /// from the `JobId` parameter, else by asking the caller.
    private func voice(_ parameters: [String: String]) async -> Response {
        guard let callSid = parameters["CallSid"], RecordingCallback.isSid(callSid, prefix: "CA") else {
            metrics.callback(.voice, .rejected)
            return Self.text(.badRequest, "CallSid is missing or malformed\n")
        }
        let jobID = Self.jobID(parameters["JobId"])
        // `recops verify --only webhook` marks its signed probe: answered like a call, never stored
        // (it would show as a call without a job). Only a holder of the auth token can sign one.
        let probe = parameters["RecopsProbe"] == "1"
        if !probe, let refusal = await storeCall(callSid, jobID: jobID, parameters) { return refusal }
        metrics.callback(.voice, probe ? .probe : .accepted)
        var twiml = TwiML()
        if configuration.recording.enabled {
            twiml.startRecording([
                ("channels", configuration.recording.channels.rawValue), ("track", "both"), ("trim", configuration.recording.trim),
                ("recordingStatusCallback", configuration.recording.statusCallbackURL),
                ("recordingStatusCallbackMethod", configuration.recording.statusCallbackMethod),
                ("recordingStatusCallbackEvent", "completed absent"),
            ])
        } else {
            logger.warning("recording is disabled in the spec: call not recorded", metadata: ["call_sid": "\(callSid)"])
        }
        if jobID != nil {
            finish(&twiml)
        } else {
            twiml.gather(action: jobURL(attempt: 1), prompt: configuration.ivr.jobPrompt)
        }
        return Self.twiml(twiml)
    }

    /// The caller's digits, looked up in Airtable; asked again on a miss, up to the spec's attempts.
    private func voiceJob(_ parameters: [String: String], request: Request) async -> Response {
        guard let callSid = parameters["CallSid"], RecordingCallback.isSid(callSid, prefix: "CA") else {
            metrics.callback(.voiceJob, .rejected)
            return Self.text(.badRequest, "CallSid is missing or malformed\n")
        }
        metrics.callback(.voiceJob, .accepted)
        let attempt = parameters["attempt"].flatMap(Int.init) ?? 1
        let digits = String((parameters["Digits"] ?? "").filter { $0.isASCII && $0.isNumber }.prefix(16))
        var twiml = TwiML()
        if !digits.isEmpty {
            let jobID = configuration.ivr.jobIdFromDigits.replacingOccurrences(of: "{digits}", with: digits)
            switch await lookUp(jobID) {
            case .found, .unknown:
                if let refusal = await storeCall(callSid, jobID: jobID, parameters) { return refusal }
                finish(&twiml)
                return Self.twiml(twiml)
            case .missing:
                break
            }
        }
        if attempt < configuration.ivr.attempts {
            let heard = digits.isEmpty ? "I did not hear a job number." : "I could not find job \(digits.map(String.init).joined(separator: " "))."
            twiml.gather(action: jobURL(attempt: attempt + 1), prompt: "\(heard) \(configuration.ivr.jobPrompt)")
        } else {
            logger.warning("caller gave no known job number", metadata: ["call_sid": "\(callSid)"])
            twiml.say("We could not find that job number.")
            finish(&twiml)
        }
        return Self.twiml(twiml)
    }

    /// Stores what the call told us; a 503 when the store cannot: Twilio then tries the number's
    /// fallback URL rather than leaving a call recorded but unknown.
    private func storeCall(_ callSid: String, jobID: String?, _ parameters: [String: String]) async -> Response? {
        let status: CallStatus
        if let text = parameters["CallStatus"] {
            guard let known = CallStatus(rawValue: text) else { return Self.text(.badRequest, "CallStatus is not one of Twilio's call statuses\n") }
            status = known
        } else {
            status = .inProgress
        }
        do {
            let from = parameters["From"].flatMap { $0.isEmpty ? nil : $0 }
            try await store.recordCall(CallRecord(callSid: callSid, from: from, to: parameters["To"], jobID: jobID,
                                                  status: status, startedAt: now(), callerHash: from.flatMap { configuration.callers?.hash($0) }))
            return nil
        } catch {
            logger.error("cannot store the call: \(Redaction.message(error))")
            return Self.text(.serviceUnavailable, "store unavailable\n")
        }
    }

    enum Lookup { case found, missing, unknown }

    /// Airtable down or slow must not hang the caller: after `lookupTimeout` the number is taken
    /// as given (the worker checks it again before writing any line).
    private func lookUp(_ jobID: String) async -> Lookup {
        let settings = configuration.airtable
        let timeout = configuration.lookupTimeout
        let client = airtable
        return await withTaskGroup(of: Lookup.self) { group in
            group.addTask {
                do {
                    return try await client.findRecord(base: settings.base, table: settings.table, field: settings.jobIdField, equals: jobID) == nil ? .missing : .found
                } catch {
                    return .unknown
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .unknown
            }
            let first = await group.next() ?? .unknown
            group.cancelAll()
            if first == .unknown { logger.warning("job lookup failed or timed out: taking the job number as given", metadata: ["job_id": "\(jobID)"]) }
            return first
        }
    }

    private func finish(_ twiml: inout TwiML) {
        if let agent = configuration.ivr.agentURL {
            twiml.redirect(agent)
        } else {
            twiml.say(configuration.ivr.goodbye)
            twiml.hangup()
        }
    }

    private func jobURL(attempt: Int) -> String {
        "\(configuration.appURL)/api/twilio/voice/job?attempt=\(attempt)"
    }

    /// A job id set by whatever routed the call (see `JobID`).
    static func jobID(_ value: String?) -> String? {
        value.flatMap(JobID.validated)
    }

    // MARK: Callbacks

    private func recordingCallback(_ parameters: [String: String]) async -> Response {
        let callback: RecordingCallback
        do {
            callback = try RecordingCallback(form: parameters)
        } catch {
            metrics.callback(.recording, .rejected)
            return Self.text(.badRequest, "\(error)\n")
        }
        guard callback.status != .inProgress else { return Response(status: .noContent) }
        do {
            let isNew = try await store.accept(callback, at: now())
            metrics.callback(.recording, isNew ? .accepted : .duplicate)
            logger.info("recording callback stored", metadata: ["recording_sid": "\(callback.recordingSid)", "status": "\(callback.status.rawValue)", "new": "\(isNew)"])
            return Response(status: .noContent)
        } catch {
            // No 2xx without a commit: Twilio will deliver it again.
            logger.error("cannot store a recording callback: \(Redaction.message(error))", metadata: ["recording_sid": "\(callback.recordingSid)"])
            return Self.text(.serviceUnavailable, "store unavailable\n")
        }
    }

    private func statusCallback(_ parameters: [String: String]) async -> Response {
        guard let callSid = parameters["CallSid"], RecordingCallback.isSid(callSid, prefix: "CA"),
              let status = parameters["CallStatus"].flatMap(CallStatus.init(rawValue:)) else {
            metrics.callback(.status, .rejected)
            return Self.text(.badRequest, "CallSid is missing or malformed, or CallStatus is not one of Twilio's call statuses\n")
        }
        do {
            try await store.setCallStatus(callSid: callSid, status: status, at: now())
            metrics.callback(.status, .accepted)
            return Response(status: .noContent)
        } catch {
            logger.error("cannot store a call status: \(Redaction.message(error))")
            return Self.text(.serviceUnavailable, "store unavailable\n")
        }
    }

    // MARK: Responses

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func twiml(_ twiml: TwiML) -> Response {
        Response(status: .ok, headers: [.contentType: "text/xml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: twiml.description)))
    }
}

/// One readiness check at a time, its answer reused for `ttl`: a flood of probes costs one check
/// every few seconds, not one each.
actor ReadinessCache {
    let ttl: Duration
    let check: @Sendable () async -> [String]
    private var cached: (at: ContinuousClock.Instant, problems: [String])?
    private var running: Task<[String], Never>?

    init(ttl: Duration, check: @escaping @Sendable () async -> [String]) {
        self.ttl = ttl
        self.check = check
    }

    func problems() async -> [String] {
        if let cached, ContinuousClock.now - cached.at < ttl { return cached.problems }
        if let running { return await running.value }
        let task = Task { await check() }
        running = task
        let problems = await task.value
        cached = (.now, problems)
        running = nil
        return problems
    }
}
