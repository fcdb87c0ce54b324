import ArgumentParser
import Foundation
import Logging
import Pipeline
import PipelineAssembly
import PostgresStore
import Spec
import Transport

/// `--data-dir` and `--store`, shared by the commands that use the pipeline's job store.
struct DataDirOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Directory of the job store (the service's --data-dir).", valueName: "dir"))
    var dataDir: String = "recops-data"

    @Option(help: ArgumentHelp("The PostgreSQL store (postgres://…) instead of SQLite under --data-dir; overrides the spec's store.url.", valueName: "url"))
    var store: String?
}

/// The pipeline from the spec and the environment, through the one `PipelineBuilder`: for the
/// service and the commands that work on its store (reconcile, recordings, status).
enum PipelineWiring {
    /// `replicaID` nil: the service's default name, host and data directory. Commands that run a
    /// worker beside a running service pass their own, so neither releases the other's claims.
    /// `store`: `--store`, which wins over the spec's `store.url`; with neither, SQLite under
    /// `dataDir`. A store that cannot be opened (bad URL, refused, wrong password) is a clear
    /// error and exit 1, with the URL's password never printed.
    static func build(spec: Spec, dataDir: String, store: String? = nil, replicaID: String?, transport: any HTTPTransport,
                      configure: (inout PipelineConfiguration) -> Void = { _ in }) async throws -> AssembledPipeline {
        let (account, token) = try Wiring.twilioSigningSecret()
        // A link signed just before a refresh still lives its whole signed_url_ttl.
        let refreshBefore = max(300, TimeInterval(spec.recordings?.signedUrlTtl.seconds ?? 0) + 60)
        let connections = try Wiring.connections(region: spec.aws?.region ?? "us-east-1", airtableRate: spec.airtable?.requestsPerSecond ?? 5,
                                                 refreshBefore: refreshBefore, transport: transport)
        let directory = URL(fileURLWithPath: dataDir, isDirectory: true).standardizedFileURL
        let engine = try await openStore(spec: spec, override: store)
        do {
            let replica: String
            if let replicaID {
                replica = replicaID
            } else if case .postgres = engine {
                // Unique per process: two containers may share a host name and a pid, and a
                // replica releases its own name's claims when it starts. A stable, unique
                // --replica-id (a pod or unit name) also frees them at once after a crash.
                replica = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
            } else {
                replica = "\(ProcessInfo.processInfo.hostName):\(directory.path)"
            }
            var configuration = try PipelineConfiguration(spec: spec, accountSID: account, authToken: token, owner: replica, dataDirectory: directory)
            configuration.callers = try CallerIndex(environment: Wiring.environment)
            if let seconds = Wiring.environment["RECOPS_RETRY_BASE_SECONDS"].flatMap(Double.init) { configuration.retry.retryBase = seconds }
            if let seconds = Wiring.environment["RECOPS_AIRTABLE_THROTTLE_PAUSE_SECONDS"].flatMap(Double.init) { configuration.retry.throttleDelay = seconds }
            if case .postgres = engine {
                // NOTIFY wakes an idle worker at once; the poll is only the fallback.
                configuration.pollInterval = .seconds(1)
                // Another replica takes over a dead one's step after this (renewed every third
                // of it while the step runs); one replica alone releases its claims on restart.
                configuration.lease = 60
            }
            if let seconds = Wiring.environment["RECOPS_LEASE_SECONDS"].flatMap(Double.init), seconds >= 3 { configuration.lease = seconds }
            configure(&configuration)
            var builder = PipelineBuilder(configuration: configuration, connections: connections, now: { Date() },
                                          logger: { Logger(label: "recops.\($0)") })
            builder.store = engine
            return try builder.build()
        } catch {
            Wiring.writeError("\(error)")
            throw CommandExit.failure
        }
    }

    /// The store engine the spec and `--store` name, opened and migrated.
    static func openStore(spec: Spec, override: String?) async throws -> PipelineBuilder.StoreEngine {
        guard let url = override ?? spec.store?.url else { return .sqlite }
        do {
            let settings = try PostgresSettings(url: url, maximumConnections: spec.store?.maxConnections ?? 10)
            // 90 days when only --store names the store (the spec's default).
            let store = try await PostgresJobStore.open(settings: settings, retention: TimeInterval(spec.store?.retention.seconds ?? 90 * 86_400),
                                                        logger: Logger(label: "recops.store"))
            return .postgres(store)
        } catch {
            Wiring.writeError("cannot open the store: \(error)")
            throw CommandExit.failure
        }
    }
}
