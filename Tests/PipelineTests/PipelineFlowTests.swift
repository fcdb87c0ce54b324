import AWS
import Foundation
import Pipeline
import RecopsTesting
import Sandbox
import Testing
import Transport

/// Live flows: the service on a real port, moto for S3, the sandbox for Twilio and Airtable.
/// Outcomes are read from outside: moto's objects and the sandbox's records.
@Suite struct PipelineFlowTests {
    @Test func aCallIsRecordedStoredAndLinkedInItsJob() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                let report = try await fixture.call(job: "1001")  // keyed in after the prompt
                #expect(report.succeeded, "\(report.problems)")
                #expect(report.recordingChannels == "mono")
                let jobs = try await fixture.settle(expecting: 1)
                let job = try #require(jobs.first)
                #expect(job.state == .linked)
                #expect(job.jobID == "J-1001")

                // The history: the line already there, then exactly one line in the runbook's format.
                let history = try await fixture.history("J-1001")
                let lines = history.split(separator: "\n")
                #expect(lines.first == "---- | 2024-03-01 09:00:00 | Event: Created | Source: Office")
                let urls = try PipelineFixture.urlLines(history)
                #expect(lines.count == 2 && urls.count == 1, "\(history)")

                // The object: private bucket, declared encryption, MP3, under the date of the recording.
                let key = try #require(job.objectKey)
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = TimeZone(identifier: "UTC")!
                let day = calendar.dateComponents([.year, .month, .day], from: job.startTime)
                #expect(key == String(format: "recordings/%04d/%02d/%02d/%@-J-1001.mp3", day.year!, day.month!, day.day!, report.callSid))
                let info = try #require(try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: key))
                #expect(info.contentType == "audio/mpeg")
                #expect(info.serverSideEncryption == "AES256")
                #expect(info.metadata["recording-sid"] == report.recordingSid)

                // The link is presigned for 15 minutes and serves the very bytes Twilio held.
                let url = try #require(URL(string: urls[0]))
                #expect(url.path.hasSuffix(key))
                #expect(url.query?.contains("X-Amz-Expires=900") == true)
                let download = try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: url))
                #expect(download.status == 200)
                let original = FileManager.default.temporaryDirectory.appendingPathComponent("original-\(UUID().uuidString).mp3")
                defer { try? FileManager.default.removeItem(at: original) }
                let twilio = sandbox.twilio()
                _ = try await twilio.downloadRecording(mediaURL: twilio.recordingMediaURL(sid: report.recordingSid!), to: original)
                #expect(download.body == (try Data(contentsOf: original)))
                #expect(download.body.starts(with: [0xFF, 0xF3]))

                let metrics = fixture.metrics.text()
                #expect(metrics.contains("recops_callbacks_received_total{kind=\"recording\",result=\"accepted\"} 1"))
                #expect(metrics.contains("recops_uploads_total{result=\"stored\"} 1"))
                #expect(metrics.contains("recops_history_updates_total{result=\"linked\"} 1"))
                #expect(metrics.contains("recops_callback_to_history_seconds_count 1"))
            }
        }
    }

    @Test func aPublicURLSpecLinksThePlainObjectURL() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(publicURL: true))
                try await fixture.recordedCall(job: "J-1001")
                let job = try #require(try await fixture.settle(expecting: 1).first)
                let lines = try PipelineFixture.urlLines(try await fixture.history("J-1001"))
                #expect(lines == [fixture.s3.objectURL(bucket: PipelineFixture.bucket, key: job.objectKey!).absoluteString])
                #expect(!(lines.first?.contains("X-Amz-") ?? true))
            }
        }
    }

    @Test func duplicateCallbacksChangeNothing() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                let callSid = PipelineFixture.callSid()
                let (sid, first) = try await fixture.recordedCall(job: "J-1002", callSid: callSid)
                #expect(first.status == 204)
                let recording = try #require(await sandbox.state.recordings.first { $0.sid == sid })
                let callback = PipelineFixture.recordingCallback(account: sandbox.seed.accountSID, callSid: callSid, recordingSid: sid,
                                                                 start: recording.created, duration: 5)
                // Twilio retries: the same callback while the first is processed, and after.
                #expect(try await fixture.post("/api/twilio/recording", callback).status == 204)
                _ = try await fixture.settle(expecting: 1)
                #expect(try await fixture.post("/api/twilio/recording", callback).status == 204)
                try await Task.sleep(for: .milliseconds(300))
                let jobs = try await fixture.settle(expecting: 1)
                #expect(jobs.count == 1)
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1002")).count == 1)
                #expect(fixture.metrics.text().contains("recops_callbacks_received_total{kind=\"recording\",result=\"duplicate\"} 2"))
            }
        }
    }

    @Test(arguments: [10, 50])
    func manyRecordingsOfOneJobAtOnceGiveAsManyLines(_ count: Int) async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<count {
                        group.addTask {
                            let (_, response) = try await fixture.recordedCall(job: "J-1003")
                            #expect(response.status == 204)
                        }
                    }
                    try await group.waitForAll()
                }
                let jobs = try await fixture.settle(expecting: count, timeout: .seconds(60))
                #expect(jobs.allSatisfy { $0.state == .linked })
                let urls = try PipelineFixture.urlLines(try await fixture.history("J-1003"))
                #expect(urls.count == count)
                #expect(Set(urls.map { URL(string: $0)!.path }).count == count)
                #expect(Set(jobs.compactMap(\.objectKey)).count == count)
            }
        }
    }

    @Test func aJobIdCarryingFormulaSyntaxCannotChangeTheQuery() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                for hostile in [#"J-1001" OR TRUE() OR ""#, "J-1001' OR '1'='1", #"J-1001\"#, "}) & ({Job ID} = 'J-1001"] {
                    try await fixture.recordedCall(job: hostile)
                }
                let jobs = try await fixture.settle(expecting: 4)
                // Each was looked up as the literal text it is: no record has it.
                #expect(jobs.allSatisfy { $0.state == .unmatched }, "\(jobs.map { ($0.jobID ?? "", $0.state) })")
                #expect(try await fixture.history("J-1001") == "---- | 2024-03-01 09:00:00 | Event: Created | Source: Office")
                // And the keys carry none of it.
                #expect(jobs.allSatisfy { $0.objectKey?.range(of: #"^recordings/\d{4}/\d{2}/\d{2}/CA[0-9a-f]{32}-[A-Za-z0-9._-]+\.mp3$"#, options: .regularExpression) != nil })
            }
        }
    }

    @Test func aSecondRecordingOfTheSameCallNeverOverwritesTheFirst() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                // A key without the recording SID: two recordings of one call meet on it.
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(keyTemplate: "recordings/{yyyy}/{mm}/{dd}/{call_sid}.mp3"))
                let callSid = PipelineFixture.callSid()
                try await fixture.recordedCall(job: "J-1001", callSid: callSid)
                _ = try await fixture.settle(expecting: 1)
                try await fixture.recordedCall(job: "J-1001", callSid: callSid)
                let jobs = try await fixture.settle(expecting: 2).sorted { $0.receivedAt < $1.receivedAt }
                #expect(jobs[0].objectKey?.hasSuffix("/\(callSid).mp3") == true)
                #expect(jobs[1].objectKey?.hasSuffix("/\(callSid)-2.mp3") == true)
                for job in jobs {
                    let info = try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: job.objectKey!)
                    #expect(info?.metadata["recording-sid"] == job.recordingSid)
                }
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1001")).count == 2)
            }
        }
    }

    /// A history step that loses one of its rows to a requeue (the retry button) mid-step still
    /// commits the others, and tells a person about those, and only those.
    @Test func alertsFollowTheRowsACommitWrote() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let alerts = try await AlertReceiver()
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(alertWebhook: URL(string: alerts.url)!), runWorker: false)
                let first = try await fixture.recordedCall(job: "J-9999").recordingSid
                let second = try await fixture.recordedCall(job: "J-9999").recordingSid
                // Both stored first (transfers only), so one history step holds both.
                for _ in 0..<2 {
                    let claim = try #require(try await fixture.store.claim(JobStateMachine.eligibility(.transfer), jobID: nil, order: .due, limit: 1, owner: "test", lease: 60))
                    try await fixture.pipeline.perform(.transfer(claim))
                }
                let work = try #require(try await fixture.pipeline.scheduler.next())
                #expect(work.kind == .history && Set(work.jobs.map(\.recordingSid)) == [first, second])
                #expect(try await fixture.store.requeue(second, as: .stored, at: Date()))
                try await fixture.pipeline.perform(work)
                #expect(try await fixture.store.job(first)?.state == .unmatched)
                #expect(try await fixture.store.job(second)?.state == .stored, "the requeue won over the step's commit")
                let received = try await eventually { alerts.received.first { $0["alert"] == .string("unmatched") } }
                #expect(received["recording_sids"] == .string(first))
            }
        }
    }

    @Test func callsWithoutAKnownJobAreStoredKeptAndReported() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                // The caller never gives a known number; and a router names a job Airtable lacks.
                let report = try await fixture.call(job: "424242")
                #expect(report.succeeded, "\(report.problems)")
                try await fixture.recordedCall(job: "J-9999")
                let jobs = try await fixture.settle(expecting: 2)
                #expect(jobs.allSatisfy { $0.state == .unmatched })
                let noJob = try #require(jobs.first { $0.jobID == nil })
                #expect(noJob.objectKey?.hasSuffix("-unmatched.mp3") == true)
                #expect(try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: noJob.objectKey!) != nil)
                let missing = try #require(jobs.first { $0.jobID == "J-9999" })
                // A person must act, but nothing failed: a note, not an error.
                #expect(missing.note == "no record in Jobs has Job ID = J-9999" && missing.lastError == nil)
                #expect(try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: missing.objectKey!) != nil)
                // No row was created, no other job touched.
                let records = try await sandbox.dump()["airtable"]?["tables"]?.arrayValue?.first?["records"]?.arrayValue ?? []
                #expect(records.count == 3)
                #expect(fixture.metrics.text().contains("recops_alerts_total{kind=\"unmatched\"} 2"))

                // A person finds the job (`recops recordings link`): the recording's line is written once, in
                // the usual form; a job without a record is refused; a linked recording cannot be given again.
                let links = fixture.assembled.recordingLinks()
                await #expect(throws: RecordingLinks.NotFound.self) { _ = try await links.assign(noJob.recordingSid, to: "J-4242") }
                #expect(try await links.assign(noJob.callSid, to: "J-1003").map(\.recordingSid) == [noJob.recordingSid])
                let relinked = try await fixture.settle(expecting: 2)
                #expect(relinked.first { $0.recordingSid == noJob.recordingSid }?.state == .linked)
                let lines = try PipelineFixture.urlLines(try await fixture.history("J-1003"))
                #expect(lines.count == 1 && lines.first?.contains(noJob.objectKey!) == true)
                #expect(try await fixture.store.call(noJob.callSid)?.jobID == "J-1003")
                await #expect(throws: RecordingLinks.NotFound.self) { _ = try await links.assign(noJob.recordingSid, to: "J-1001") }
            }
        }
    }

    @Test func s3DownThenUpGivesThePendingLineThenTheURLLineOnce() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                // S3 answers nothing at first: the pipeline's S3 endpoint is a port kept bound, not listening.
                let reserved = ReservedPort()
                let deadPort = reserved.port
                let alerts = try await AlertReceiver()
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, s3Endpoint: URL(string: "http://127.0.0.1:\(deadPort)")!,
                                                        overrides: .init(alertWebhook: URL(string: alerts.url)!))
                let (sid, _) = try await fixture.recordedCall(job: "J-1002")
                // Three attempts, then the pending line.
                let pendingLine = try await eventually { () -> String? in
                    let history = try await fixture.history("J-1002")
                    return history.contains("Recording pending upload") ? history : nil
                }
                #expect(pendingLine.range(of: #"^---- \| \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \| Event: Recording \| Source: IVR \| Recording pending upload$"#, options: .regularExpression) != nil)
                let pending = try #require(try await fixture.store.job(sid))
                #expect(pending.state == .uploadPending)
                #expect(pending.attempts >= 3)
                #expect(pending.lastError?.contains("127.0.0.1:\(deadPort)") == true)
                let alert = try await eventually { alerts.received.first }
                #expect(alert["alert"] == .string("upload_pending"))
                #expect(alert["recording_sid"] == .string(sid))
                // `recops status` shows it pending, with its age and the error.
                let status = try await PipelineStatus.collect(store: fixture.store, now: Date(), bucket: PipelineFixture.bucket, s3: nil, iam: nil, user: nil)
                #expect(status.pending.map(\.job.recordingSid) == [sid])
                #expect(status.text.contains("  \(sid) call \(pending.callSid) job J-1002 upload_pending for "), "\(status.text)")
                #expect(status.text.contains("127.0.0.1:\(deadPort)"))
                // Not ready while S3 does not answer, and saying why.
                let ready = try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: fixture.baseURL.appendingPathComponent("readyz")))
                #expect(ready.status == 503 && String(decoding: ready.body, as: UTF8.self).contains("s3: could not connect to http://127.0.0.1:\(deadPort)"), "\(String(decoding: ready.body, as: UTF8.self))")

                // S3 comes back (moto on that port, the bucket applied): the URL line follows, once.
                reserved.release()
                let revived = try await MotoServer(port: deadPort)
                defer { revived.process.killNow() }
                _ = try await PipelineFixture.applyAWS(moto: revived, spec: fixture.spec)
                let jobs = try await fixture.settle(expecting: 1, timeout: .seconds(60))
                #expect(jobs.first?.state == .linked)
                // Ready again once the cached answer (a few seconds) has aged out.
                _ = try await eventually { () -> Bool? in
                    try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: fixture.baseURL.appendingPathComponent("readyz"))).status == 200 ? true : nil
                }
                let history = try await fixture.history("J-1002")
                #expect(history.components(separatedBy: "Recording pending upload").count == 2)
                #expect(try PipelineFixture.urlLines(history).count == 1)
                #expect(history.split(separator: "\n").count == 2)
            }
        }
    }

    @Test func airtableOutagesAndThrottlingDelayLinesButLoseAndDoubleNone() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                await sandbox.state.startAirtableOutage(requests: 12, status: 503)
                for job in ["J-1001", "J-1002", "J-1003", "J-1001"] {
                    try await fixture.recordedCall(job: job)
                }
                // The 503s have met a history update before the 429 storm replaces what is left of them.
                _ = try await eventually { fixture.metrics.text().contains("recops_history_updates_total{result=\"failed\"}") ? true : nil }
                await sandbox.state.startAirtableOutage(requests: 6, status: 429)
                try await fixture.recordedCall(job: "J-1002")
                let jobs = try await fixture.settle(expecting: 5, timeout: .seconds(60))
                #expect(jobs.allSatisfy { $0.state == .linked }, "\(jobs.map(\.state))")
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1001")).count == 2)
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1002")).count == 2)
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1003")).count == 1)
                let metrics = fixture.metrics.text()
                #expect(metrics.contains("recops_history_updates_total{result=\"failed\"}"))
                #expect(metrics.contains("recops_history_updates_total{result=\"throttled\"}"))
            }
        }
    }
}

/// The sweep's alerts, driven step by step (no worker): each fires when its condition starts.
@Suite struct PipelineAlertTests {
    @Test func aGrowingHistoryQueueAndACallThatNeverRecordedRaiseAlerts() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let alerts = try await AlertReceiver()
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(
                    alertWebhook: URL(string: alerts.url)!, historyQueueThreshold: 1, missingRecordingAfter: .seconds(1), historyRetryWithin: .seconds(1), retryBase: 3600),
                                                        runWorker: false)  // a failed line is not due again during the test
                for _ in 0..<2 { try await fixture.recordedCall(job: "J-1001") }
                // A call that completed, and whose recording never called back.
                let silent = PipelineFixture.callSid()
                #expect(try await fixture.post("/api/twilio/voice", [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: silent), (name: "JobId", value: "J-1003")]).status == 200)
                #expect(try await fixture.post("/api/twilio/status", [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: silent), (name: "CallStatus", value: "completed")]).status == 204)

                // Airtable is down: both recordings get stored, their lines wait, over the threshold of one.
                await sandbox.state.startAirtableOutage(requests: 1000)
                for _ in 0..<20 where try await fixture.step() == nil { break }
                #expect(try await fixture.store.countsByState() == [.stored: 2])
                fixture.clock.advance(by: 2)  // past the one-second windows
                await fixture.pipeline.sweep.run()
                await fixture.pipeline.sweep.run()  // still over: no second alert
                let received = try await eventually { alerts.received.count >= 3 ? alerts.received : nil }
                try await Task.sleep(for: .milliseconds(200))
                #expect(alerts.received.count == 3)
                let kinds = Set(received.compactMap { $0["alert"]?.stringValue })
                #expect(kinds == ["history_queue", "missing_recording", "history_overdue"])
                #expect(received.first { $0["alert"] == .string("missing_recording") }?["call_sid"] == .string(silent))
                #expect(fixture.metrics.text().contains("recops_queue_depth{state=\"stored\"} 2"))
                #expect(fixture.metrics.text().contains("recops_alerts_total{kind=\"history_queue\"} 1"))
            }
        }
    }
}

/// The runbook's optional clean-up and the quality check, live.
@Suite struct RecordingCareTests {
    @Test func twilioCopyIsDeletedOnlyAfterS3AndTheLineAreConfirmed() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(deleteFromTwilioAfterUpload: true))
                let (sid, _) = try await fixture.recordedCall(job: "J-1001")
                let deleted = try await eventually { () -> RecordingJob? in
                    let job = try await fixture.store.job(sid)
                    return job?.twilioDeleted == true ? job : nil
                }
                #expect(deleted.state == .linked)
                #expect(await sandbox.state.recordings.contains { $0.sid == sid } == false)
                let info = try await fixture.s3.headObject(bucket: PipelineFixture.bucket, key: deleted.objectKey!)
                #expect(info?.checksumSHA256 == deleted.objectSHA256)
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1001")).count == 1)
            }
        }
    }

    @Test func twilioCopyIsKeptWhenTheS3ObjectNoLongerMatchesTheDownload() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(deleteFromTwilioAfterUpload: true), runWorker: false)
                let (sid, _) = try await fixture.recordedCall(job: "J-1001")
                // Stored and linked, step by step; then the object is replaced behind the service's back.
                for _ in 0..<2 { try await fixture.step() }
                let linked = try #require(try await fixture.store.job(sid))
                #expect(linked.state == .linked && linked.cleanupPending)
                let other = FileManager.default.temporaryDirectory.appendingPathComponent("other-\(UUID()).mp3")
                try Data(MP3Frames.silence(seconds: 2)).write(to: other)
                defer { try? FileManager.default.removeItem(at: other) }
                _ = try await AWSCLI(moto: moto).run(["s3api", "put-object", "--bucket", PipelineFixture.bucket, "--key", linked.objectKey!, "--body", other.path])
                let work = try await fixture.pipeline.scheduler.next()
                guard let work, case .cleanup = work else {
                    Issue.record("no clean-up step: \(String(describing: work))")
                    return
                }
                try await fixture.pipeline.perform(work)
                let kept = try #require(try await fixture.store.job(sid))
                #expect(!kept.twilioDeleted && kept.cleanupPending)
                #expect(kept.lastError?.contains("does not match the download: Twilio's copy is kept") == true, "\(kept.lastError ?? "")")
                #expect(await sandbox.state.recordings.contains { $0.sid == sid })
            }
        }
    }

    @Test func aRecordingThatFailsTheQualityCheckIsStoredAndReported() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                // Twilio says 60 s; the media plays 5 s.
                let callSid = PipelineFixture.callSid()
                _ = try await fixture.post("/api/twilio/voice", [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: callSid), (name: "JobId", value: "J-1002")])
                let recording = await sandbox.state.addRecording(callSid: callSid, duration: 5)
                _ = try await fixture.post("/api/twilio/recording", PipelineFixture.recordingCallback(
                    account: sandbox.seed.accountSID, callSid: callSid, recordingSid: recording.sid, start: recording.created, duration: 60))
                let job = try #require(try await fixture.settle(expecting: 1).first)
                #expect(job.state == .linked)
                #expect(job.qualityProblem == "plays 5.0 s, Twilio says 60 s")
                #expect(fixture.metrics.text().contains("recops_quality_failures_total 1"))
                // Twilio's copy stays: clean-up is off by default.
                #expect(await sandbox.state.recordings.contains { $0.sid == recording.sid })
            }
        }
    }
}
