import Foundation
import Twilio

/// The pipeline's durable memory: every accepted callback, every job's state, and the claims
/// that keep two workers off the same step.
///
/// A claim is a lease written in the store (`claimed_until`), never an in-memory lock, so a
/// crashed worker's claim simply expires and several replicas could share one store. History
/// appends for one job are claimed one batch at a time: two writers never read-modify-write the
/// same Airtable record at once.
public protocol JobStore: Sendable {
    /// Stores a recording callback durably; false when this `RecordingSid` was already stored
    /// (a duplicate changes nothing).
    func accept(_ callback: RecordingCallback, at now: Date) async throws -> Bool

    /// Upserts what the voice webhook learned; a job id already known is kept unless `jobID` is set.
    func recordCall(_ call: CallRecord) async throws
    func setCallStatus(callSid: String, status: CallStatus, at now: Date) async throws
    func call(_ callSid: String) async throws -> CallRecord?

    /// Claims the next due piece of work for `owner` until `now + lease`, or nil.
    func claim(owner: String, now: Date, lease: TimeInterval) async throws -> Work?
    /// Commits jobs after a step and releases their claims: only rows `owner` still holds, so a
    /// step whose lease another replica took over, or whose job was requeued meanwhile, changes
    /// nothing (its side effects are idempotent, and the step runs again).
    func commit(_ jobs: [RecordingJob], owner: String) async throws
    /// Extends `owner`'s claims on these recordings to `until` (a long step keeps its lease);
    /// returns how many it still held.
    func renew(_ recordingSids: [String], owner: String, until: Date) async throws -> Int
    /// Takes a job's history for `owner` as a history step does (through one of the job's
    /// recordings), so no worker writes that record meanwhile. Returns the recording held (give
    /// it back with `release`), or nil while someone else holds the job's history.
    func holdHistory(jobID: String, owner: String, now: Date, lease: TimeInterval) async throws -> String?
    /// Names the job of an unmatched, stored recording (and of its call) and sends it to the
    /// history step: the runbook's "calls without a job", resolved by a person. False unless the
    /// recording is unmatched with its object stored.
    func assign(_ recordingSid: String, jobID: String, at now: Date) async throws -> Bool
    /// Gives back `owner`'s claims on these recordings.
    func release(_ recordingSids: [String], owner: String) async throws
    /// Releases every claim `owner` holds: a restarted replica resumes its own work at once.
    func releaseClaims(owner: String) async throws -> Int

    func job(_ recordingSid: String) async throws -> RecordingJob?
    func jobs(in states: Set<RecordingJob.State>, limit: Int) async throws -> [RecordingJob]
    func countsByState() async throws -> [RecordingJob.State: Int]
    /// Stored jobs still without their line, received before `date`.
    func overdueHistoryCount(receivedBefore date: Date) async throws -> Int

    /// Completed calls with no recording (no callback, or only Twilio's "absent"/"failed"), ended
    /// before `date`, not reported yet; each is marked reported as it is returned.
    func takeCallsMissingRecordings(completedBefore date: Date) async throws -> [CallRecord]

    /// Jobs whose recording SID, call SID or job id is `identifier`.
    func jobs(matching identifier: String) async throws -> [RecordingJob]
    /// Jobs received since `date`, every state (for status and the operations page).
    func jobs(receivedSince date: Date) async throws -> [RecordingJob]
    /// Calls whose job stayed unknown, started since `date`.
    func unmatchedCalls(since date: Date) async throws -> [CallRecord]
    /// Puts a job back to be worked on from `state` at once (reconcile, the retry button); a step
    /// in flight on it loses its claim, and with it its commit.
    func requeue(_ recordingSid: String, as state: RecordingJob.State, at now: Date) async throws -> Bool

    /// History steps still holding their claim (renewed: the worker is alive) that were claimed
    /// before `date`: a step that makes no progress (`history_stalled`).
    func stalledHistory(claimedBefore date: Date, now: Date) async throws -> [StalledStep]

    /// Whether a write transaction can be taken now (readiness).
    func isWritable() async -> Bool
}

/// A history step that has held its job's claim for too long.
public struct StalledStep: Sendable, Equatable {
    public var jobID: String
    public var owner: String
    public var since: Date

    public init(jobID: String, owner: String, since: Date) {
        self.jobID = jobID
        self.owner = owner
        self.since = since
    }
}

/// One claimed step.
public enum Work: Sendable, Equatable {
    /// Download from Twilio and upload to S3.
    case transfer(RecordingJob)
    /// Append the due lines (URL lines and pending lines) of one job's recordings, in one
    /// read-modify-write of its record.
    case history(jobID: String, [RecordingJob])
    /// Delete the Twilio copy of a linked recording whose S3 object is confirmed.
    case cleanup(RecordingJob)

    /// The recordings the step holds claims on.
    public var recordingSids: [String] {
        switch self {
        case .transfer(let job), .cleanup(let job): [job.recordingSid]
        case .history(_, let jobs): jobs.map(\.recordingSid)
        }
    }
}
