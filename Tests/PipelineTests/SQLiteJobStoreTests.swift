import Foundation
import Pipeline
import Testing
import Twilio

/// The store's promises, on a real SQLite file: an accepted callback survives a reopen, claims
/// are leases that keep two workers apart and expire, and history claims are one per job.
@Suite struct SQLiteJobStoreTests {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func callback(_ n: Int, call: String? = nil) -> RecordingCallback {
        RecordingCallback(accountSid: "AC" + String(repeating: "a", count: 32), callSid: call ?? String(format: "CA%032d", n),
                          recordingSid: String(format: "RE%032d", n), status: "completed", duration: 9, startTime: start)
    }

    static func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("recops-store-\(UUID().uuidString)")
    }

    @Test func acceptedCallbacksAreKeptOnceAndSurviveReopening() async throws {
        let directory = Self.directory()
        do {
            let store = try SQLiteJobStore(directory: directory)
            #expect(try await store.accept(Self.callback(1), at: Self.start))
            #expect(try await !store.accept(Self.callback(1), at: Self.start.addingTimeInterval(5)))
            // "absent" first, then "completed" for the same recording: the recording exists after all.
            var absent = Self.callback(2)
            absent.status = "absent"
            #expect(try await store.accept(absent, at: Self.start))
            #expect(try await store.job(absent.recordingSid)?.state == .absent)
            #expect(try await store.accept(Self.callback(2), at: Self.start))
        }
        // A new process opening the same directory finds both, due now.
        let reopened = try SQLiteJobStore(directory: directory)
        let jobs = try await reopened.jobs(in: [.received], limit: 10)
        #expect(jobs.map(\.recordingSid) == [Self.callback(1).recordingSid, Self.callback(2).recordingSid])
        #expect(try await reopened.countsByState() == [.received: 2])
    }

    @Test func aClaimIsALeaseThatKeepsOthersOffUntilItExpiresOrIsReleased() async throws {
        let store = try SQLiteJobStore(directory: Self.directory())
        _ = try await store.accept(Self.callback(1), at: Self.start)
        let now = Self.start.addingTimeInterval(1)
        guard case .transfer(let job)? = try await store.claim(owner: "a", now: now, lease: 60) else {
            Issue.record("nothing to claim")
            return
        }
        #expect(try await store.claim(owner: "b", now: now.addingTimeInterval(59), lease: 60) == nil)
        // A long step renews its lease: still a's at 61; b's renewal of a claim it lacks holds nothing.
        #expect(try await store.renew([job.recordingSid], owner: "a", until: now.addingTimeInterval(62)) == 1)
        #expect(try await store.renew([job.recordingSid], owner: "b", until: now.addingTimeInterval(500)) == 0)
        #expect(try await store.claim(owner: "b", now: now.addingTimeInterval(61), lease: 60) == nil)
        // The lease ran out (a crashed worker): another replica takes the step over.
        #expect(try await store.claim(owner: "b", now: now.addingTimeInterval(63), lease: 60) == .transfer(job))
        // The first worker's late commit is ignored: the step is b's now.
        var late = job
        late.state = .stored
        try await store.commit([late], owner: "a")
        #expect(try await store.job(job.recordingSid)?.state == .received)
        // b restarts: its own claims are released at once, not after the lease.
        #expect(try await store.releaseClaims(owner: "b") == 1)
        #expect(try await store.claim(owner: "b", now: now.addingTimeInterval(64), lease: 60) != nil)
        // Someone presses "retry" while b's step runs: b's commit, when it comes, changes nothing.
        #expect(try await store.requeue(job.recordingSid, as: .received, at: now.addingTimeInterval(65)))
        try await store.commit([late], owner: "b")
        #expect(try await store.job(job.recordingSid)?.state == .received)
    }

    @Test func historyIsClaimedOneBatchPerJobAtATime() async throws {
        let store = try SQLiteJobStore(directory: Self.directory())
        var jobs: [RecordingJob] = []
        for n in 1...3 {
            _ = try await store.accept(Self.callback(n), at: Self.start)
            var job = try #require(try await store.job(Self.callback(n).recordingSid))
            job.jobID = n < 3 ? "J-1" : "J-2"
            job.state = .stored
            job.objectKey = "recordings/\(n).mp3"
            jobs.append(job)
        }
        for _ in jobs { _ = try await store.claim(owner: "setup", now: Self.start, lease: 1) }
        try await store.commit(jobs, owner: "setup")
        let now = Self.start.addingTimeInterval(1)
        guard case .history(let first, let batch)? = try await store.claim(owner: "a", now: now, lease: 60) else {
            Issue.record("no history claim")
            return
        }
        #expect(first == "J-1" && batch.count == 2)
        // While a holds J-1, b gets J-2, and then nothing: never a second writer on J-1's record.
        guard case .history(let second, let other)? = try await store.claim(owner: "b", now: now, lease: 60) else {
            Issue.record("no second claim")
            return
        }
        #expect(second == "J-2" && other.count == 1)
        #expect(try await store.claim(owner: "c", now: now, lease: 60) == nil)
    }

    @Test func completedCallsWithoutRecordingsAreReportedOnce() async throws {
        let store = try SQLiteJobStore(directory: Self.directory())
        try await store.recordCall(CallRecord(callSid: "CA1", from: nil, to: nil, jobID: "J-1", status: .ringing, startedAt: Self.start))
        try await store.recordCall(CallRecord(callSid: "CA2", from: nil, to: nil, jobID: nil, status: .ringing, startedAt: Self.start))
        try await store.setCallStatus(callSid: "CA1", status: .completed, at: Self.start.addingTimeInterval(60))
        try await store.setCallStatus(callSid: "CA2", status: .completed, at: Self.start.addingTimeInterval(60))
        _ = try await store.accept(Self.callback(9, call: "CA2"), at: Self.start)
        // Twilio's own "absent": there is no recording of that call either.
        try await store.recordCall(CallRecord(callSid: "CA3", from: nil, to: nil, jobID: "J-3", status: .ringing, startedAt: Self.start))
        try await store.setCallStatus(callSid: "CA3", status: .completed, at: Self.start.addingTimeInterval(60))
        var absent = Self.callback(10, call: "CA3")
        absent.status = "absent"
        _ = try await store.accept(absent, at: Self.start)
        #expect(try await store.takeCallsMissingRecordings(completedBefore: Self.start.addingTimeInterval(30)).isEmpty)
        let missing = try await store.takeCallsMissingRecordings(completedBefore: Self.start.addingTimeInterval(120))
        #expect(missing.map(\.callSid).sorted() == ["CA1", "CA3"])
        #expect(missing.first { $0.callSid == "CA1" }?.jobID == "J-1")
        #expect(try await store.takeCallsMissingRecordings(completedBefore: Self.start.addingTimeInterval(120)).isEmpty)
    }

    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// The store holds callers' numbers: private whatever the umask (022 made it world-readable),
    /// and a directory made looser by hand is narrowed again.
    @Test func theStoreIsPrivate() async throws {
        let directory = Self.directory()
        do {
            let store = try SQLiteJobStore(directory: directory)
            _ = try await store.accept(Self.callback(1), at: Self.start)
        }
        #expect(try Self.mode(directory.path) == 0o700)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasPrefix("recops.sqlite") {
            #expect(try Self.mode(directory.appendingPathComponent(name).path) & 0o077 == 0, "\(name)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory.appendingPathComponent("recops.sqlite").path)
        _ = try SQLiteJobStore(directory: directory)
        #expect(try Self.mode(directory.path) == 0o700)
        #expect(try Self.mode(directory.appendingPathComponent("recops.sqlite").path) == 0o600)
    }

    @Test func stalledHistoryStepsAreThoseHeldTooLong() async throws {
        let store = try SQLiteJobStore(directory: Self.directory())
        for n in 1...2 { _ = try await store.accept(Self.callback(n), at: Self.start) }
        // Both stored under J-1, so the next claim is their history step.
        var transfers: [RecordingJob] = []
        for _ in 1...2 {
            guard case .transfer(var job)? = try await store.claim(owner: "a", now: Self.start, lease: 60) else { Issue.record("no transfer"); return }
            job.jobID = "J-1"
            job.state = .stored
            transfers.append(job)
        }
        try await store.commit(transfers, owner: "a")
        guard case .history(let jobID, _)? = try await store.claim(owner: "a", now: Self.start, lease: 60) else { Issue.record("no history claim"); return }
        #expect(jobID == "J-1")
        // Held and renewed for ten minutes: stalled past a three-minute bound, not past an hour's.
        let later = Self.start.addingTimeInterval(600)
        _ = try await store.renew([Self.callback(1).recordingSid, Self.callback(2).recordingSid], owner: "a", until: later.addingTimeInterval(60))
        #expect(try await store.stalledHistory(claimedBefore: later.addingTimeInterval(-180), now: later) == [StalledStep(jobID: "J-1", owner: "a", since: Self.start)])
        #expect(try await store.stalledHistory(claimedBefore: later.addingTimeInterval(-3600), now: later).isEmpty)
        // A lease that ran out is no stall: the worker is gone, and the step will be taken over.
        #expect(try await store.stalledHistory(claimedBefore: later, now: later.addingTimeInterval(120)).isEmpty)
    }
}
