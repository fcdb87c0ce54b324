import Airtable
import ArgumentParser
import AWS
import Foundation
import Logging
import Pipeline
import Spec
import Transport
import Twilio

/// `--data-dir`, shared by the commands that use the pipeline's job store.
struct DataDirOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Directory of the job store (the service's --data-dir).", valueName: "dir"))
    var dataDir: String = "recops-data"
}

/// The pipeline as the service builds it, for the service and the commands that work on its
/// store (reconcile, recordings, status).
struct PipelineWiring {
    let pipeline: RecordingPipeline
    let store: SQLiteJobStore
    let aws: AWSClient
    let metrics: PipelineMetrics

    /// `replicaID` nil: the service's default name, host and data directory. Commands that run a
    /// worker beside a running service pass their own, so neither releases the other's claims.
    init(spec: Spec, dataDir: String, replicaID: String?, transport: any HTTPTransport, configure: (inout PipelineConfiguration) -> Void = { _ in }) throws {
        let (account, token) = try Wiring.twilioSigningSecret()
        // The store's schedule does the patient retrying; each client retries only briefly.
        aws = try Wiring.awsClient(region: spec.aws?.region ?? "us-east-1", transport: transport, retry: RetryPolicy(maxAttempts: 2))
        let twilio = try Wiring.twilioClient(transport: transport, retry: RetryPolicy(maxAttempts: 2))
        let airtable = try Wiring.airtableClient(transport: transport, retry: RetryPolicy(maxAttempts: 2))
        let directory = URL(fileURLWithPath: dataDir, isDirectory: true).standardizedFileURL
        var configuration: PipelineConfiguration
        do {
            store = try SQLiteJobStore(directory: directory)
            configuration = try PipelineConfiguration(spec: spec, accountSID: account, authToken: token,
                                                      owner: replicaID ?? "\(ProcessInfo.processInfo.hostName):\(directory.path)", dataDirectory: directory)
        } catch {
            Wiring.writeError("\(error)")
            throw CommandExit.failure
        }
        if let seconds = Wiring.environment["RECOPS_RETRY_BASE_SECONDS"].flatMap(Double.init) { configuration.retryBase = seconds }
        if let seconds = Wiring.environment["RECOPS_AIRTABLE_THROTTLE_PAUSE_SECONDS"].flatMap(Double.init) { configuration.throttleDelay = seconds }
        configure(&configuration)
        metrics = PipelineMetrics()
        let alerts = AlertSink(webhookURL: spec.alerts?.webhookUrl.flatMap(URL.init(string:)), transport: transport, metrics: metrics,
                               logger: Logger(label: "recops.alerts"), now: { Date() })
        pipeline = RecordingPipeline(configuration: configuration, store: store, s3: S3Client(aws: aws), twilio: twilio, airtable: airtable,
                                     metrics: metrics, alerts: alerts, now: { Date() }, logger: Logger(label: "recops.pipeline"))
    }

    /// Runs a worker until none of `sids` has work left, or `timeout` passes; true when settled.
    func work(until sids: [String], timeout: Duration) async throws -> Bool {
        let worker = RecordingWorker(pipeline: pipeline, logger: Logger(label: "recops.worker"))
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await worker.run()
                return false
            }
            group.addTask {
                let deadline = ContinuousClock.now + timeout
                while ContinuousClock.now < deadline {
                    var open = false
                    for sid in sids {
                        if let job = try await store.job(sid), job.state.isOpen || job.cleanupPending { open = true }
                    }
                    if !open { return true }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return false
            }
            let settled = try await group.next() ?? false
            group.cancelAll()
            return settled
        }
    }
}
