import AWS
import Foundation
import Logging
import Twilio

/// Erases one recording queued by `recops recordings erase`: every S3 version (delete markers
/// too), Twilio's copy, its stable link (revoked: it answers 410), and the URL part of recops's
/// own line in the job's history (`URL: <erased 2026-12-01>`; every other character stays).
///
/// Each part is idempotent (a version already gone is not listed, Twilio answers 404 for a copy
/// already deleted, a link stays revoked, a line already erased no longer matches), so a step
/// cut short by a crash simply runs again, on whichever replica, until the row is `erased`.
/// A version under legal hold is refused by S3: the step fails, nothing else is touched, and it
/// is retried (slowly) until the hold is released or the erasure is given up by a person.
struct ErasureStep: Sendable {
    let store: any JobStore
    let s3: S3Client
    let twilio: TwilioClient
    let bucket: String
    let writer: HistoryWriter
    let layout: RecordingLayout
    let appURL: String
    let owner: String
    let now: @Sendable () -> Date
    let logger: Logger

    /// What a history line's URL part becomes.
    static func erasedURL(on day: Date) -> String {
        "<erased \(day.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!).year().month().day()))>"
    }

    func run(_ job: RecordingJob) async -> JobEvent {
        do {
            var removed: [String] = []
            if let key = job.objectKey {
                let versions = try await s3.versions(bucket: bucket, key: key)
                for version in versions {
                    do {
                        try await s3.deleteVersion(bucket: bucket, key: key, versionID: version.versionID)
                    } catch let error as AWSError where error.isAccessProblem && !version.isDeleteMarker {
                        if (try? await s3.legalHold(bucket: bucket, key: key, versionID: version.versionID)) == true {
                            throw StepFailure(.credentials, "\(key) is under legal hold: not erased (recops recordings hold --release, then it resumes)")
                        }
                        throw error
                    }
                }
                removed.append("\(versions.count) S3 version(s)")
            }
            if !job.twilioDeleted {
                try await twilio.deleteRecording(sid: job.recordingSid)  // 404: already gone
                removed.append("Twilio's copy")
            }
            let links = try await store.links(recordingSids: [job.recordingSid])
            if try await store.revokeLinks(recordingSids: [job.recordingSid], at: now()) > 0 || links.contains(where: { $0.revokedAt != nil }) {
                removed.append("the stable link")
            }
            if let jobID = job.jobID {
                let target = HistoryRelink.Target(job: job, url: Self.erasedURL(on: now()), replaces: links.map { $0.url(appURL: appURL) })
                let layout = layout
                let lines = try await HistoryClaimHolder(store: store, owner: owner).holding(jobID: jobID, wait: .seconds(60)) {
                    let done = try await writer.rewrite(jobID: jobID, knownRecordID: job.recordID) { history in
                        HistoryRelink.rewrite(history, targets: [target], layout: layout).text
                    }
                    return done.outcome == .missing ? 0 : HistoryRelink.rewrite(done.before, targets: [target], layout: layout).rewritten
                }
                removed.append("\(lines) history line URL(s)")
            }
            logger.notice("recording erased", metadata: ["recording_sid": "\(job.recordingSid)", "removed": "\(removed.joined(separator: ", "))"])
            return .erased(outcome: removed.joined(separator: ", "))
        } catch {
            let failure = StepFailure.classify(error)
            logger.warning("erasure not complete: it resumes", metadata: ["recording_sid": "\(job.recordingSid)", "error": "\(failure.message)"])
            return .erasureFailed(failure.kind, failure.message)
        }
    }
}
