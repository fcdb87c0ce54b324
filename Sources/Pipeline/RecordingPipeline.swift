import Airtable
import AWS
import Foundation
import Logging
import Spec
import Transport
import Twilio

/// The steps of a recording's journey, each safe to repeat after a crash in its middle, and the
/// periodic sweep that raises alerts. The worker claims; this does; the store remembers.
public struct RecordingPipeline: Sendable {
    public let configuration: PipelineConfiguration
    public let store: any JobStore
    public let s3: S3Client
    public let twilio: TwilioClient
    public let airtable: AirtableClient
    public let metrics: PipelineMetrics
    let alerts: AlertSink
    let layout: RecordingLayout
    let now: @Sendable () -> Date
    let logger: Logger

    public init(configuration: PipelineConfiguration, store: any JobStore, s3: S3Client, twilio: TwilioClient, airtable: AirtableClient,
                metrics: PipelineMetrics, alerts: AlertSink, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.s3 = s3
        self.twilio = twilio
        self.airtable = airtable
        self.metrics = metrics
        self.alerts = alerts
        self.layout = RecordingLayout(recordings: configuration.recordings)
        self.now = now
        self.logger = logger
    }

    /// Runs one claimed step and commits its outcome.
    public func perform(_ work: Work) async throws {
        switch work {
        case .transfer(let job):
            try await store.commit([await transfer(job)], owner: configuration.owner)
        case .history(let jobID, let jobs):
            try await store.commit(await appendHistory(jobID: jobID, jobs), owner: configuration.owner)
        case .cleanup(let job):
            try await store.commit([await deleteTwilioCopy(job)], owner: configuration.owner)
        }
    }

    // MARK: Transfer

    /// Downloads the media from Twilio (streaming, to a file under the data directory) and uploads
    /// it to S3 under the job's key. Failures count attempts; after the spec's attempts the job
    /// becomes `uploadPending` and keeps being retried with growing delays.
    func transfer(_ original: RecordingJob) async -> RecordingJob {
        var job = original
        let started = ContinuousClock.now
        let file = configuration.dataDirectory.appendingPathComponent("downloads/\(job.recordingSid).part")
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            if job.jobID == nil { job.jobID = try await store.call(job.callSid)?.jobID }
            try PrivateFiles.directory(file.deletingLastPathComponent())
            let media = twilio.recordingMediaURL(sid: job.recordingSid, format: configuration.recording.format)
            let size = try await twilio.downloadRecording(mediaURL: media, to: file)
            guard size > 0 else { throw TransferError(description: "Twilio answered an empty recording") }
            // Checked before upload, stored whatever it finds: audio is never lost to a check.
            if configuration.recording.format == "mp3", let problem = MP3Probe.problem(file: file, expectedSeconds: job.duration) {
                job.qualityProblem = problem
                metrics.qualityFailure()
                logger.warning("recording failed the quality check; storing it anyway", metadata: ["recording_sid": "\(job.recordingSid)", "problem": "\(problem)"])
            } else {
                job.qualityProblem = nil
            }
            let digest = try S3Client.sha256(of: file)
            let key = try await upload(file, sha256: digest, for: job)
            job.objectSHA256 = digest.base64EncodedString()
            let finished = now()
            job.objectKey = key
            job.objectSize = size
            job.storedAt = finished
            job.attempts = 0
            job.lastError = nil
            job.nextAttemptAt = finished
            job.state = job.jobID == nil ? .unmatched : .stored
            metrics.upload("stored", duration: ContinuousClock.now - started)
            logger.info("recording stored", metadata: ["recording_sid": "\(job.recordingSid)", "key": "\(key)", "bytes": "\(size)"])
            if job.jobID == nil {
                job.lastError = "the call named no job: stored, not linked"
                metrics.history("unmatched")
                await alerts.raise("unmatched", "recording \(job.recordingSid) of call \(job.callSid) has no job: stored at \(key), no history line",
                                   details: ["recording_sid": job.recordingSid, "call_sid": job.callSid, "key": key])
            }
        } catch {
            let failed = now()
            job.attempts += 1
            job.lastError = Redaction.message(error)
            metrics.upload("failed")
            logger.warning("recording transfer failed", metadata: ["recording_sid": "\(job.recordingSid)", "attempt": "\(job.attempts)", "error": "\(job.lastError ?? "")"])
            if job.state == .received, job.attempts >= configuration.recordings.upload.attempts {
                job.state = .uploadPending
                job.nextAttemptAt = failed  // the pending line goes out first
                metrics.upload("pending")
                await alerts.raise("upload_pending", "recording \(job.recordingSid) could not be stored after \(job.attempts) attempts; retrying in the background",
                                   details: ["recording_sid": job.recordingSid, "call_sid": job.callSid, "error": job.lastError ?? ""])
            } else {
                job.nextAttemptAt = failed.addingTimeInterval(configuration.transferDelay(afterAttempts: job.attempts))
            }
        }
        return job
    }

    struct TransferError: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes with `If-None-Match: *`: an existing object is never overwritten. If the key is
    /// taken by this same recording (uploaded before a crash), that object is ours; if by another
    /// recording of the same call, the next suffix (`-2`, `-3`…) is tried.
    func upload(_ file: URL, sha256: Data, for job: RecordingJob) async throws -> String {
        for attempt in 1...20 {
            let key = layout.key(for: job, attempt: attempt)
            do {
                try await s3.putObject(bucket: configuration.bucket, key: key, file: file, sha256: sha256, contentType: "audio/mpeg",
                                       encryption: configuration.encryption, ifNoneMatch: true, metadata: ["recording-sid": job.recordingSid])
                return key
            } catch let error as AWSError where error.status == 412 {
                if try await s3.headObject(bucket: configuration.bucket, key: key)?.metadata["recording-sid"] == job.recordingSid {
                    return key
                }
            }
        }
        throw TransferError(description: "20 keys for call \(job.callSid) are taken by other recordings")
    }

    // MARK: History

    /// One read-modify-write of the job's record for all its due lines. Idempotent: a line whose
    /// object key (or, for a pending line, whose exact text) is already in the history is not
    /// written again. The PATCH answer is the read-back: the lines must be in it.
    ///
    /// Departure from PIPELINE.md step 4 (a second GET to read back): Airtable's PATCH answers
    /// with the record as written, so a GET a moment later only adds a window of a few
    /// milliseconds in which a foreign writer's overwrite would show, at the price of one request
    /// of the base's five a second per update (a third less throughput). Writers inside recops
    /// never race: the store holds one history claim per job. A foreign writer who overwrites
    /// later is what `recops reconcile` finds and repairs.
    func appendHistory(jobID: String, _ original: [RecordingJob]) async -> [RecordingJob] {
        var jobs = original
        let settings = configuration.airtable
        do {
            var record: AirtableClient.Record?
            if let known = jobs.compactMap(\.recordID).first {
                record = try await airtable.record(base: settings.base, table: settings.table, id: known)
            }
            if record == nil {
                // Never looked up, or the record was replaced since: find it by its job id.
                record = try await airtable.findRecord(base: settings.base, table: settings.table, field: settings.jobIdField, equals: jobID)
            }
            guard let record else {
                return await unmatched(jobs, jobID: jobID)
            }
            let recordID = record.id
            let original = record.fields[settings.historyField]?.stringValue ?? ""
            var history = original
            func append(_ line: String) {
                history += (history.isEmpty || history.hasSuffix("\n") ? "" : "\n") + line
            }
            var markers: [String] = []
            // Pending lines carry no unique marker (two recordings of one job that started in the
            // same second have the same text), so they are counted: every recording of this job
            // whose pending line is due or already written owns one line of its text.
            var pendingNeeded: [String: Int] = [:]
            var pendingHere: Set<String> = []
            for job in jobs {
                if job.state == .stored, let key = job.objectKey {
                    let marker = RecordingLayout.marker(forKey: key)
                    markers.append(marker)
                    if !Self.contains(history, marker) { append(layout.historyLine(for: job, url: objectLink(key))) }
                } else {
                    pendingNeeded[layout.pendingLine(for: job), default: 0] += 1
                    pendingHere.insert(job.recordingSid)
                }
            }
            if !pendingNeeded.isEmpty {
                // Every other recording of the job whose pending line was written owns one, a
                // stored one of this batch included (its pending line stays in the history).
                let batch = pendingHere
                for other in try await store.jobs(matching: jobID) where other.jobID == jobID && other.pendingLineWritten && !batch.contains(other.recordingSid) {
                    let text = layout.pendingLine(for: other)
                    if pendingNeeded[text] != nil { pendingNeeded[text]! += 1 }
                }
                for (text, needed) in pendingNeeded.sorted(by: { $0.key < $1.key }) {
                    for _ in 0..<max(0, needed - Self.lines(history, equalTo: text)) { append(text) }
                }
            }
            if history != original {
                let updated = try await airtable.updateRecord(base: settings.base, table: settings.table, id: recordID,
                                                              fields: [settings.historyField: .string(history)])
                let written = updated.fields[settings.historyField]?.stringValue ?? ""
                if let lost = markers.first(where: { !Self.contains(written, $0) }) {
                    throw TransferError(description: "the history answer lacks the line for \(Redaction.text(lost)): another writer raced")
                }
                if let lost = pendingNeeded.first(where: { Self.lines(written, equalTo: $0.key) < $0.value }) {
                    throw TransferError(description: "the history answer lacks a pending line \(Redaction.text(lost.key)): another writer raced")
                }
            }
            let done = now()
            for index in jobs.indices {
                jobs[index].recordID = recordID
                if jobs[index].state == .stored {
                    jobs[index].lastError = nil
                    jobs[index].state = .linked
                    jobs[index].linkedAt = done
                    jobs[index].cleanupPending = configuration.recording.deleteFromTwilioAfterUpload
                    jobs[index].nextAttemptAt = done
                    jobs[index].attempts = 0
                    metrics.callbackToHistory(.milliseconds(Int64(done.timeIntervalSince(jobs[index].receivedAt) * 1000)))
                    metrics.history("linked")
                } else {
                    jobs[index].pendingLineWritten = true
                    jobs[index].nextAttemptAt = done.addingTimeInterval(configuration.transferDelay(afterAttempts: jobs[index].attempts))
                    metrics.history("pending_line")
                }
            }
            logger.info("history updated", metadata: ["job_id": "\(jobID)", "lines": "\(jobs.count)"])
        } catch {
            let failed = now()
            let throttled = (error as? AirtableError)?.status == 429
            metrics.history(throttled ? "throttled" : "failed", count: jobs.count)
            if throttled {
                // Routine, not a fault: any client of the base (an automation, a sync) can push it past
                // 5 requests/s, and Airtable then pauses everyone on it for 30 s. The lines wait, in order.
                logger.notice("Airtable paused the base (429); the lines wait and are retried", metadata: ["job_id": "\(jobID)", "retry_in_seconds": "\(Int(configuration.throttleDelay))"])
            } else {
                logger.warning("history update failed", metadata: ["job_id": "\(jobID)", "error": "\(Redaction.message(error))"])
            }
            for index in jobs.indices {
                jobs[index].lastError = Redaction.message(error)
                if jobs[index].state == .stored { jobs[index].attempts += 1 }
                let attempts = jobs[index].state == .stored ? jobs[index].attempts : 1
                jobs[index].nextAttemptAt = failed.addingTimeInterval(configuration.historyDelay(afterAttempts: attempts, throttled: throttled))
            }
        }
        return jobs
    }

    /// Whether `text` holds `marker`, code unit for code unit: a `Character` search would miss a
    /// key that someone's edit left followed by a combining mark, and write its line again.
    static func contains(_ text: String, _ marker: String) -> Bool {
        text.range(of: marker, options: .literal) != nil
    }

    /// How many lines of `text` are exactly `line`; split by scalar, so "\r\n" (one
    /// `Character`) still ends a line.
    static func lines(_ text: String, equalTo line: String) -> Int {
        let wanted = Array(line.unicodeScalars)
        return text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { Array($0.last == "\r" ? $0.dropLast() : $0[...]).elementsEqual(wanted) }.count
    }

    // MARK: Twilio clean-up

    /// Deletes Twilio's copy, only once the S3 object is confirmed: its size and SHA-256 as S3
    /// reports them equal what was downloaded (the line is written: the job is linked).
    func deleteTwilioCopy(_ original: RecordingJob) async -> RecordingJob {
        var job = original
        do {
            guard let key = job.objectKey, let info = try await s3.headObject(bucket: configuration.bucket, key: key) else {
                throw TransferError(description: "the S3 object is missing: Twilio's copy is kept")
            }
            guard info.size == job.objectSize, let checksum = info.checksumSHA256, checksum == job.objectSHA256 else {
                throw TransferError(description: "the S3 object (\(info.size) bytes, checksum \(info.checksumSHA256 ?? "none")) does not match the download: Twilio's copy is kept")
            }
            try await twilio.deleteRecording(sid: job.recordingSid)
            job.cleanupPending = false
            job.twilioDeleted = true
            job.attempts = 0
            logger.info("Twilio copy deleted", metadata: ["recording_sid": "\(job.recordingSid)"])
        } catch {
            job.attempts += 1
            job.lastError = Redaction.message(error)
            job.nextAttemptAt = now().addingTimeInterval(configuration.transferDelay(afterAttempts: job.attempts))
            logger.warning("Twilio copy not deleted", metadata: ["recording_sid": "\(job.recordingSid)", "error": "\(job.lastError ?? "")"])
        }
        return job
    }

    /// The job id names no Airtable record: the recordings stay stored and are reported.
    private func unmatched(_ original: [RecordingJob], jobID: String) async -> [RecordingJob] {
        var jobs = original
        let reason = "no record in \(configuration.airtable.table) has \(configuration.airtable.jobIdField) = \(jobID)"
        for index in jobs.indices {
            jobs[index].lastError = reason
            if jobs[index].state == .stored {
                jobs[index].state = .unmatched
            } else {
                jobs[index].pendingLineWritten = true  // no record to write it to; the transfer goes on
            }
        }
        metrics.history("unmatched", count: jobs.count)
        await alerts.raise("unmatched", "\(jobs.count) recording(s) for job \(jobID) kept unlinked: \(reason)",
                           details: ["job_id": jobID, "recording_sids": jobs.map(\.recordingSid).joined(separator: ",")])
        return jobs
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
            if ["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "NoSuchBucket"].contains(error.code) {
                problems.append("s3: \(error.description)")
            }
        } catch {
            problems.append("s3: \(Redaction.message(error))")
        }
        return problems
    }

    /// What the history links: the public URL, or a presigned URL valid for `signed_url_ttl`.
    public func objectLink(_ key: String) -> String {
        configuration.recordings.publicUrl
            ? s3.objectURL(bucket: configuration.bucket, key: key).absoluteString
            : s3.presignedGetURL(bucket: configuration.bucket, key: key, expires: configuration.recordings.signedUrlTtl.seconds).absoluteString
    }

    // MARK: Sweep

    /// Alerts that are about the queue, not one step: too many lines waiting, lines overdue,
    /// completed calls whose recording never called back. Also refreshes the queue gauges.
    public func sweep(state: SweepState) async {
        do {
            let counts = try await store.countsByState()
            metrics.queueDepth(counts)
            let waiting = counts[.stored] ?? 0
            if waiting > configuration.alerts.historyQueueThreshold {
                if !state.queueAlerted.exchange(true) {
                    await alerts.raise("history_queue", "\(waiting) recordings wait for their history line (threshold \(configuration.alerts.historyQueueThreshold))",
                                       details: ["waiting": String(waiting)])
                }
            } else {
                _ = state.queueAlerted.exchange(false)
            }
            let window = TimeInterval(configuration.recordings.historyRetryWithin.seconds)
            let overdue = try await store.overdueHistoryCount(receivedBefore: now().addingTimeInterval(-window))
            if overdue > 0, !state.overdueAlerted.exchange(true) {
                await alerts.raise("history_overdue", "\(overdue) recordings are stored but still not linked after \(configuration.recordings.historyRetryWithin)",
                                   details: ["overdue": String(overdue)])
            } else if overdue == 0 {
                _ = state.overdueAlerted.exchange(false)
            }
            // A step that makes no progress (the worker is alive, its claim is renewed, but nothing
            // comes back) must be seen: once a limiter bug froze every history write silently.
            let stalled = try await store.stalledHistory(claimedBefore: now().addingTimeInterval(-configuration.historyStallAfter), now: now())
            metrics.historyStalled(stalled.count, oldestSeconds: stalled.map { now().timeIntervalSince($0.since) }.max() ?? 0)
            if !stalled.isEmpty, !state.stallAlerted.exchange(true) {
                let oldest = stalled[0]
                await alerts.raise("history_stalled", "\(stalled.count) history step(s) made no progress for over \(Int(configuration.historyStallAfter)) s (job \(oldest.jobID), held by \(oldest.owner) since \(ISO8601DateFormatter().string(from: oldest.since)))",
                                   details: ["stalled": String(stalled.count), "job_id": oldest.jobID, "owner": oldest.owner])
            } else if stalled.isEmpty {
                _ = state.stallAlerted.exchange(false)
            }
            let grace = TimeInterval(configuration.alerts.missingRecordingAfter.seconds)
            for call in try await store.takeCallsMissingRecordings(completedBefore: now().addingTimeInterval(-grace)) {
                await alerts.raise("missing_recording", "call \(call.callSid) completed without a recording callback",
                                   details: ["call_sid": call.callSid, "job_id": call.jobID ?? ""])
            }
        } catch {
            logger.error("sweep failed: \(Redaction.message(error))")
        }
    }
}

/// What the sweep remembers between runs, so an alert fires when a condition starts, not on
/// every sweep while it lasts.
public final class SweepState: Sendable {
    let queueAlerted = Locked(false)
    let overdueAlerted = Locked(false)
    let stallAlerted = Locked(false)

    public init() {}
}
