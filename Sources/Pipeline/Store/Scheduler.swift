import Foundation

/// Which step runs next, and on which rows: the scheduling policy, the same whatever the store
/// engine. History first (it finishes work already stored, and Airtable is the scarcer
/// resource), then transfers, then clean-ups; the longest due first within each.
public struct Scheduler: Sendable {
    /// Lines of one job written in one read-modify-write of its record.
    public static let historyBatch = 50
    /// Jobs looked at per claim: one whose history another replica takes meanwhile is skipped.
    static let historyCandidates = 4

    let store: any JobStore
    let owner: String
    let lease: TimeInterval

    public init(store: any JobStore, owner: String, lease: TimeInterval) {
        self.store = store
        self.owner = owner
        self.lease = lease
    }

    /// Claims the next due step for this replica, or nil.
    public func next() async throws -> Work? {
        let history = JobStateMachine.eligibility(.history)
        for jobID in try await store.jobsDue(history, limit: Self.historyCandidates) {
            guard let held = try await store.takeHistory(jobID: jobID, owner: owner, lease: lease) else { continue }
            var rows: RowClaim?
            do {
                rows = try await store.claim(history, jobID: jobID, order: .received, limit: Self.historyBatch, owner: owner, lease: lease)
                // The record id found for an earlier recording of this job saves a lookup.
                if let claimed = rows, !claimed.jobs.contains(where: { $0.recordID != nil }),
                   let known = try await store.jobs(matching: jobID).first(where: { $0.jobID == jobID && $0.recordID != nil })?.recordID {
                    for index in claimed.jobs.indices { rows!.jobs[index].recordID = known }
                }
            } catch {
                // Given back at once: a claim left to expire would hold the job's lines for a lease.
                await giveBack(rows, held)
                throw error
            }
            guard let rows else {
                try await store.releaseHistory(held)  // another replica's transfer took the rows meanwhile
                continue
            }
            return .history(held, rows)
        }
        for kind in [StepKind.transfer, .cleanup] {
            if let rows = try await store.claim(JobStateMachine.eligibility(kind), jobID: nil, order: .due, limit: 1, owner: owner, lease: lease) {
                return kind == .transfer ? .transfer(rows) : .cleanup(rows)
            }
        }
        return nil
    }

    /// Keeps a step's claims a full lease ahead; false when any of them was lost.
    public func renew(_ work: Work) async throws -> Bool {
        var held = try await store.renew(work.rows, lease: lease) == work.rows.jobs.count
        if case .history(let claim, _) = work { held = try await store.renewHistory(claim, lease: lease) && held }
        return held
    }

    /// Writes a step's outcome under its claims, and gives the job's history back (even when the
    /// commit fails); returns the recordings written (the others were lost to a takeover or a requeue).
    public func finish(_ work: Work, with jobs: [RecordingJob]) async throws -> Set<String> {
        let written: Set<String>
        do {
            written = jobs.isEmpty ? [] : try await store.commit(jobs, under: work.rows)
            if jobs.count < work.rows.jobs.count { try await store.release(work.rows) }
        } catch {
            // The rows too: the step runs again at once, not after its lease.
            var history: HistoryClaim?
            if case .history(let claim, _) = work { history = claim }
            await giveBack(work.rows, history)
            throw error
        }
        if case .history(let claim, _) = work { try await store.releaseHistory(claim) }
        return written
    }

    /// Releases claims after a failure, in a task of its own: a store may refuse a cancelled
    /// task's writes (the shutdown bound cancels steps), and the claims must go back all the same.
    private func giveBack(_ rows: RowClaim?, _ history: HistoryClaim?) async {
        await Task { [store] in
            if let rows { try? await store.release(rows) }
            if let history { try? await store.releaseHistory(history) }
        }.value
    }

    /// Gives a step's claims back unchanged.
    public func abandon(_ work: Work) async throws {
        try await store.release(work.rows)
        if case .history(let claim, _) = work { try await store.releaseHistory(claim) }
    }
}
