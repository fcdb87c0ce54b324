import AWS
import Foundation
import Pipeline
import RecopsTesting
import Testing
import Transport
import Twilio

/// `recordings erase` against real servers: moto (versioning, Object Lock) and the sandbox
/// (Twilio's copies and call records, the Airtable history). The worker that erases is the
/// fixture's own, the one `serve` runs.
@Suite struct ErasureTests {
    static let key = "erasure-tests-privacy-key-0123456789abcdef"
    static let caller = "+14155550111"

    static func index(_ key: String = ErasureTests.key, previous: [String] = []) -> CallerIndex {
        CallerIndex(current: try! CallerIndex.Key(key), previous: previous.map { try! CallerIndex.Key($0) })
    }

    static func indexed(stable: Bool) -> PipelineFixture.Overrides {
        .init(adjust: { configuration in
            configuration.callers = index()
            if stable { configuration.history.links = .stable }
        })
    }

    /// Waits, as the command does, for the fixture's worker to finish the erasures.
    static func worker(_ fixture: PipelineFixture) -> @Sendable ([String]) async throws -> Bool {
        { [store = fixture.store] sids in
            try await eventually {
                for sid in sids where try await store.job(sid)?.state == .erasing { return nil as Bool? }
                return true
            }
        }
    }

    static func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!).year().month().day())
    }

    @Test func anErasureByCallerRemovesEveryCopyAndLeavesEveryOtherCharacter() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: Self.indexed(stable: true))
                let bucket = PipelineFixture.bucket
                try await fixture.s3.putVersioning(bucket, enabled: true)
                try await fixture.s3.enableObjectLock(bucket)
                let (first, _) = try await fixture.recordedCall(job: "J-1001", from: Self.caller)
                let (second, _) = try await fixture.recordedCall(job: "J-1002", from: Self.caller)
                let (someoneElse, _) = try await fixture.recordedCall(job: "J-1001", from: "+14155550222")
                let (held, _) = try await fixture.recordedCall(job: "J-1003", from: Self.caller)
                let (third, _) = try await fixture.recordedCall(job: "J-1002", from: Self.caller)
                _ = try await fixture.settle(expecting: 5)
                let store = fixture.store
                let firstJob = try #require(try await store.job(first))
                let firstKey = try #require(firstJob.objectKey)
                // A second version of the first recording's object: every version must go.
                _ = try await fixture.s3.putObject(bucket: bucket, key: firstKey, body: Data("older copy".utf8), contentType: "audio/mpeg", encryption: nil)
                #expect(try await fixture.s3.versions(bucket: bucket, key: firstKey).count == 2)
                _ = try await fixture.assembled.recordingHolds().set(.recording(held), on: true)

                // The office writes around recops's lines.
                let notes = "\r\nNote: caf\u{65}\u{301} customer asked to be called back 👍  \r\n\nOffice: see the line above  "
                let table = try #require(await sandbox.state.table(sandbox.seed.tableName))
                let before = try await fixture.history("J-1001") + notes
                await sandbox.state.setField(table: table, record: sandbox.seed.jobs[0].id, name: sandbox.seed.historyField, value: .string(before))
                let otherJobBefore = try await fixture.history("J-1002")
                let heldHistory = try await fixture.history("J-1003")
                let link = try #require(try await store.links(recordingSids: [first]).first).url(appURL: fixture.appURL)
                let open = { (url: String) in try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: URL(string: url)!)).status }
                #expect(try await open(link) == 302)

                // The dry run: exactly what would go, the held one apart, nothing changed.
                let erasure = fixture.assembled.recordingErasure()
                let plan = try await erasure.plan(.caller("+1 (415) 555-0111"))
                #expect(Set(plan.erase.map(\.job.recordingSid)) == [first, second, third])
                #expect(plan.held.map(\.recordingSid) == [held] && plan.done.isEmpty)
                let item = try #require(plan.erase.first { $0.job.recordingSid == first })
                #expect(item.versions == 2 && item.twilioCopy && item.link && item.historyLine)
                #expect(try await fixture.s3.versions(bucket: bucket, key: firstKey).count == 2)
                #expect(Array(try await fixture.history("J-1001").utf8) == Array(before.utf8))
                #expect(try await store.erasures(since: .distantPast, limit: 10).isEmpty)

                let result = try await erasure.erase(.caller("+1 415-555-0111"), reason: "GDPR ticket 42", work: Self.worker(fixture))
                #expect(Set(result.queued) == [first, second, third] && result.pending.isEmpty)
                #expect(Set(result.erased.map(\.recordingSid)) == [first, second, third] && result.plan.held.map(\.recordingSid) == [held])

                // S3: not one version or delete marker left; Twilio: no copy; the link: 410.
                for sid in [first, second, third] {
                    let key = try #require(try await store.job(sid)?.objectKey)
                    #expect(try await fixture.s3.versions(bucket: bucket, key: key).isEmpty)
                }
                let twilioLeft = Set(await sandbox.state.recordings.map(\.sid))
                #expect(twilioLeft.isDisjoint(with: [first, second, third]) && twilioLeft.isSuperset(of: [someoneElse, held]))
                #expect(try await open(link) == 410)

                // The history keeps its lines: only the URL part of recops's line changed.
                let erasedAt = try #require(try await store.job(first)?.erasedAt)
                let stamp = "<erased \(Self.day(erasedAt))>"
                let expected = before.replacingOccurrences(of: link, with: stamp)
                #expect(expected != before)
                #expect(Array(try await fixture.history("J-1001").utf8) == Array(expected.utf8))
                let secondLink = try #require(try await store.links(recordingSids: [second]).first).url(appURL: fixture.appURL)
                let thirdLink = try #require(try await store.links(recordingSids: [third]).first).url(appURL: fixture.appURL)
                let otherJobExpected = otherJobBefore.replacingOccurrences(of: secondLink, with: stamp).replacingOccurrences(of: thirdLink, with: stamp)
                #expect(otherJobExpected.components(separatedBy: stamp).count == 3)
                #expect(Array(try await fixture.history("J-1002").utf8) == Array(otherJobExpected.utf8))

                // The log: one line per recording, ids and what went, no number.
                let log = try await store.erasures(since: .distantPast, limit: 10)
                #expect(log.map(\.recordingSid).sorted() == [first, second, third].sorted())
                #expect(log.allSatisfy { $0.scope == .caller && $0.reason == "GDPR ticket 42" && $0.completedAt != nil && $0.objectKey != nil })
                let firstLine = try #require(log.first { $0.recordingSid == first })
                #expect(firstLine.outcome == "2 S3 version(s), Twilio's copy, the stable link, 1 history line URL(s)")
                let encoded = String(decoding: try JSONEncoder().encode(log), as: UTF8.self)
                #expect(!encoded.contains("5550111") && !encoded.contains(Self.caller))

                // The held recording survives the erasure and a lifecycle-style delete of its version.
                let heldKey = try #require(try await store.job(held)?.objectKey)
                let heldVersions = try await fixture.s3.versions(bucket: bucket, key: heldKey)
                #expect(heldVersions.count == 1)
                await #expect(throws: AWSError.self) {
                    try await fixture.s3.deleteVersion(bucket: bucket, key: heldKey, versionID: heldVersions[0].versionID)
                }
                #expect(try await fixture.s3.headObject(bucket: bucket, key: heldKey) != nil)
                #expect(Array(try await fixture.history("J-1003").utf8) == Array(heldHistory.utf8))
                #expect(try await store.job(held)?.state == .linked)

                // A second run is a no-op.
                let historyAfter = try await fixture.history("J-1001")
                let again = try await erasure.erase(.caller(Self.caller), reason: "again", work: Self.worker(fixture))
                #expect(again.queued.isEmpty && again.erased.isEmpty && again.pending.isEmpty)
                #expect(Set(again.plan.done.map(\.recordingSid)) == [first, second, third] && again.plan.held.map(\.recordingSid) == [held])
                #expect(try await store.erasures(since: .distantPast, limit: 10) == log)
                #expect(Array(try await fixture.history("J-1001").utf8) == Array(historyAfter.utf8))
            }
        }
    }

    /// The command queued the erasure and crashed; then a worker claimed it, erased the S3 part
    /// and crashed too. The service, restarted over the same store, finishes it.
    @Test func anErasureCutShortByCrashesResumesUntilComplete() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-erasure-\(UUID().uuidString)")
                let overrides = Self.indexed(stable: false)
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: overrides, directory: directory)
                let (sid, _) = try await fixture.recordedCall(job: "J-1002", from: Self.caller)
                _ = try await fixture.settle(expecting: 1)
                let job = try #require(try await fixture.store.job(sid))
                let key = try #require(job.objectKey)
                let line = try #require(try PipelineFixture.urlLines(try await fixture.history("J-1002")).first)
                fixture.stop()

                // Only the store now: the command's queueing, then a worker's claim, and nothing more.
                let crashed = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: overrides, directory: directory, runWorker: false)
                let queued = try await crashed.assembled.recordingErasure().erase(.call(job.callSid), reason: nil) { _ in false }
                #expect(queued.queued == [sid] && queued.pending.map(\.recordingSid) == [sid])
                #expect(try await crashed.store.erasures(since: .distantPast, limit: 10).map(\.completedAt) == [nil])
                let work = try #require(try await crashed.pipeline.scheduler.next())
                #expect(work.kind == .erasure && work.jobs.map(\.recordingSid) == [sid])
                // The unversioned bucket's one version ("null") goes, as the step's first part would.
                for version in try await crashed.s3.versions(bucket: PipelineFixture.bucket, key: key) {
                    try await crashed.s3.deleteVersion(bucket: PipelineFixture.bucket, key: key, versionID: version.versionID)
                }
                #expect(try await crashed.s3.headObject(bucket: PipelineFixture.bucket, key: key) == nil)
                crashed.stop()

                // Restarted: the worker frees its own claims and the erasure completes.
                let restarted = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: overrides, directory: directory)
                let erased = try await eventually { try await restarted.store.job(sid).flatMap { $0.state == .erased ? $0 : nil } }
                #expect(erased.note == "0 S3 version(s), Twilio's copy, 1 history line URL(s)")
                #expect(!(await sandbox.state.recordings.contains { $0.sid == sid }))
                let history = try await restarted.history("J-1002")
                let erasedAt = try #require(erased.erasedAt)
                #expect(!history.contains(line) && history.contains("URL: <erased \(Self.day(erasedAt))>"))
                let log = try await restarted.store.erasures(since: .distantPast, limit: 10)
                #expect(log.count == 1 && log[0].scope == .call && log[0].completedAt == erased.erasedAt)
                #expect(try await restarted.assembled.recordingErasure().plan(.recording(sid)).done.map(\.state) == [.erased])
            }
        }
    }

    /// Calls stored before the index existed are indexed from Twilio's call records; the
    /// number itself goes once the call has ended; a key rotation keeps every caller findable.
    @Test func theIndexIsFilledFromTwilioAndSurvivesAKeyRotation() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)  // no privacy key yet
                let endedCall = PipelineFixture.callSid()
                let (ended, _) = try await fixture.recordedCall(job: "J-1001", callSid: endedCall, from: Self.caller)
                let (running, _) = try await fixture.recordedCall(job: "J-1001", from: Self.caller)
                // A recording whose call Twilio no longer has a record of.
                let lostCall = PipelineFixture.callSid()
                let lost = await sandbox.state.addRecording(callSid: lostCall, duration: 5)
                _ = try await fixture.post("/api/twilio/recording", PipelineFixture.recordingCallback(account: sandbox.seed.accountSID, callSid: lostCall,
                                                                                                    recordingSid: lost.sid, start: lost.created, duration: 5))
                _ = try await fixture.settle(expecting: 3)
                let status = [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: endedCall), (name: "CallStatus", value: "completed"),
                              (name: "From", value: Self.caller), (name: "To", value: fixture.number)]
                #expect(try await fixture.post("/api/twilio/status", status).isSuccess)
                let endedRow = try #require(try await fixture.store.call(endedCall))
                #expect(endedRow.from == nil && endedRow.callerHash == nil, "the number goes when the call ends")
                let runningCall = try #require(try await fixture.store.job(running)).callSid
                #expect(try await fixture.store.call(runningCall)?.from == Self.caller)

                let oldIndex = Self.index()
                let backfill = CallerBackfill(store: fixture.store, twilio: sandbox.twilio(), callers: oldIndex)
                let result = try await backfill.run(rehash: false)
                #expect(result.fromStore == 1 && result.fromTwilio == 1 && result.notFound == [lostCall])
                #expect(Set(try await fixture.store.callSids(callerHashes: oldIndex.hashes(Self.caller))) == [endedCall, runningCall])
                let again = try await backfill.run(rehash: false)
                #expect(again.fromStore == 0 && again.fromTwilio == 0 && again.notFound == [lostCall], "only what is left")

                // Rotation: the old key stays a previous one until every call is hashed again.
                let rotated = Self.index("a-new-privacy-key-for-the-rotation-0123456789", previous: [Self.key])
                let found = try await RecordingSelector.caller(Self.caller).jobs(in: fixture.store, callers: rotated)
                #expect(Set(found.map(\.recordingSid)) == [ended, running])
                let rehashed = try await CallerBackfill(store: fixture.store, twilio: sandbox.twilio(), callers: rotated).run(rehash: true)
                #expect(rehashed.fromStore + rehashed.fromTwilio == 2)
                let newOnly = Self.index("a-new-privacy-key-for-the-rotation-0123456789")
                let afterRotation = try await RecordingSelector.caller(Self.caller).jobs(in: fixture.store, callers: newOnly)
                #expect(Set(afterRotation.map(\.recordingSid)) == [ended, running])
                #expect(try await RecordingSelector.caller("+14155550222").jobs(in: fixture.store, callers: newOnly).isEmpty)
                await #expect(throws: RecordingSelector.Refused.self) {
                    _ = try await RecordingSelector.caller(Self.caller).jobs(in: fixture.store, callers: nil)
                }
            }
        }
    }
}
