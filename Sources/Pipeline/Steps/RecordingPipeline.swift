import Airtable
import AWS
import Foundation
import Logging
import Twilio

/// The pipeline's parts as one value: the store, the steps, the state machine and the sweep,
/// put together once by `PipelineAssembly`. The worker claims (through the `Scheduler`), a step
/// does its work and names what happened (a `JobEvent`), the `JobStateMachine` decides the new
/// row, and the store commits it under the step's claim.
public struct RecordingPipeline: Sendable {
    public let configuration: PipelineConfiguration
    public let store: any JobStore
    public let scheduler: Scheduler
    public let machine: JobStateMachine
    public let metrics: PipelineMetrics
    public let sweep: AlertSweep
    let transfer: TransferStep
    let historyStep: HistoryStep
    let cleanup: CleanupStep
    let erasure: ErasureStep
    let s3: S3Client
    public let alerts: AlertSink
    public let now: @Sendable () -> Date
    let logger: Logger

    public init(configuration: PipelineConfiguration, store: any JobStore, s3: S3Client, twilio: TwilioClient, airtable: AirtableClient,
                metrics: PipelineMetrics, alerts: AlertSink, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.s3 = s3
        self.metrics = metrics
        self.alerts = alerts
        self.now = now
        self.logger = logger
        let layout = RecordingLayout(settings: configuration.history)
        var policy = configuration.retry
        policy.deleteFromTwilio = configuration.recording.deleteFromTwilioAfterUpload
        machine = JobStateMachine(policy: policy)
        scheduler = Scheduler(store: store, owner: configuration.owner, lease: configuration.lease, historyJobs: configuration.historyJobs)
        let links = ObjectLinks(s3: s3, bucket: configuration.bucket, settings: configuration.history, appURL: configuration.appURL, store: store, now: now)
        let history = HistoryWriter(airtable: airtable, settings: configuration.airtable)
        transfer = TransferStep(store: store, twilio: twilio, s3: s3, bucket: configuration.bucket, encryption: configuration.encryption,
                                format: configuration.recording.format, dataDirectory: configuration.dataDirectory, layout: layout,
                                metrics: metrics, logger: logger)
        historyStep = HistoryStep(store: store, writer: history, layout: layout, links: links, airtable: configuration.airtable,
                                  throttleDelay: configuration.retry.throttleDelay, metrics: metrics, logger: logger)

        cleanup = CleanupStep(s3: s3, twilio: twilio, bucket: configuration.bucket, logger: logger)
        erasure = ErasureStep(store: store, s3: s3, twilio: twilio, bucket: configuration.bucket, writer: history, layout: layout,
                              appURL: configuration.appURL, owner: configuration.owner, now: now, logger: logger)
        sweep = AlertSweep(store: store, settings: configuration.alerts, retryWithin: configuration.history.retryWithin,
                           stallAfter: configuration.historyStallAfter, metrics: metrics, alerts: alerts, owner: configuration.owner,
                           signer: s3.aws.configuration.credentials, auditRetention: configuration.links.auditRetention, now: now, logger: logger)
    }

    /// Runs one claimed step and commits its outcome under its claims.
    public func perform(_ work: Work) async throws {
        let jobs = work.jobs
        let events: [JobEvent]
        switch work {
        case .transfer: events = [await transfer.run(jobs[0])]
        case .history(let batch): events = await historyStep.run(batch).flatMap { $0 }
        case .cleanup: events = [await cleanup.run(jobs[0])]
        case .erasure: events = await erasure.run(jobs)
        }
        var outcome: [RecordingJob] = []
        var notices: [(JobNotice, RecordingJob)] = []
        let at = now()
        for (job, event) in zip(jobs, events) {
            do {
                let transition = try machine.apply(event, to: job, at: at)
                outcome.append(transition.job)
                if let notice = transition.notice { notices.append((notice, transition.job)) }
            } catch {
                // A step's outcome the job no longer accepts: dropped, the row left as it is.
                logger.error("step outcome refused: \(error)", metadata: ["recording_sid": "\(job.recordingSid)"])
            }
        }
        let written = try await scheduler.finish(work, with: outcome)
        if written.count < outcome.count {
            logger.notice("a step's claim was lost (taken over or requeued): its outcome is dropped and the step runs again",
                          metadata: ["step": "\(work.kind.rawValue)", "lost": "\(outcome.count - written.count)"])
        }
        for job in outcome where written.contains(job.recordingSid) && job.state == .linked && job.linkedAt == at {
            metrics.callbackToHistory(.milliseconds(Int64(at.timeIntervalSince(job.receivedAt) * 1000)))
        }
        await tell(notices.filter { written.contains($0.1.recordingSid) })
    }

    /// Alerts for what a person should know; only after the commit, so an alert is never raised
    /// for an outcome that was dropped.
    private func tell(_ notices: [(JobNotice, RecordingJob)]) async {
        var unmatchedByJob: [String: [RecordingJob]] = [:]
        var fullByJob: [String: [RecordingJob]] = [:]
        for (notice, job) in notices {
            switch notice {
            case .historyFull:
                fullByJob[job.jobID ?? "?", default: []].append(job)
            case .uploadPending:
                metrics.upload(.pending)
                await alerts.raise(.uploadPending, "recording \(job.recordingSid) could not be stored after \(job.attempts) attempts; retrying in the background",
                                   details: ["recording_sid": job.recordingSid, "call_sid": job.callSid, "error": job.lastError ?? ""])
            case .unmatched:
                if let jobID = job.jobID {
                    unmatchedByJob[jobID, default: []].append(job)
                } else {
                    metrics.history(.unmatched)
                    let key = job.objectKey ?? "?"
                    await alerts.raise(.unmatched, "recording \(job.recordingSid) of call \(job.callSid) has no job: stored at \(key), no history line",
                                       details: ["recording_sid": job.recordingSid, "call_sid": job.callSid, "key": key])
                }
            }
        }
        for (jobID, jobs) in fullByJob.sorted(by: { $0.key < $1.key }) {
            await alerts.raise(.historyFull, "\(jobs.count) recording(s) for job \(jobID) wait in history_full: \(jobs[0].note ?? "")",
                               details: ["job_id": jobID, "recording_sids": jobs.map(\.recordingSid).joined(separator: ",")])
        }
        for (jobID, jobs) in unmatchedByJob.sorted(by: { $0.key < $1.key }) {
            await alerts.raise(.unmatched, "\(jobs.count) recording(s) for job \(jobID) kept unlinked: \(jobs[0].note ?? "")",
                               details: ["job_id": jobID, "recording_sids": jobs.map(\.recordingSid).joined(separator: ",")])
        }
    }

    /// "aws key AKIA… (profile default (…))": the key this replica signs with now, for `/readyz`.
    @Sendable public func signingIdentity() async -> String? {
        let provider = s3.aws.configuration.credentials
        guard let credentials = try? await provider.credentials() else { return nil }
        return "aws key \(credentials.accessKeyID) (\(provider.source))"
    }

    /// What keeps the service from doing its work now (`/readyz`): the store must take a write,
    /// and S3 must answer. Any HTTP answer but a credentials or bucket error counts: the
    /// pipeline's user may not list the bucket, so a 403 on HEAD is normal.
    @Sendable public func readinessProblems() async -> [String] {
        var problems: [String] = []
        if await !store.isWritable() { problems.append("job store: not writable") }
        do {
            _ = try await s3.headObject(bucket: configuration.bucket, key: "recordings/")
        } catch let error as AWSError {
            if error.isCredentialProblem || error.code == "NoSuchBucket" {
                problems.append("s3: \(error.description)")
            }
        } catch {
            problems.append("s3: \(Redaction.message(error))")
        }
        return problems
    }
}
