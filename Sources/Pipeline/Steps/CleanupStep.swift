import AWS
import Foundation
import Logging
import Twilio

/// Deletes Twilio's copy of a linked recording (spec: `delete_from_twilio_after_upload`), only
/// once the S3 object is confirmed: its size and SHA-256 as S3 reports them equal what was
/// downloaded.
struct CleanupStep: Sendable {
    let s3: S3Client
    let twilio: TwilioClient
    let bucket: String
    let logger: Logger

    func run(_ job: RecordingJob) async -> JobEvent {
        do {
            guard let key = job.objectKey, let info = try await s3.headObject(bucket: bucket, key: key) else {
                throw StepFailure(.missing, "the S3 object is missing: Twilio's copy is kept")
            }
            guard info.size == job.objectSize, let checksum = info.checksumSHA256, checksum == job.objectSHA256 else {
                throw StepFailure(.invalid, "the S3 object (\(info.size) bytes, checksum \(info.checksumSHA256 ?? "none")) does not match the download: Twilio's copy is kept")
            }
            try await twilio.deleteRecording(sid: job.recordingSid)
            logger.info("Twilio copy deleted", metadata: ["recording_sid": "\(job.recordingSid)"])
            return .twilioCopyDeleted
        } catch {
            let failure = StepFailure.classify(error)
            logger.warning("Twilio copy not deleted", metadata: ["recording_sid": "\(job.recordingSid)", "error": "\(failure.message)"])
            return .cleanupFailed(failure.kind, failure.message)
        }
    }
}
