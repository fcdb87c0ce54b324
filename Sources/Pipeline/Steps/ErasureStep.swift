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

    /// Erases `jobs` (the due erasures of one job, or one recording without a job); one event
    /// each, in order. The copies go per recording; the history is rewritten once for all of them.
    func run(_ jobs: [RecordingJob]) async -> [JobEvent] {
        var removed: [String: [String]] = [:]
        var failed: [String: StepFailure] = [:]
        var links: [String: [RecordingLink]] = [:]
        for job in jobs {
            do {
                (removed[job.recordingSid], links[job.recordingSid]) = try await copies(of: job)
            } catch {
                failed[job.recordingSid] = StepFailure.classify(error)
            }
        }
        // The history last, once every copy of a recording is gone: its line then says so.
        let erasable = jobs.filter { failed[$0.recordingSid] == nil }
        if let jobID = erasable.first?.jobID {
            let now = now()
            let targets = erasable.map { job in
                HistoryRelink.Target(job: job, url: Self.erasedURL(on: now), replaces: (links[job.recordingSid] ?? []).map { $0.url(appURL: appURL) })
            }
            do {
                let layout = layout
                let counted = try await HistoryClaimHolder(store: store, owner: owner).holding(jobID: jobID, wait: .seconds(60)) {
                    let done = try await writer.rewrite(jobID: jobID, knownRecordID: erasable.compactMap(\.recordID).first) { history in
                        HistoryRelink.rewrite(history, targets: targets, layout: layout).text
                    }
                    return done.outcome == .missing ? nil : HistoryRelink.rewrite(done.before, targets: targets, layout: layout)
                }
                for job in erasable {
                    // A line found in the form recops wrote (rewritten now, or already erased: not found again).
                    let lines = counted.map { $0.notFound.contains(job.recordingSid) ? 0 : 1 } ?? 0
                    removed[job.recordingSid, default: []].append("\(lines) history line URL(s)")
                }
            } catch {
                for job in erasable { failed[job.recordingSid] = StepFailure.classify(error) }
            }
        }
        return jobs.map { job in
            if let failure = failed[job.recordingSid] {
                logger.warning("erasure not complete: it resumes", metadata: ["recording_sid": "\(job.recordingSid)", "error": "\(failure.message)"])
                return .erasureFailed(failure.kind, failure.message)
            }
            let outcome = (removed[job.recordingSid] ?? []).joined(separator: ", ")
            logger.notice("recording erased", metadata: ["recording_sid": "\(job.recordingSid)", "removed": "\(outcome)"])
            return .erased(outcome: outcome)
        }
    }

    /// Every S3 version, Twilio's copy and the stable link of one recording; what went, and its links.
    private func copies(of job: RecordingJob) async throws -> ([String], [RecordingLink]) {
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
        return (removed, links)
    }
}
