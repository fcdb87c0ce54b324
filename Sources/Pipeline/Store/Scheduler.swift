import Airtable
import Foundation

/// Which step runs next, and on which rows: the scheduling policy, the same whatever the store
/// engine. History first (it finishes work already stored, and Airtable is the scarcer
/// resource), then transfers, then clean-ups, then erasures; the longest due first within each.
public struct Scheduler: Sendable {
    /// Lines of one job written in one read-modify-write of its record.
    public static let historyBatch = 50
    /// Jobs whose lines go out together: Airtable's batch of records. A single due job goes
    /// alone at once; the scheduler batches what is due, it never waits for a batch to fill.
    public static let historyJobs = AirtableLimits.batchSize

    let store: any JobStore
    let owner: String
    let lease: TimeInterval
    /// Jobs per history step (`historyJobs`; 1 writes each job on its own, as before batching).
    let historyJobs: Int

    public init(store: any JobStore, owner: String, lease: TimeInterval, historyJobs: Int = Scheduler.historyJobs) {
        self.store = store
        self.owner = owner
        self.lease = lease
        self.historyJobs = max(1, min(Self.historyJobs, historyJobs))
    }

    /// Claims the next due step for this replica, or nil; with `history` false, only transfers
    /// and clean-ups (the replica runs as many history steps as it should already).
    public func next(history allowed: Bool = true) async throws -> Work? {
        if allowed, let work = try await nextHistory() { return work }
        for kind in [StepKind.transfer, .cleanup] {
            if let rows = try await store.claim(JobStateMachine.eligibility(kind), jobID: nil, order: .due, limit: 1, owner: owner, lease: lease) {
                return kind == .transfer ? .transfer(rows) : .cleanup(rows)
            }
        }
        return try await nextErasure()
    }

    /// The erasure due first, with the other due erasures of its job: erasing a caller's
    /// recordings of one job then costs one read and one write of its history, not two each
    /// (and the job's history claim is not fought over by several erasure steps).
    private func nextErasure() async throws -> Work? {
        let erasure = JobStateMachine.eligibility(.erasure)
        guard let first = try await store.claim(erasure, jobID: nil, order: .due, limit: 1, owner: owner, lease: lease) else { return nil }
        guard let jobID = first.jobs[0].jobID else { return .erasure([first]) }
        do {
            let rest = try await store.claim(erasure, jobID: jobID, order: .received, limit: Self.historyBatch - 1, owner: owner, lease: lease)
            return .erasure([first] + (rest.map { [$0] } ?? []))
        } catch {
            await giveBack([first], [])
            throw error
        }
    }

    /// The due lines of up to `historyJobs` jobs, each job's history claim taken first.
    private func nextHistory() async throws -> Work? {
        let history = JobStateMachine.eligibility(.history)
        var taken: [JobLines] = []
        do {
            // A few more candidates than the batch: a job another replica takes meanwhile is skipped.
            for jobID in try await store.jobsDue(history, limit: historyJobs + 4) where taken.count < historyJobs {
                guard let held = try await store.takeHistory(jobID: jobID, owner: owner, lease: lease) else { continue }
                let rows: RowClaim?
                do {
                    rows = try await store.claim(history, jobID: jobID, order: .received, limit: Self.historyBatch, owner: owner, lease: lease)
                } catch {
                    await giveBack([], [held])
                    throw error
                }
                guard let rows else {
                    try await store.releaseHistory(held)  // another replica's transfer took the rows meanwhile
                    continue
                }
                taken.append(JobLines(claim: held, rows: rows, recordID: nil))
            }
            if !taken.isEmpty {
                // The record found for an earlier recording of each job saves its lookup.
                let known = try await store.recordIDs(forJobs: taken.map(\.jobID))
                for index in taken.indices { taken[index].recordID = known[taken[index].jobID] }
                return .history(taken)
            }
        } catch {
            // Given back at once: a claim left to expire would hold the jobs' lines for a lease.
            await giveBack(taken.map(\.rows), taken.map(\.claim))
            throw error
        }
        return nil
    }

    /// Keeps a step's claims a full lease ahead; false when any of them was lost.
    public func renew(_ work: Work) async throws -> Bool {
        var held = true
        for rows in work.rowClaims {
            held = try await store.renew(rows, lease: lease) == rows.jobs.count && held
        }
        for claim in work.historyClaims {
            held = try await store.renewHistory(claim, lease: lease) && held
        }
        return held
    }

    /// Writes a step's outcome under its claims (each job's rows under its own), and gives the
    /// jobs' histories back (even when a commit fails); returns the recordings written (the
    /// others were lost to a takeover or a requeue).
    public func finish(_ work: Work, with jobs: [RecordingJob]) async throws -> Set<String> {
        var written: Set<String> = []
        do {
            for rows in work.rowClaims {
                let sids = Set(rows.recordingSids)
                let outcome = jobs.filter { sids.contains($0.recordingSid) }
                if !outcome.isEmpty { written.formUnion(try await store.commit(outcome, under: rows)) }
                if outcome.count < rows.jobs.count { try await store.release(rows) }
            }
        } catch {
            // The rows too: the step runs again at once, not after its lease.
            await giveBack(work.rowClaims, work.historyClaims)
            throw error
        }
        for claim in work.historyClaims { try await store.releaseHistory(claim) }
        return written
    }

    /// Releases claims after a failure, in a task of its own: a store may refuse a cancelled
    /// task's writes (the shutdown bound cancels steps), and the claims must go back all the same.
    private func giveBack(_ rows: [RowClaim], _ histories: [HistoryClaim]) async {
        await Task { [store] in
            for claim in rows { try? await store.release(claim) }
            for claim in histories { try? await store.releaseHistory(claim) }
        }.value
    }

    /// Gives a step's claims back unchanged.
    public func abandon(_ work: Work) async throws {
        for rows in work.rowClaims { try await store.release(rows) }
        for claim in work.historyClaims { try await store.releaseHistory(claim) }
    }
}
