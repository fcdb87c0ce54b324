import Airtable
import AWS
import Foundation
import Hummingbird
import Logging
import Pipeline
import PipelineAssembly
import Provision
import Sandbox
import Spec
import Transport
import Twilio

/// The pipeline service running in-process on a real port, against moto (AWS) and the sandbox
/// (Twilio, Airtable), with its job store in a fresh directory: built by the same
/// `PipelineBuilder` as `recops serve`. The accounts are set up by `apply` from the project's own spec.
public final class PipelineFixture: Sendable {
    /// What a test changes from the project's spec and the service's defaults, as typed values
    /// (never edits of the YAML's text, which silently do nothing once its wording drifts).
    public struct Overrides: Sendable {
        public var alertWebhook: URL?
        public var historyQueueThreshold: Int?
        public var missingRecordingAfter: Duration?
        public var historyRetryWithin: Duration?
        public var deleteFromTwilioAfterUpload: Bool?
        public var publicURL: Bool?
        public var lease: TimeInterval?
        public var retryBase: TimeInterval?
        public var throttleDelay: TimeInterval?
        public var lookupTimeout: Duration?
        public var historyStallAfter: TimeInterval?
        public var sweepInterval: Duration?
        public var limits: ServiceLimits?
        /// The S3 key template (`recordings.key`).
        public var keyTemplate: String?
        /// `twilio.recording.enabled` (the emergency switch) and `ivr.agent_url`.
        public var recordingEnabled: Bool?
        public var agentURL: String?
        /// Any other setting, after the ones above.
        public var adjust: (@Sendable (inout PipelineConfiguration) -> Void)?

        public init(alertWebhook: URL? = nil, historyQueueThreshold: Int? = nil, missingRecordingAfter: Duration? = nil, historyRetryWithin: Duration? = nil,
                    deleteFromTwilioAfterUpload: Bool? = nil, publicURL: Bool? = nil, lease: TimeInterval? = nil, retryBase: TimeInterval? = nil,
                    throttleDelay: TimeInterval? = nil, lookupTimeout: Duration? = nil, historyStallAfter: TimeInterval? = nil,
                    sweepInterval: Duration? = nil, limits: ServiceLimits? = nil, keyTemplate: String? = nil, recordingEnabled: Bool? = nil,
                    agentURL: String? = nil, adjust: (@Sendable (inout PipelineConfiguration) -> Void)? = nil) {
            self.adjust = adjust
            self.keyTemplate = keyTemplate
            self.recordingEnabled = recordingEnabled
            self.agentURL = agentURL
            self.alertWebhook = alertWebhook
            self.historyQueueThreshold = historyQueueThreshold
            self.missingRecordingAfter = missingRecordingAfter
            self.historyRetryWithin = historyRetryWithin
            self.deleteFromTwilioAfterUpload = deleteFromTwilioAfterUpload
            self.publicURL = publicURL
            self.lease = lease
            self.retryBase = retryBase
            self.throttleDelay = throttleDelay
            self.lookupTimeout = lookupTimeout
            self.historyStallAfter = historyStallAfter
            self.sweepInterval = sweepInterval
            self.limits = limits
        }

        /// The fixture's own defaults (quick retries, a quick poll, a lookup that never times out
        /// on a slow machine), then these.
        public func apply(to configuration: inout PipelineConfiguration) {
            configuration.retry.retryBase = retryBase ?? 0.05
            configuration.retry.throttleDelay = throttleDelay ?? 1
            configuration.pollInterval = .milliseconds(20)
            configuration.lookupTimeout = lookupTimeout ?? .seconds(60)
            if let alertWebhook { configuration.alerts.webhookURL = alertWebhook }
            if let historyQueueThreshold { configuration.alerts.historyQueueThreshold = historyQueueThreshold }
            if let missingRecordingAfter { configuration.alerts.missingRecordingAfter = missingRecordingAfter }
            if let historyRetryWithin { configuration.history.retryWithin = historyRetryWithin }
            if let deleteFromTwilioAfterUpload { configuration.recording.deleteFromTwilioAfterUpload = deleteFromTwilioAfterUpload }
            if let publicURL { configuration.history.publicURL = publicURL }
            if let lease { configuration.lease = lease }
            if let historyStallAfter { configuration.historyStallAfter = historyStallAfter }
            if let sweepInterval { configuration.sweepInterval = sweepInterval }
            if let limits { configuration.limits = limits }
            if let keyTemplate { configuration.history.keyTemplate = keyTemplate }
            if let recordingEnabled { configuration.recording.enabled = recordingEnabled }
            if let agentURL { configuration.ivr.agentURL = agentURL }
            adjust?(&configuration)
        }
    }

    public let sandbox: LocalSandbox
    public let spec: Spec
    public let sourceMap: SourceMap
    public let assembled: AssembledPipeline
    public let baseURL: URL
    public let s3: S3Client
    public let directory: URL
    /// What the pipeline, its store and its AWS signer take as now.
    public let clock: TestClock
    public var store: any JobStore { assembled.store }
    public var pipeline: RecordingPipeline { assembled.pipeline }
    public var metrics: PipelineMetrics { assembled.metrics }
    public var appURL: String { baseURL.absoluteString }
    public var number: String { sandbox.seed.numbers[0].phoneNumber }
    private let task: Task<Void, any Error>

    public static let bucket = "acme-call-recordings"

    /// The project's spec, as a deployment with these values would load it.
    public static func loadSpec(appURL: String, sandbox: LocalSandbox, bucket: String = PipelineFixture.bucket, phoneNumber: String? = nil) throws -> SpecLoader.Loaded {
        let text = try String(contentsOfFile: ProvisionFixture.specPath, encoding: .utf8)
        let environment = ["S3_BUCKET": bucket, "APP_URL": appURL, "AIRTABLE_BASE_ID": sandbox.seed.baseID,
                           "TWILIO_PHONE_NUMBER": phoneNumber ?? sandbox.seed.numbers[0].phoneNumber, "AIRTABLE_TABLE": sandbox.seed.tableName]
        let result = SpecLoader(environment: environment).validate(yaml: text, file: "infra/policy.yaml", parts: nil)
        guard var loaded = result.loaded else { throw SpecError(diagnostics: result.diagnostics) }
        motoCompatible(&loaded.spec)
        return loaded
    }

    /// moto cannot evaluate policy conditions: it treats the conditions of the two Deny
    /// statements as matching every request and would refuse every object write. The fixture
    /// turns them off; they are tested as documents (ProvisionTests).
    /// It also drops what moto cannot hold (MotoGaps).
    public static func motoCompatible(_ spec: inout Spec) {
        spec.bucket?.policy.denyInsecureTransport = false
        spec.bucket?.policy.denyPublicAcls = false
        MotoGaps.lifecycle(&spec)
    }

    /// The same two changes in the spec's text, for a test that hands the file to the binary.
    /// Throws when the wording they replace is gone, rather than silently changing nothing.
    public static func motoCompatible(text: String) throws -> String {
        var text = try MotoGaps.lifecycle(text: text)
        for setting in ["deny_insecure_transport", "deny_public_acls"] {
            guard let range = text.range(of: "\(setting): true") else { throw WordingDrifted(description: "the spec no longer says '\(setting): true'") }
            text.replaceSubrange(range, with: "\(setting): false")
        }
        return text
    }

    public struct WordingDrifted: Error, CustomStringConvertible {
        public var description: String
    }

    /// How the fixture's pipeline reaches moto and the sandbox. `s3`, `twilio`, `airtable`:
    /// another endpoint (a fault proxy, a dead port) for the pipeline; set-up always goes direct.
    public static func connections(moto: MotoServer?, sandbox: LocalSandbox, limiter: RateLimiter, s3: URL? = nil, twilio: URL? = nil,
                                   airtable: URL? = nil) -> PipelineBuilder.Connections {
        var endpoints: [String: URL] = [:]
        if let moto { for service in ["s3", "iam", "sts", "cloudtrail"] { endpoints[service] = moto.endpoint } }
        if let s3 { endpoints["s3"] = s3 }
        return PipelineBuilder.Connections(
            aws: AWSConfiguration(credentials: MotoServer.bootstrapCredentials, region: "us-east-1", endpointOverrides: endpoints),
            twilio: .init(accountSID: sandbox.seed.accountSID, username: sandbox.seed.accountSID, password: sandbox.seed.authToken),
            twilioBaseURL: twilio ?? sandbox.baseURL, airtableToken: sandbox.seed.airtableToken, airtableBaseURL: airtable ?? sandbox.baseURL,
            limiter: limiter, transport: AsyncHTTPClientTransport(), retry: RetryPolicy(maxAttempts: s3 == nil ? 2 : 1, baseDelay: .milliseconds(10)))
    }

    /// `s3Endpoint`: where the pipeline sends S3 requests (default moto's; a dead port stages an
    /// outage). `runWorker: false` leaves the steps to the test. `adminToken`: turns the
    /// operations page on. `twilioEndpoint`/`airtableEndpoint`: where the pipeline reaches the
    /// sandbox (a fault proxy). `limiterPause`: how long the process's Airtable limiter holds a
    /// base after a 429. `credentials`: what the pipeline signs with (default moto's bootstrap key).
    public init(moto: MotoServer, sandbox: LocalSandbox, s3Endpoint: URL? = nil, twilioEndpoint: URL? = nil, airtableEndpoint: URL? = nil,
                overrides: Overrides = Overrides(), directory: URL? = nil, runWorker: Bool = true,
                adminToken: String? = nil, limiterPause: Duration = .seconds(1), clock: TestClock = TestClock(),
                credentials: (any CredentialProvider)? = nil) async throws {
        self.sandbox = sandbox
        self.clock = clock
        let port = freeLoopbackPort()
        let loaded = try Self.loadSpec(appURL: "http://127.0.0.1:\(port)", sandbox: sandbox)
        spec = loaded.spec
        sourceMap = loaded.sourceMap

        // The accounts, as `recops apply` sets them up.
        // One limiter for set-up and service alike, as in one recops process: together they keep
        // to the base's 5 requests a second.
        let limiter = RateLimiter(requestsPerSecond: spec.airtable?.requestsPerSecond ?? 5, pauseAfterThrottle: limiterPause)
        try await Self.applyAWS(moto: moto, spec: spec)
        let services = Engine(resources: TwilioResources.make(spec: spec, twilio: sandbox.twilio())
            + AirtableResources.make(spec: spec, airtable: sandbox.airtable(limiter: limiter)))
        try await services.apply(await services.plan())

        self.directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("recops-pipeline-\(UUID().uuidString)")
        var configuration = try PipelineConfiguration(spec: spec, accountSID: sandbox.seed.accountSID, authToken: sandbox.seed.authToken,
                                                      owner: "test", dataDirectory: self.directory)
        overrides.apply(to: &configuration)
        var connections = Self.connections(moto: moto, sandbox: sandbox, limiter: limiter, s3: s3Endpoint, twilio: twilioEndpoint, airtable: airtableEndpoint)
        if let credentials { connections.aws.credentials = credentials }
        assembled = try PipelineBuilder(configuration: configuration, connections: connections, now: { clock.now() },
                                        logger: { quietServerLogger("test.\($0)") }).build()
        s3 = S3Client(aws: moto.client())
        let (bound, task) = try await startInProcess("pipeline") { [assembled] onRunning in
            assembled.application(host: "127.0.0.1", port: port, adminToken: adminToken, runWorker: runWorker, onRunning: onRunning)
        }
        self.task = task
        baseURL = URL(string: "http://127.0.0.1:\(bound)")!
    }

    /// Claims the next due step and runs it, as one turn of the worker; nil when none is due.
    @discardableResult
    public func step() async throws -> Work? {
        guard let work = try await pipeline.scheduler.next() else { return nil }
        try await pipeline.perform(work)
        return work
    }

    /// The bucket, user and trail of `spec`, applied to `moto`.
    @discardableResult
    public static func applyAWS(moto: MotoServer, spec: Spec) async throws -> Plan {
        let engine = Engine(resources: AWSResources.make(spec: spec, aws: moto.client(), now: { Date() }))
        let plan = await engine.plan()
        try await engine.apply(plan)
        return plan
    }

    /// Stops the server and the worker, as a crash would: nothing is flushed or finished.
    public func stop() {
        task.cancel()
    }

    deinit {
        task.cancel()
    }

    // MARK: Driving it

    /// One call through the sandbox's simulator: signed webhooks, TwiML followed, callbacks sent.
    public func call(job: String?, duration: Int = 9) async throws -> CallSimulator.Report {
        try await CallSimulator(twilio: sandbox.twilio(), authToken: sandbox.seed.authToken, transport: AsyncHTTPClientTransport())
            .run(.init(to: number, job: job, duration: duration))
    }

    /// A signed form POST to the service, as Twilio sends it.
    public func post(_ path: String, _ parameters: [(name: String, value: String)], authToken: String? = nil,
                     signature: String? = nil) async throws -> Transport.HTTPResponse {
        let url = appURL + path
        let signed = signature ?? TwilioSignature.compute(url: url, parameters: parameters, authToken: authToken ?? sandbox.seed.authToken)
        return try await AsyncHTTPClientTransport().send(Transport.HTTPRequest(
            method: "POST", url: URL(string: url)!,
            headers: [(name: "X-Twilio-Signature", value: signed), (name: "Content-Type", value: "application/x-www-form-urlencoded")],
            body: Data(FormEncoding.encode(parameters).utf8)))
    }

    /// A call that named `job` (voice webhook with `JobId`), then a finished recording of it in
    /// the sandbox and its signed callback. Returns the recording SID.
    @discardableResult
    public func recordedCall(job: String?, callSid: String = PipelineFixture.callSid(), duration: Int = 5,
                             from: String = "+14155550123") async throws -> (recordingSid: String, response: Transport.HTTPResponse) {
        var voice = [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: callSid), (name: "CallStatus", value: "ringing"),
                     (name: "From", value: from), (name: "To", value: number)]
        if let job { voice.append((name: "JobId", value: job)) }
        let answer = try await post("/api/twilio/voice", voice)
        guard answer.isSuccess else { return ("", answer) }
        await sandbox.state.addCall(sid: callSid, from: from, to: number)  // Twilio's record of the call
        let recording = await sandbox.state.addRecording(callSid: callSid, duration: duration)
        let response = try await post("/api/twilio/recording", Self.recordingCallback(account: sandbox.seed.accountSID, callSid: callSid,
                                                                                      recordingSid: recording.sid, start: recording.created, duration: duration))
        return (recording.sid, response)
    }

    public static func recordingCallback(account: String, callSid: String, recordingSid: String, start: Date, duration: Int) -> [(name: String, value: String)] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return [
            (name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "RecordingSid", value: recordingSid),
            (name: "RecordingUrl", value: "https://api.twilio.com/2010-04-01/Accounts/\(account)/Recordings/\(recordingSid)"),
            (name: "RecordingStatus", value: "completed"), (name: "RecordingDuration", value: String(duration)),
            (name: "RecordingChannels", value: "1"), (name: "RecordingStartTime", value: formatter.string(from: start)),
            (name: "RecordingSource", value: "StartCallRecording"), (name: "RecordingTrack", value: "both"), (name: "ErrorCode", value: "0"),
        ]
    }

    public static func callSid() -> String {
        "CA" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    // MARK: Reading the outcome from outside

    /// The job's history as Airtable (the sandbox) holds it.
    public func history(_ jobID: String) async throws -> String {
        let records = try await sandbox.dump()["airtable"]?["tables"]?.arrayValue?.first?["records"]?.arrayValue ?? []
        let record = records.first { $0["fields"]?[sandbox.seed.jobIDField]?.stringValue == jobID }
        return record?["fields"]?[sandbox.seed.historyField]?.stringValue ?? ""
    }

    /// The URL lines of a history, in order: exactly the runbook's format. Every other line must
    /// be a pending line or another well-formed event ("---- | <time> | Event: …"); anything else
    /// (a malformed or half-written line) throws, rather than being silently left uncounted.
    public static func urlLines(_ history: String) throws -> [String] {
        let stamp = #"^---- \| \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \| "#
        var urls: [String] = []
        // By newline, so "\r\n" (one `Character`) ends a line too.
        for line in history.split(whereSeparator: \.isNewline).map(String.init) {
            if line.range(of: stamp + #"Event: Recording \| Source: IVR \| URL: \S+$"#, options: .regularExpression) != nil {
                urls.append(String(line.split(separator: " ").last!))
            } else if line.range(of: stamp + #"Event: Recording \| Source: IVR \| Recording pending upload$"#, options: .regularExpression) == nil,
                      line.range(of: stamp + #"Event: (?!Recording )[^|]+ \| Source: [^|]+$"#, options: .regularExpression) == nil {
                throw MalformedHistory(line: line)
            }
        }
        return urls
    }

    public struct MalformedHistory: Error, CustomStringConvertible {
        public var line: String
        public var description: String { "a history line in no known form: \(line)" }
    }

    /// Waits until every stored job has reached a state with nothing left to do, or fails after
    /// `timeout` without progress with the states it saw.
    public func settle(expecting count: Int, timeout: Duration = .seconds(30)) async throws -> [RecordingJob] {
        // `timeout` without progress (one more job settled), so a slow machine is not a failure;
        // four times it at most, so a stuck one is.
        let start = ContinuousClock.now
        var deadline = start + timeout
        var settled = 0
        while true {
            let jobs = try await store.jobs(in: Set(RecordingJob.State.allCases), limit: 10_000)
            if jobs.count >= count, jobs.allSatisfy({ !$0.state.isOpen }) { return jobs }
            let now = jobs.filter { !$0.state.isOpen }.count
            if now > settled { settled = now; deadline = min(ContinuousClock.now + timeout, start + timeout * 4) }
            guard ContinuousClock.now < deadline else {
                throw Unsettled(description: "after \(ContinuousClock.now - start): \(jobs.count) jobs, states \(jobs.map { "\($0.state.rawValue)(\($0.lastError ?? ""))" })")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    public struct Unsettled: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }
}

/// Polls `body` until it returns a value (at most 30 s).
public func eventually<T>(_ body: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if let value = try await body() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw PipelineFixture.Unsettled(description: "condition not met within 30 s")
}
