import AWS
import Foundation
import Logging
import Twilio

/// Download from Twilio (streaming, to a private file under the data directory), the quality
/// check, the hash, and the upload to S3 under the job's key. Safe to repeat after a crash in
/// its middle: the key is a pure function of the job, and an object already there for this
/// recording is taken as this upload's.
struct TransferStep: Sendable {
    let store: any JobStore
    let twilio: TwilioClient
    let s3: S3Client
    let bucket: String
    let encryption: S3.Encryption
    let format: RecordingSettings.Format
    let dataDirectory: URL
    let layout: RecordingLayout
    let metrics: PipelineMetrics
    let logger: Logger

    /// What happened to `job`'s transfer.
    func run(_ job: RecordingJob) async -> JobEvent {
        let started = ContinuousClock.now
        let file = dataDirectory.appendingPathComponent("downloads/\(job.recordingSid).part")
        defer { try? FileManager.default.removeItem(at: file) }
        var jobID = job.jobID
        do {
            if jobID == nil { jobID = try await store.call(job.callSid)?.jobID }
            try PrivateFiles.directory(file.deletingLastPathComponent())
            let size = try await twilio.downloadRecording(mediaURL: twilio.recordingMediaURL(sid: job.recordingSid, format: format.rawValue), to: file)
            guard size > 0 else { throw StepFailure(.invalid, "Twilio answered an empty recording") }
            // Checked before upload, stored whatever it finds: audio is never lost to a check.
            var quality: String?
            if format == .mp3, let problem = MP3Probe.problem(file: file, expectedSeconds: job.duration) {
                quality = problem
                metrics.qualityFailure()
                logger.warning("recording failed the quality check; storing it anyway", metadata: ["recording_sid": "\(job.recordingSid)", "problem": "\(problem)"])
            }
            let digest = try S3Client.sha256(of: file)
            var keyed = job
            keyed.jobID = jobID
            let key = try await upload(file, sha256: digest, for: keyed)
            metrics.upload(.stored, duration: ContinuousClock.now - started)
            logger.info("recording stored", metadata: ["recording_sid": "\(job.recordingSid)", "key": "\(key)", "bytes": "\(size)"])
            return .stored(.init(key: key, size: size, sha256: digest.base64EncodedString(), jobID: jobID, qualityProblem: quality))
        } catch {
            let failure = StepFailure.classify(error)
            metrics.upload(.failed)
            logger.warning("recording transfer failed", metadata: ["recording_sid": "\(job.recordingSid)", "attempt": "\(job.attempts + 1)",
                                                                   "kind": "\(failure.kind.rawValue)", "error": "\(failure.message)"])
            return .transferFailed(failure.kind, failure.message, jobID: jobID)
        }
    }

    /// Writes with `If-None-Match: *`: an existing object is never overwritten. If the key is
    /// taken by this same recording (uploaded before a crash), that object is ours; if by another
    /// recording of the same call, the next suffix (`-2`, `-3`…) is tried.
    func upload(_ file: URL, sha256: Data, for job: RecordingJob) async throws -> String {
        for attempt in 1...20 {
            let key = layout.key(for: job, attempt: attempt)
            do {
                try await s3.putObject(bucket: bucket, key: key, file: file, sha256: sha256, contentType: "audio/mpeg",
                                       encryption: encryption, ifNoneMatch: true, metadata: ["recording-sid": job.recordingSid])
                return key
            } catch let error as AWSError where error.status == 412 {
                if try await s3.headObject(bucket: bucket, key: key)?.metadata["recording-sid"] == job.recordingSid {
                    return key
                }
            }
        }
        throw StepFailure(.invalid, "20 keys for call \(job.callSid) are taken by other recordings")
    }
}
