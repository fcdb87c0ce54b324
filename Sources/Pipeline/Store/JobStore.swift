import Foundation
import ServiceLifecycle
import Twilio

/// The pipeline's durable memory: every accepted callback, every job's row, and the claims that
/// keep two workers off the same step. Row operations only: which job goes first, how many rows
/// a step takes and which rows are eligible are the `Scheduler`'s and the `JobStateMachine`'s.
///
/// Claims are leases written in the store, never in-memory locks, so a crashed worker's claim
/// simply expires and several replicas can share one store:
/// - A **row claim** covers the rows of one step under one fencing token. Every commit, renewal
///   and release names the token, so a step whose lease was lost (taken over, or its job
///   requeued) can never overwrite a row someone else now holds.
/// - A **history claim** is a row of its own per job (job id → owner, token, expiry), taken
///   before a history step claims the job's rows and released after it: one writer per Airtable
///   record, whatever the engine's locking.
///
/// Leases and due times are judged by the store's clock (the database's, where there is one), so
/// replicas whose clocks differ cannot break them. Every error thrown is a `JobStoreError`.
///
/// A `Service`: an engine with a connection pool runs it in the service group; the default
/// `run()` just waits for shutdown.
public protocol JobStore: Service, LinkStore, PrivacyStore {
    // MARK: Callbacks and calls

    /// Inserts a recording callback if its `RecordingSid` is new; true when it changed the store.
    /// A "completed" callback for a recording first reported absent or failed makes it `received`.
    func accept(_ callback: RecordingCallback, at now: Date) async throws -> Bool
    /// Upserts what the voice webhook learned; a job id already known is kept unless `jobID` is
    /// set, and never moved once a recording of the call has its job.
    func recordCall(_ call: CallRecord) async throws
    /// Moves a call's status forward only (`CallStatus.mayMove(to:)`).
    func setCallStatus(callSid: String, status: CallStatus, at now: Date) async throws
    func call(_ callSid: String) async throws -> CallRecord?

    // MARK: Row claims

    /// Claims up to `limit` due rows matching any of `filters` (and `jobID`, when given), free
    /// or with an expired lease, in `order`, for `owner` until the store's now + `lease`, under
    /// one new token; nil when none is due.
    func claim(_ filters: [RowFilter], jobID: String?, order: ClaimOrder, limit: Int, owner: String, lease: TimeInterval) async throws -> RowClaim?
    /// Extends the claim's rows to the store's now + `lease`; returns how many it still holds.
    func renew(_ claim: RowClaim, lease: TimeInterval) async throws -> Int
    /// Writes `jobs` and frees their rows, only where the claim's token still holds; returns the
    /// recordings it wrote (the others were lost to a takeover or a requeue: their outcome is dropped).
    func commit(_ jobs: [RecordingJob], under claim: RowClaim) async throws -> Set<String>
    /// Frees the claim's rows, where its token still holds.
    func release(_ claim: RowClaim) async throws
    /// Frees every row and history claim `owner` holds: a restarted replica resumes its own work
    /// at once instead of waiting out its leases.
    func releaseClaims(owner: String) async throws -> Int

    // MARK: History claims

    /// Job ids with rows due for the history step (`filters`) that no one holds, and whose
    /// history no one holds, the longest due first.
    func jobsDue(_ filters: [RowFilter], limit: Int) async throws -> [String]
    /// Takes the job's history for `owner` until the store's now + `lease`, under a new token,
    /// when no one holds it or its lease ran out; nil otherwise (its own owner included: one
    /// replica runs several steps at once).
    func takeHistory(jobID: String, owner: String, lease: TimeInterval) async throws -> HistoryClaim?
    /// False when the claim was lost (expired and taken over, or released).
    func renewHistory(_ claim: HistoryClaim, lease: TimeInterval) async throws -> Bool
    func releaseHistory(_ claim: HistoryClaim) async throws
    /// History claims still held (renewed: the worker is alive) that were taken more than
    /// `seconds` ago by the store's clock: a step that makes no progress (`history_stalled`).
    func stalledHistory(heldLongerThan seconds: TimeInterval) async throws -> [StalledStep]

    // MARK: Airtable bookkeeping

    /// The Airtable record remembered for each of `jobIDs` (found by an earlier history step).
    func recordIDs(forJobs jobIDs: [String]) async throws -> [String: String]
    /// Remembers each job's record (replacing what was remembered).
    func rememberRecords(_ records: [String: String]) async throws
    /// Forgets the jobs' records (deleted in Airtable): their next lines look the job up again.
    func forgetRecords(jobIDs: [String]) async throws
    /// Counts one Airtable request in `month` ("2026-12", UTC), unless `limit` are counted
    /// already; returns the month's count including it, or nil when the limit held it back.
    /// One atomic statement, so replicas sharing the store never overspend together.
    func countAirtableRequest(month: String, limit: Int?) async throws -> Int?
    /// The requests counted in `month`.
    func airtableRequests(month: String) async throws -> Int

    // MARK: Replicas

    /// The AWS key a replica signs with (its id, never the secret), replacing its last report:
    /// `status` shows it, and `keys rotate --retire-old` waits until no live replica reports
    /// the key it is about to retire. `seenAt` comes from the store's clock.
    func reportSigningKey(owner: String, accessKeyID: String, source: String, expiration: Date?) async throws
    func signingKeys() async throws -> [SigningKeyReport]

    // MARK: A person's changes

    /// Names the job of an unmatched, stored recording (and of its call) and sends it to the
    /// history step. False unless the recording is unmatched with its object stored.
    func assign(_ recordingSid: String, jobID: String, at now: Date) async throws -> Bool
    /// Puts a job back to `state`, due now (reconcile, the retry button); a step in flight on it
    /// loses its claim, and with it its commit. Never a row queued for erasure or erased (false):
    /// a retry button pressed as an erasure is queued must not undo it.
    func requeue(_ recordingSid: String, as state: RecordingJob.State, at now: Date) async throws -> Bool
    /// Sends a linked recording whose Twilio copy is still there to the clean-up step, due now
    /// (`reconcile --repair` under the spec's `keep_in_twilio_days`). True when it is queued,
    /// now or already; false unless the job is linked and its copy not yet deleted.
    func queueTwilioCleanup(_ recordingSid: String, at now: Date) async throws -> Bool
    /// Completed calls with no recording (no callback, or only Twilio's "absent"/"failed"),
    /// ended before `date`, not reported yet; each is marked reported as it is returned.
    func takeCallsMissingRecordings(completedBefore date: Date) async throws -> [CallRecord]

    // MARK: Reading (status, reconcile, the operations page)

    func job(_ recordingSid: String) async throws -> RecordingJob?
    func jobs(in states: Set<RecordingJob.State>, limit: Int) async throws -> [RecordingJob]
    func countsByState() async throws -> [RecordingJob.State: Int]
    /// Stored jobs still without their line, received before `date`.
    func overdueHistoryCount(receivedBefore date: Date) async throws -> Int
    /// Jobs whose recording SID, call SID or job id is `identifier`, oldest first.
    func jobs(matching identifier: String) async throws -> [RecordingJob]
    /// Jobs received since `date`, every state, oldest first.
    func jobs(receivedSince date: Date) async throws -> [RecordingJob]
    /// Calls whose job stayed unknown, started since `date`.
    func unmatchedCalls(since date: Date) async throws -> [CallRecord]
    /// Rows under a live (unexpired) claim, by the replica holding them: who is working on what.
    func claimsByOwner() async throws -> [String: Int]

    /// Whether a write can be taken now (readiness).
    func isWritable() async -> Bool

    /// Returns when new work may be due (an engine that can be told, like PostgreSQL's
    /// LISTEN/NOTIFY, returns early), after `timeout` at the latest, or on cancellation.
    func waitForWork(upTo timeout: Duration) async
}

extension JobStore {
    /// Nothing to run: the store lives as long as the process. A pooled engine runs its pool here.
    public func run() async throws {
        try await gracefulShutdown()
    }

    /// Polling: nothing tells this engine's workers about new rows.
    public func waitForWork(upTo timeout: Duration) async {
        try? await Task.sleep(for: timeout)
    }
}

/// The order a claim takes due rows in.
public enum ClaimOrder: String, Sendable, CaseIterable {
    /// The longest due first (transfers, clean-ups).
    case due
    /// The oldest callback first (a job's history lines, in the order the calls came).
    case received
}
