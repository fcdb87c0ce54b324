import Airtable
import AWS
import Foundation
import Hummingbird
import Logging
import Pipeline
import PostgresStore
import ServiceLifecycle
import SQLiteStore
import Transport
import Twilio

/// The one assembly of the pipeline: store, clients, steps, worker, routes and application.
/// `recops serve`, the commands that work on the store, the test fixtures and the route
/// harness all build through it, so the tests run what `serve` runs.
public struct PipelineBuilder: Sendable {
    /// How the pipeline reaches the three services.
    public struct Connections: Sendable {
        public var aws: AWSConfiguration
        public var twilio: TwilioClient.Credentials
        public var twilioBaseURL: URL
        public var airtableToken: String
        public var airtableBaseURL: URL
        /// Shared with every other Airtable client of the process: together they keep to the base's
        /// 5 requests a second. With the PostgreSQL store the builder puts the replicas' shared
        /// budget behind it.
        public var limiter: RateLimiter
        public var transport: any HTTPTransport
        /// Each client retries only briefly: the store's schedule does the patient retrying.
        public var retry: RetryPolicy

        public init(aws: AWSConfiguration, twilio: TwilioClient.Credentials, twilioBaseURL: URL, airtableToken: String, airtableBaseURL: URL,
                    limiter: RateLimiter, transport: any HTTPTransport, retry: RetryPolicy = RetryPolicy(maxAttempts: 2)) {
            self.aws = aws
            self.twilio = twilio
            self.twilioBaseURL = twilioBaseURL
            self.airtableToken = airtableToken
            self.airtableBaseURL = airtableBaseURL
            self.limiter = limiter
            self.transport = transport
            self.retry = retry
        }
    }

    /// Which `JobStore` engine keeps the jobs.
    public enum StoreEngine: Sendable {
        /// SQLite under the configuration's data directory.
        case sqlite
        /// PostgreSQL, opened (and migrated) by `PostgresJobStore.open`: the store of several
        /// replicas. Airtable requests then also draw on the replicas' shared budget.
        case postgres(PostgresJobStore)
    }

    public var configuration: PipelineConfiguration
    public var connections: Connections
    public var store: StoreEngine = .sqlite
    /// The clock of the steps and the store.
    public var now: @Sendable () -> Date
    /// A logger for each part, by its name ("pipeline", "worker", "webhooks", "ops", "alerts", "http").
    public var logger: @Sendable (String) -> Logger
    /// What makes `/readyz` answer 503; nil: the pipeline's own check (store writable, S3 answering).
    public var readiness: (@Sendable () async -> [String])?

    public init(configuration: PipelineConfiguration, connections: Connections, now: @escaping @Sendable () -> Date,
                logger: @escaping @Sendable (String) -> Logger) {
        self.configuration = configuration
        self.connections = connections
        self.now = now
        self.logger = logger
    }

    public func build() throws -> AssembledPipeline {
        let jobs: any JobStore
        let budget: any RequestBudget
        switch store {
        case .sqlite:
            jobs = try SQLiteJobStore(directory: configuration.dataDirectory, clock: now)
            budget = connections.limiter
        case .postgres(let shared):
            jobs = shared
            budget = SharedRequestBudget(local: connections.limiter, store: shared, replica: configuration.owner)
        }
        let aws = AWSClient(configuration: connections.aws, transport: connections.transport, retry: connections.retry, now: now, logger: logger("aws"))
        let twilio = TwilioClient(credentials: connections.twilio, baseURL: connections.twilioBaseURL, transport: connections.transport,
                                  retry: connections.retry, logger: logger("twilio"))
        let metrics = PipelineMetrics()
        let alerts = AlertSink(webhookURL: configuration.alerts.webhookURL, transport: connections.transport, metrics: metrics, logger: logger("alerts"), now: now)
        // The month's allowance in front of the per-second budget: every request is counted in the store.
        let monthly = MonthlyRequestBudget(inner: budget, store: jobs, budget: configuration.airtable.monthlyRequestBudget,
                                           hold: configuration.airtable.holdWhenBudgetSpent, metrics: metrics, alerts: alerts, now: now,
                                           logger: logger("airtable"))
        let airtable = AirtableClient(token: connections.airtableToken, baseURL: connections.airtableBaseURL, transport: connections.transport,
                                      limiter: monthly, retry: connections.retry, logger: logger("airtable"),
                                      observer: { operation, status in metrics.airtableRequest(operation, status: status) })
        let s3 = S3Client(aws: aws)
        let pipeline = RecordingPipeline(configuration: configuration, store: jobs, s3: s3, twilio: twilio, airtable: airtable,
                                         metrics: metrics, alerts: alerts, now: now, logger: logger("pipeline"))
        return AssembledPipeline(pipeline: pipeline, aws: aws, s3: s3, twilio: twilio, airtable: airtable, airtableBudget: monthly, now: now,
                                 readiness: readiness ?? pipeline.readinessProblems, logger: logger)
    }
}

/// The pipeline as built: what `serve` runs, and what the commands and tests drive.
public struct AssembledPipeline: Sendable {
    public let pipeline: RecordingPipeline
    public let routes: WebhookRoutes
    /// The AWS client the pipeline signs with (status reads key ages and the bucket through it).
    public let aws: AWSClient
    let s3: S3Client
    let twilio: TwilioClient
    let airtable: AirtableClient
    /// What every Airtable request of this pipeline draws on: the process's limiter, or with
    /// PostgreSQL the budget all replicas share. Other Airtable clients of the process (serve's
    /// start-up check) must use this one too, and never a second shared budget of the same
    /// replica (its first request frees the replica's earlier holds).
    public let airtableBudget: any RequestBudget
    let now: @Sendable () -> Date
    let logger: @Sendable (String) -> Logger

    init(pipeline: RecordingPipeline, aws: AWSClient, s3: S3Client, twilio: TwilioClient, airtable: AirtableClient, airtableBudget: any RequestBudget,
         now: @escaping @Sendable () -> Date,
         readiness: @escaping @Sendable () async -> [String], logger: @escaping @Sendable (String) -> Logger) {
        self.pipeline = pipeline
        self.aws = aws
        self.s3 = s3
        self.twilio = twilio
        self.airtable = airtable
        self.airtableBudget = airtableBudget
        self.now = now
        self.logger = logger
        routes = WebhookRoutes(configuration: pipeline.configuration, store: pipeline.store, airtable: airtable, metrics: pipeline.metrics,
                               now: now, readiness: readiness, identity: { await pipeline.signingIdentity() }, logger: logger("webhooks"))
    }

    /// `recops reconcile`: Twilio's recordings against the store, S3 and the histories.
    public func reconciler() -> Reconciler {
        Reconciler(configuration: configuration, store: store, twilio: twilio, airtable: airtable, s3: s3, now: now)
    }

    /// `recops recordings url` and `link`.
    public func recordingLinks() -> RecordingLinks {
        RecordingLinks(configuration: configuration, store: store, airtable: airtable,
                       history: HistoryWriter(airtable: airtable, settings: configuration.airtable),
                       links: ObjectLinks(s3: s3, bucket: configuration.bucket, settings: configuration.history, appURL: configuration.appURL, store: store, now: now), now: now)
    }

    /// `recops recordings hold`.
    public func recordingHolds() -> RecordingHolds {
        RecordingHolds(store: store, s3: s3, bucket: configuration.bucket, callers: configuration.callers)
    }

    /// `recops recordings erase`.
    public func recordingErasure() -> RecordingErasure {
        RecordingErasure(configuration: configuration, store: store, s3: s3, twilio: twilio, holds: recordingHolds(), now: now)
    }

    /// `recops recordings index-callers` (nil without `RECOPS_PRIVACY_KEY`).
    public func callerBackfill() -> CallerBackfill? {
        configuration.callers.map { CallerBackfill(store: store, twilio: twilio, callers: $0) }
    }

    /// `recops recordings relink`.
    public func historyRelink() -> HistoryRelink {
        HistoryRelink(configuration: configuration, store: store, writer: HistoryWriter(airtable: airtable, settings: configuration.airtable), now: now)
    }

    /// `recops audit access`.
    public func accessAudit() -> AccessAudit {
        AccessAudit(store: store, threshold: configuration.links.distinctRecordingsPerHour)
    }

    /// The trail's S3 data events for `from`…`to`, read from its log files (`audit access --cloudtrail`).
    public func trailRecords(trail: String, logBucket: String?, from: Date, to: Date) async throws -> [CloudTrailRecord] {
        try await AccessAudit.trailRecords(s3: s3, cloudtrail: CloudTrailClient(aws: aws), trail: trail, logBucket: logBucket,
                                           region: aws.configuration.region, from: from, to: to)
    }

    public var store: any JobStore { pipeline.store }
    public var metrics: PipelineMetrics { pipeline.metrics }
    public var configuration: PipelineConfiguration { pipeline.configuration }

    public func worker() -> RecordingWorker {
        RecordingWorker(configuration: configuration, store: store, scheduler: pipeline.scheduler, sweep: pipeline.sweep, steps: pipeline,
                        logger: logger("worker"))
    }

    /// The HTTP application with the store and (unless `runWorker` is false: a test drives the
    /// steps) the worker beside it. `adminToken` turns the operations page on (nil: `/ops` says how).
    public func application(host: String, port: Int, adminToken: String?, runWorker: Bool = true,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let ops = OpsRoutes(configuration: configuration, store: store, s3: s3, now: now, adminToken: adminToken, logger: logger("ops"))
        // Served whatever `recordings.links` says now: links written while it was `stable` keep opening.
        let links = LinkRoutes(configuration: configuration, store: store, s3: s3, ops: ops, alerts: pipeline.alerts, metrics: metrics, now: now,
                               logger: logger("links"))
        var services: [any Service] = [pipeline.store]
        if runWorker { services.append(worker()) }
        return PipelineServer.buildApplication(routes: routes, ops: ops, links: links, services: services, host: host, port: port, logger: logger("http"),
                                               onRunning: onRunning)
    }

    /// Runs a worker (and the store's service) until none of `sids` has work left, or `timeout`
    /// passes; true when settled. For commands that finish a piece of work beside a running
    /// service (`recordings link`).
    public func work(until sids: [String], timeout: Duration) async throws -> Bool {
        let worker = worker()
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await worker.run()
                return false
            }
            group.addTask { try await self.settled(sids, timeout: timeout) }
            let done = try await group.next() ?? false
            group.cancelAll()
            return done
        }
    }

    /// Waits until none of `sids` has work left (another replica's worker does it), or `timeout`
    /// passes; true when settled.
    public func settled(_ sids: [String], timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var open = false
            for sid in sids {
                if let job = try await store.job(sid), JobStateMachine.step(for: job) != nil { open = true }
            }
            if !open { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// The replicas whose worker runs on this store now: those that reported their signing key
    /// within the last minute (every sweep does). A command with work for the worker leaves it to
    /// them: a second worker would spend Airtable's per-base rate beside theirs (each process
    /// has its own limiter with SQLite), and their history claims would only make it wait.
    public func liveReplicas() async throws -> [String] {
        try await store.signingKeys().filter { $0.age < 60 && $0.owner != configuration.owner }.map(\.owner)
    }
}
