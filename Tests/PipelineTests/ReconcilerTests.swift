import AWS
import Foundation
import Pipeline
import RecopsTesting
import Testing
import Twilio

/// A made-up outage: callbacks lost while the service was down, an object deleted and a line
/// erased behind its back. Reconcile finds each; a repair heals each exactly once.
@Suite struct ReconcilerTests {
    @Test func anOutageIsFoundAndHealedExactlyOnce() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                let (kept, _) = try await fixture.recordedCall(job: "J-1001")
                let (deleted, _) = try await fixture.recordedCall(job: "J-1002")
                let (erased, _) = try await fixture.recordedCall(job: "J-1003")
                _ = try await fixture.settle(expecting: 3)

                // The outage: two calls named their job, recorded, and their callbacks never arrived.
                var lost: [String] = []
                for job in ["J-1001", "J-1002"] {
                    let callSid = PipelineFixture.callSid()
                    _ = try await fixture.post("/api/twilio/voice", [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: callSid), (name: "JobId", value: job)])
                    lost.append(await sandbox.state.addRecording(callSid: callSid, duration: 4).sid)
                }
                // Behind the service's back: one object deleted, one line erased.
                let deletedKey = try #require(try await fixture.store.job(deleted)?.objectKey)
                _ = try await AWSCLI(moto: moto).run(["s3api", "delete-object", "--bucket", PipelineFixture.bucket, "--key", deletedKey])
                let airtable = sandbox.airtable()
                let record = try #require(try await airtable.findRecord(base: sandbox.seed.baseID, table: "Jobs", field: "Job ID", equals: "J-1003"))
                try await airtable.updateRecord(base: sandbox.seed.baseID, table: "Jobs", id: record.id, fields: ["job_history": .string("")])

                let reconciler = fixture.assembled.reconciler()
                let report = try await reconciler.run(since: nil, until: nil, repair: false)
                #expect(report.checked == 5)
                let problems = Dictionary(uniqueKeysWithValues: report.missing.map { ($0.recordingSid, $0.problem) })
                #expect(problems == [lost[0]: .notReceived, lost[1]: .notReceived, deleted: .notStored, erased: .notLinked])
                #expect(problems[kept] == nil)
                #expect(report.text.hasSuffix("4 of 5 recordings need attention."))

                let repair = try await reconciler.run(since: nil, until: nil, repair: true)
                #expect(repair.findings.filter(\.queued).count == 4)
                _ = try await fixture.settle(expecting: 5)
                let after = try await reconciler.run(since: nil, until: nil, repair: true)
                #expect(after.missing.isEmpty, "\(after.text)")
                #expect(after.findings.filter(\.queued).isEmpty)

                // Exactly once: one line per recording, the lost ones under their jobs.
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1001")).count == 2)
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1002")).count == 2)
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1003")).count == 1)
                #expect(try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: deletedKey) != nil)
                for sid in lost {
                    #expect(try await fixture.store.job(sid)?.state == .linked)
                }
            }
        }
    }

    @Test func workStuckPastTheRetryWindowIsOverdueAndObjectsMustBeEncryptedAsDeclared() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                // A one-second retry window, and no worker yet: the callbacks wait in the store.
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(historyRetryWithin: .seconds(1)), runWorker: false)
                let (waiting, _) = try await fixture.recordedCall(job: "J-1001")
                let reconciler = fixture.assembled.reconciler()
                let fresh = try await reconciler.run(since: nil, until: nil, repair: false)
                #expect(fresh.missing.isEmpty && fresh.findings.map(\.problem) == [.inProgress])
                #expect(fresh.text.hasSuffix("Nothing missing of 1 recordings; 1 still on their way to S3 or the history."))
                fixture.clock.advance(by: 2)  // past the one-second retry window
                let late = try await reconciler.run(since: nil, until: nil, repair: true)
                #expect(late.missing.map(\.problem) == [.overdue] && late.findings.first?.queued == true, "\(late.text)")
                #expect(late.findings.first?.recordingSid == waiting)

                // Stored and linked, then re-encrypted behind the service's back: not as declared.
                for _ in 0..<4 where try await fixture.step() == nil { break }
                let key = try #require(try await fixture.store.job(waiting)?.objectKey)
                #expect(try await fixture.store.job(waiting)?.state == .linked)
                #expect(try await reconciler.run(since: nil, until: nil, repair: false).missing.isEmpty)
                let declared = fixture.pipeline.configuration.encryption.algorithm
                let other = declared == "AES256" ? "aws:kms" : "AES256"
                _ = try await AWSCLI(moto: moto).run(["s3api", "copy-object", "--bucket", PipelineFixture.bucket, "--key", key,
                                                      "--copy-source", "\(PipelineFixture.bucket)/\(key)", "--server-side-encryption", other])
                let report = try await reconciler.run(since: nil, until: nil, repair: false)
                #expect(report.missing.map(\.problem) == [.notEncrypted], "\(report.text)")
                #expect(report.missing.first?.detail.contains("the spec says \(declared)") == true)
            }
        }
    }

    /// keep_in_twilio_days: reconcile lists Twilio's copies past it, whatever the window, and a
    /// repair deletes only those stored and linked (through the clean-up step). A copy whose line
    /// was erased is kept until the line is back; an unmatched one is kept.
    @Test func twilioCopiesPastTheirRetentionGoOnlyOnceStoredAndLinked() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(adjust: { $0.recording.keepInTwilioDays = 30 }))
                let (linked, _) = try await fixture.recordedCall(job: "J-1001")
                let (lineErased, _) = try await fixture.recordedCall(job: "J-1002")
                let (unmatched, _) = try await fixture.recordedCall(job: nil)
                _ = try await fixture.settle(expecting: 3)
                let airtable = sandbox.airtable()
                let record = try #require(try await airtable.findRecord(base: sandbox.seed.baseID, table: "Jobs", field: "Job ID", equals: "J-1002"))
                try await airtable.updateRecord(base: sandbox.seed.baseID, table: "Jobs", id: record.id, fields: ["job_history": .string("")])

                let reconciler = fixture.assembled.reconciler()
                let fresh = try await reconciler.run(since: nil, until: nil, repair: false)
                #expect(fresh.pastRetention == 0 && !fresh.findings.contains { $0.problem.isRetention })

                fixture.clock.advance(by: 31 * 86_400)
                let report = try await reconciler.run(since: "2000-01-01", until: "2000-01-02", repair: false)  // a window holding none of them
                #expect(report.checked == 0 && report.pastRetention == 3)
                let problems = Dictionary(uniqueKeysWithValues: report.findings.map { ($0.recordingSid, $0.problem) })
                #expect(problems == [linked: .pastTwilioRetention, lineErased: .pastTwilioRetentionKept, unmatched: .pastTwilioRetentionKept])
                #expect(report.findings.first { $0.recordingSid == lineErased }?.detail.contains("no line for it in the history") == true)
                #expect(report.findings.first { $0.recordingSid == unmatched }?.detail.contains("it is unmatched, not linked") == true)
                #expect(report.text.hasSuffix("Twilio holds 3 recordings older than keep_in_twilio_days: 1 stored and linked (--repair deletes them), 2 kept."), "\(report.text)")
                #expect(await sandbox.state.recordings.count == 3, "a report deletes nothing")

                let repair = try await reconciler.run(since: nil, until: nil, repair: true)
                #expect(repair.findings.filter(\.queued).map(\.recordingSid).sorted() == [linked, lineErased].sorted(), "\(repair.text)")
                // The clean-up step deletes the linked one; the erased line is written again.
                try await eventually { await sandbox.state.recordings.contains { $0.sid == linked } ? nil : true }
                try await eventually { try await fixture.store.job(linked)?.twilioDeleted == true ? true : nil }
                try await eventually { try await fixture.history("J-1002").contains(RecordingLayout.marker(forKey: try await fixture.store.job(lineErased)?.objectKey ?? "?")) ? true : nil }

                // Its line back, the second one may go too; the unmatched one stays.
                let again = try await reconciler.run(since: nil, until: nil, repair: true)
                #expect(again.findings.first { $0.recordingSid == lineErased }?.problem == .pastTwilioRetention)
                try await eventually { await sandbox.state.recordings.contains { $0.sid == lineErased } ? nil : true }
                let last = try await reconciler.run(since: nil, until: nil, repair: false)
                #expect(last.pastRetention == 1 && last.findings.filter(\.problem.isRetention).map(\.recordingSid) == [unmatched])
                #expect(await sandbox.state.recordings.map(\.sid) == [unmatched])
                // The objects stay where they were: only Twilio's copies went.
                for sid in [linked, lineErased] {
                    let key = try #require(try await fixture.store.job(sid)?.objectKey)
                    #expect(try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: key) != nil)
                }
            }
        }
    }

    @Test func statusAndFreshLinksReadTheStore() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                let callSid = PipelineFixture.callSid()
                let (sid, _) = try await fixture.recordedCall(job: "J-1002", callSid: callSid)
                try await fixture.recordedCall(job: nil)
                let settled = try await fixture.settle(expecting: 2)

                let now = Date()
                let status = try await PipelineStatus.collect(store: fixture.store, now: now, bucket: PipelineFixture.bucket, s3: fixture.s3,
                                                              iam: IAMClient(aws: moto.client()), user: "recording-pipeline")
                #expect(status.received == 2 && status.linked == 1)
                #expect(status.successRate == 0.5)
                #expect(status.unmatchedRecordings.count == 1)
                #expect(status.latency(percentile: 95) != nil)
                // Clock hours, the current one last; each recording counted in the hour it arrived.
                let hourOf = { (date: Date) in (date.timeIntervalSince1970 / 3600).rounded(.down) * 3600 }
                #expect(status.hours.count == 24 && status.hours.last?.start.timeIntervalSince1970 == hourOf(now))
                let counted = Dictionary(uniqueKeysWithValues: status.hours.filter { $0.recordings > 0 }.map { ($0.start.timeIntervalSince1970, $0.recordings) })
                #expect(counted == Dictionary(grouping: settled) { hourOf($0.receivedAt) }.mapValues(\.count))
                guard case .success(let storage) = status.storage else { Issue.record("storage not counted"); return }
                #expect(storage.objects == 2)
                #expect(status.text.contains("Queue: received 0, upload_pending 0, stored 0, linked 1, unmatched 1"))
                #expect(status.json["success_rate"] == .number(0.5))

                // A fresh link for the call, and on request a second line carrying it.
                let links = fixture.assembled.recordingLinks()
                let found = try await links.links(for: callSid)
                #expect(found.map(\.job.recordingSid) == [sid])
                fixture.clock.advance(by: 1.1)  // a new signing second: a new URL
                let fresh = try #require(try await links.links(for: "J-1002").first)
                #expect(fresh.url != found[0].url)
                // While a worker holds J-1002's history, the command waits its turn.
                let held = try #require(try await fixture.store.takeHistory(jobID: "J-1002", owner: "worker", lease: 60))
                #expect(try await fixture.store.takeHistory(jobID: "J-1002", owner: "other", lease: 60) == nil)
                let appending = Task { try await links.appendLine(for: fresh.job, url: fresh.url) }
                try await Task.sleep(for: .milliseconds(600))
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1002")).count == 1)
                try await fixture.store.releaseHistory(held)
                try await appending.value
                let lines = try PipelineFixture.urlLines(try await fixture.history("J-1002"))
                #expect(lines.count == 2 && lines.last == fresh.url)
                await #expect(throws: RecordingLinks.NotFound.self) { _ = try await links.links(for: "J-4242") }
            }
        }
    }
}
