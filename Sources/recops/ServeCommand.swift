import ArgumentParser
import AWS
import Foundation
import Logging
import Pipeline
import PipelineAssembly
import Provision
import Spec
import Transport
import Verify

/// `recops serve`: the recording pipeline service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the recording pipeline: take Twilio's webhooks, copy each recording to S3, append its link to the job's history.",
        discussion: """
            Every callback is stored durably (SQLite under --data-dir, or PostgreSQL with --store or the
            spec's store.url) before it is acknowledged, and the work resumes after a crash or restart: each
            recording ends in S3 and in its job's history exactly once. Several replicas behind a load
            balancer share one PostgreSQL store, and one Airtable budget of 5 requests a second; give each
            a --replica-id of its own. SIGTERM stops taking work and lets the steps in flight finish; the process exits
            within the spec's service.shutdown_timeout (default 30 s) plus 5 s, whatever clients do (steps
            still running then are cancelled, and resume at the next start).

            The listener guards itself (spec section service:): a request's headers must arrive within
            header_timeout (10 s) of its connection, its body within body_timeout (20 s) of its headers, an
            idle kept-alive connection is closed after idle_timeout (60 s), and at most max_connections (512)
            are open at once.

            Routes: POST /api/twilio/voice, /api/twilio/voice/job, /api/twilio/recording,
            /api/twilio/status (all signature-checked against app.url); GET /healthz, /readyz, /metrics.

            Environment: AWS credentials (as for apply), TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (the
            token checks webhook signatures), AIRTABLE_TOKEN; RECOPS_ADMIN_TOKEN turns on the operations page
            GET /ops (sign in with it, or send it as a bearer token); RECOPS_LOG_LEVEL (default info).
            """
    )

    enum StartupCheck: String, ExpressibleByArgument, CaseIterable {
        case fail, warn, off
    }

    @OptionGroup var specOptions: SpecOptions

    @Option(help: "Address to listen on.")
    var host: String = "0.0.0.0"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: Int = 8080

    @Option(help: ArgumentHelp("Directory of the job store (created if missing). Keep it on durable storage.", valueName: "dir"))
    var dataDir: String = "recops-data"

    @Option(help: ArgumentHelp("The PostgreSQL store shared by several replicas (postgres://user@host/db), instead of SQLite under --data-dir; overrides the spec's store.url. Keep a password out of the command line: RECOPS_DATABASE_URL is read when neither is given.", valueName: "url"))
    var store: String?

    @Option(help: "Run verify at start-up: fail (exit 1 on drift or when it cannot check), warn (log and go on), off.")
    var startupCheck: StartupCheck = .warn

    @Option(help: "Recordings processed at once.")
    var concurrency: Int = 4

    @Option(help: ArgumentHelp("This replica's name in the store's claims, unique among replicas and the same across its restarts (default: host name and data directory; with PostgreSQL, host name and process id).", valueName: "name"))
    var replicaId: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be 1...64") }
    }

    func run() async throws {
        Wiring.bootstrapLogging(defaultLevel: .info)
        let logger = Logger(label: "recops.serve")
        let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
        let spec = loaded.spec
        if spec.recordings?.linkMode == .stable, spec.recordings?.linkAccess == .login, (Wiring.environment["RECOPS_ADMIN_TOKEN"] ?? "").isEmpty {
            Wiring.writeError("serve: recordings.link_access is login, but RECOPS_ADMIN_TOKEN is not set: no one could sign in to open a recording")
            throw CommandExit.failure
        }
        let transport = AsyncHTTPClientTransport()
        let assembled = try await PipelineWiring.build(spec: spec, dataDir: dataDir, store: store ?? Wiring.environment["RECOPS_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 },
                                                       replicaID: replicaId, transport: transport) {
            $0.concurrency = concurrency
        }
        // The check's Airtable requests count against the same budget as the pipeline's (with
        // PostgreSQL, the one all replicas share).
        Wiring.airtableBudget.exchange(assembled.airtableBudget)
        if startupCheck != .off {
            try await checkAtStartup(loaded, transport: transport, logger: logger)
        }
        await Self.checkCredentials(assembled.aws.configuration.credentials, ttl: assembled.configuration.history, logger: logger)
        let configuration = assembled.configuration
        if configuration.callers == nil {
            logger.warning("RECOPS_PRIVACY_KEY is not set: calls are not indexed by caller, so recops recordings erase --caller cannot find them")
        }
        let app = assembled.application(host: host, port: port, adminToken: Wiring.environment["RECOPS_ADMIN_TOKEN"]) { bound in
            // On standard output, unbuffered, so a script that started it with --port 0 learns the port.
            FileHandle.standardOutput.write(Data("recops serve listening on http://\(host):\(bound)\n".utf8))
            logger.info("serving", metadata: ["data_dir": "\(configuration.dataDirectory.path)", "app_url": "\(configuration.appURL)", "port": "\(bound)"])
        }
        Self.raiseOpenFileLimit(for: configuration.limits.maxConnections, logger: logger)
        do {
            try await PipelineServer.run(app, limits: configuration.limits, logger: Logger(label: "recops.lifecycle"))
        } catch is CancellationError {
            // The shutdown bound cut steps short: their claims are released at the next start.
            logger.warning("stopped at the shutdown bound: steps still running were cancelled and resume at the next start")
        }
        logger.info("stopped")
    }

    /// Each connection is a file descriptor: the soft limit (often 1024) is raised toward the hard
    /// one, so the connection cap, not EMFILE, is what refuses a flood.
    static func raiseOpenFileLimit(for connections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(connections * 2 + 256)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 || limit.rlim_cur < wanted {
            logger.warning("open-file limit \(limit.rlim_cur) is below what max_connections \(connections) needs (\(wanted)): raise LimitNOFILE")
        }
    }

    /// Which AWS key the service signs with, from where, and whether presigned links can live
    /// their whole `signed_url_ttl`: a link dies with the temporary credentials that signed it.
    static func checkCredentials(_ provider: any CredentialProvider, ttl history: HistorySettings, logger: Logger) async {
        do {
            let credentials = try await provider.credentials()
            logger.notice("aws credentials", metadata: ["access_key_id": "\(credentials.accessKeyID)", "source": "\(provider.source)"])
            guard history.links == .presigned, let expiration = credentials.expiration else { return }
            let left = expiration.timeIntervalSinceNow
            if left < history.signedURLTTL.timeInterval + 60 {
                logger.warning("presigned links may die before their signed_url_ttl: they are signed with temporary credentials from \(provider.source) that expire in \(Int(left / 60)) min, and a link lives no longer than what signed it; use longer sessions or a shorter signed_url_ttl (now \(Int(history.signedURLTTL.timeInterval)) s)")
            }
        } catch {
            logger.error("no AWS credentials yet (uploads wait and retry): \(error)")
        }
    }

    /// Verify before taking traffic: drift is logged (warn) or fatal (fail).
    private func checkAtStartup(_ loaded: SpecLoader.Loaded, transport: any HTTPTransport, logger: Logger) async throws {
        let resources = try Wiring.resources(for: loaded, parts: [.aws, .twilio, .airtable], transport: transport)
        let report = await Verifier(engine: Engine(resources: resources), sourceMap: loaded.sourceMap).run()
        switch report.status {
        case .inSync:
            logger.info("start-up check: in sync", metadata: ["resources": "\(report.checked.count)"])
        case .drift, .unknown:
            for line in report.render(.text).split(separator: "\n") {
                logger.warning("start-up check: \(line)")
            }
            if startupCheck == .fail {
                Wiring.writeError("serve: the start-up check did not pass (--startup-check fail); run `recops verify` for details")
                throw CommandExit.failure
            }
        }
    }
}
