import ArgumentParser
import Foundation
import Logging
import Pipeline
import PipelineAssembly
import Spec
import Transport

/// `--data-dir`, shared by the commands that use the pipeline's job store.
struct DataDirOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Directory of the job store (the service's --data-dir).", valueName: "dir"))
    var dataDir: String = "recops-data"
}

/// The pipeline from the spec and the environment, through the one `PipelineBuilder`: for the
/// service and the commands that work on its store (reconcile, recordings, status).
enum PipelineWiring {
    /// `replicaID` nil: the service's default name, host and data directory. Commands that run a
    /// worker beside a running service pass their own, so neither releases the other's claims.
    static func build(spec: Spec, dataDir: String, replicaID: String?, transport: any HTTPTransport,
                      configure: (inout PipelineConfiguration) -> Void = { _ in }) throws -> AssembledPipeline {
        let (account, token) = try Wiring.twilioSigningSecret()
        let connections = try Wiring.connections(region: spec.aws?.region ?? "us-east-1", transport: transport)
        let directory = URL(fileURLWithPath: dataDir, isDirectory: true).standardizedFileURL
        do {
            var configuration = try PipelineConfiguration(spec: spec, accountSID: account, authToken: token,
                                                          owner: replicaID ?? "\(ProcessInfo.processInfo.hostName):\(directory.path)", dataDirectory: directory)
            if let seconds = Wiring.environment["RECOPS_RETRY_BASE_SECONDS"].flatMap(Double.init) { configuration.retry.retryBase = seconds }
            if let seconds = Wiring.environment["RECOPS_AIRTABLE_THROTTLE_PAUSE_SECONDS"].flatMap(Double.init) { configuration.retry.throttleDelay = seconds }
            configure(&configuration)
            return try PipelineBuilder(configuration: configuration, connections: connections, now: { Date() },
                                       logger: { Logger(label: "recops.\($0)") }).build()
        } catch {
            Wiring.writeError("\(error)")
            throw CommandExit.failure
        }
    }
}
