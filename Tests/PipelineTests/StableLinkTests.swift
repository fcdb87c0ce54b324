import AWS
import Foundation
import Logging
import Pipeline
import RecopsBase
import RecopsTesting
import Testing
import Transport

/// Stable links (`recordings.links: stable`) against the live pipeline: moto for S3, the
/// sandbox for Twilio and Airtable, the service's own HTTP listener. moto checks no presigned
/// signature, so each redirect's signature is checked here against the credentials that were
/// live when it was opened, and its date against the injected clock.
@Suite struct StableLinkTests {
    static let stable: @Sendable (inout PipelineConfiguration) -> Void = { $0.history.links = .stable }

    /// What the pipeline signs with, switched by the test as a rotation or a new session would.
    final class SwitchableCredentials: CredentialProvider {
        private let current: Locked<any CredentialProvider>
        init(_ first: any CredentialProvider) { current = Locked(first) }
        func use(_ next: any CredentialProvider) { current.exchange(next) }
        func credentials() async throws -> AWSCredentials { try await current.value.credentials() }
        var source: String { "the test's switch" }
    }

    /// A pipeline on stable links with one recording of J-1001 linked: its SID, link and key.
    static func linkedRecording(moto: MotoServer, sandbox: LocalSandbox) async throws -> (PipelineFixture, String, String, String) {
        let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(adjust: stable))
        let (sid, _) = try await fixture.recordedCall(job: "J-1001")
        _ = try await fixture.settle(expecting: 1)
        let link = try #require(try PipelineFixture.urlLines(try await fixture.history("J-1001")).first)
        return (fixture, sid, link, try #require(try await fixture.store.job(sid)?.objectKey))
    }

    static func get(_ url: String, headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: URL(string: url)!, headers: headers))
    }

    static func query(_ url: URL) -> [String: String] {
        Dictionary((URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
    }

    /// Opens `link` and checks the redirect: signed now (by `clock`) with `expected`, for a minute,
    /// and the presigned URL serves the recording's bytes.
    static func open(_ link: String, signedBy expected: AWSCredentials, clock: TestClock, moto: MotoServer, recording: Data,
                     headers: [(name: String, value: String)] = []) async throws {
        let before = clock.now().addingTimeInterval(-1)
        let response = try await get(link, headers: headers)
        let after = clock.now().addingTimeInterval(1)
        #expect(response.status == 302)
        let location = try #require(response.header("Location").flatMap(URL.init(string:)))
        #expect(response.header("Cache-Control") == "no-store")
        let query = query(location)
        #expect(query["X-Amz-Credential"]?.hasPrefix(expected.accessKeyID + "/") == true, "signed by \(query["X-Amz-Credential"] ?? "nothing")")
        #expect(query["X-Amz-Expires"] == "60")
        #expect(query["X-Amz-Security-Token"] == expected.sessionToken)
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let signedAt = try #require(query["X-Amz-Date"].flatMap(format.date(from:)))
        #expect(signedAt >= before.addingTimeInterval(-1) && signedAt <= after, "signed at \(signedAt), the clock says \(before)…\(after)")
        // The same URL, signed here with the expected credentials at that instant: the signature is theirs.
        let path = location.path.split(separator: "/", maxSplits: 1).map(String.init)
        let key = String(path[1].removingPercentEncoding ?? path[1])
        let resigner = S3Client(aws: AWSClient(configuration: AWSConfiguration(credentials: expected, region: "us-east-1", endpointOverrides: ["s3": moto.endpoint]),
                                               transport: AsyncHTTPClientTransport(), now: { signedAt }, logger: Logger(label: "test.resign")))
        #expect(resigner.presignedGetURL(bucket: path[0], key: key, expires: 60, credentials: expected).absoluteString == location.absoluteString)
        let audio = try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: location))
        #expect(audio.status == 200)
        #expect(audio.body == recording)
    }

    @Test func aStableLinkOpensADayLaterAfterAKeyRotationAndAfterItsSessionEnded() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let clock = TestClock()
                let iam = IAMClient(aws: moto.client())
                _ = try await iam.createUser("pipeline-signer")
                let first = try await iam.createAccessKey(user: "pipeline-signer")
                let keyA = AWSCredentials(accessKeyID: first.id, secretAccessKey: first.secret)
                let signer = SwitchableCredentials(keyA)
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(adjust: Self.stable), clock: clock, credentials: signer)
                let (sid, _) = try await fixture.recordedCall(job: "J-1001")
                _ = try await fixture.settle(expecting: 1)
                let job = try #require(try await fixture.store.job(sid))
                #expect(job.state == .linked)
                let recording = try await fixture.s3.getObject(bucket: PipelineFixture.bucket, key: try #require(job.objectKey))

                let urls = try PipelineFixture.urlLines(try await fixture.history("J-1001"))
                #expect(urls.count == 1)
                let link = try #require(urls.first)
                let id = try #require(RecordingLink.id(in: link))
                #expect(link == fixture.appURL + "/r/" + id)
                #expect(id.count == 24)
                try await Self.open(link, signedBy: keyA, clock: clock, moto: moto, recording: recording)

                // A day later, the key that signed the history's first redirect is rotated out and deleted.
                clock.advance(by: 86_400)
                let second = try await iam.createAccessKey(user: "pipeline-signer")
                let keyB = AWSCredentials(accessKeyID: second.id, secretAccessKey: second.secret)
                signer.use(keyB)
                try await iam.deleteAccessKey(user: "pipeline-signer", id: keyA.accessKeyID)
                try await Self.open(link, signedBy: keyB, clock: clock, moto: moto, recording: recording)

                // Temporary credentials from a container endpoint, refreshed by the service's own
                // RefreshingCredentials: the session that signed one open ends, the next open is
                // signed by the next session.
                let sessions = Locked(0)
                let server = try await LocalCredentialServer(now: { clock.now() }) {
                    let number = sessions.withLock { $0 += 1; return $0 }
                    return .init(credentials: AWSCredentials(accessKeyID: "ASIA" + String(format: "SESSION%09d", number), secretAccessKey: UUID().uuidString,
                                                             sessionToken: "session-\(number)-" + UUID().uuidString),
                                 expiration: clock.now().addingTimeInterval(3600))
                }
                let session = RefreshingCredentials(try ContainerCredentials(environment: server.containerEnvironment), now: { clock.now() })
                signer.use(session)
                let firstSession = try await session.credentials()
                try await Self.open(link, signedBy: firstSession, clock: clock, moto: moto, recording: recording)
                clock.advance(by: 3600 + 60)
                let nextSession = try await session.credentials()
                #expect(nextSession.sessionToken != firstSession.sessionToken)
                try await Self.open(link, signedBy: nextSession, clock: clock, moto: moto, recording: recording)

                // Every open is in the audit, with the client and what was answered.
                let opens = try await fixture.store.opens(from: .distantPast, to: .distantFuture, jobID: "J-1001", client: nil, limit: 100)
                #expect(opens.count == 4)
                #expect(opens.allSatisfy { $0.answer == .redirected && $0.recordingSid == sid && $0.client == "127.0.0.1" && $0.linkID == id })
            }
        }
    }

    @Test func revokedExpiredAndUnknownLinksAnswerTheSameGonePageAndTheAuditShowsEachOpen() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let clock = TestClock()
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(adjust: {
                    $0.history.links = .stable
                    $0.links.maxAge = 30 * 86_400
                    $0.links.auditRetention = 10 * 86_400
                }), clock: clock)
                let (kept, _) = try await fixture.recordedCall(job: "J-1001")
                let (revoked, _) = try await fixture.recordedCall(job: "J-1002")
                _ = try await fixture.settle(expecting: 2)
                let keptLink = try #require(try PipelineFixture.urlLines(try await fixture.history("J-1001")).first)
                let revokedLink = try #require(try PipelineFixture.urlLines(try await fixture.history("J-1002")).first)
                #expect(try await Self.get(revokedLink).status == 302)
                // A stable line links its recording: reconcile finds nothing missing.
                let report = try await fixture.assembled.reconciler().run(since: nil, until: nil, repair: false)
                #expect(report.checked == 2 && report.missing.isEmpty, "\(report.text)")

                // Revoked as `recops recordings revoke J-1002` does it; a second revoke finds it revoked.
                let links = fixture.assembled.recordingLinks()
                let result = try await links.revoke("J-1002")
                #expect(result.revoked.map(\.recordingSid) == [revoked] && result.already.isEmpty)
                #expect(try await links.revoke(revokedLink).already.map(\.recordingSid) == [revoked])
                await #expect(throws: RecordingLinks.NotFound.self) { _ = try await links.revoke("J-9999") }

                let gone = try await Self.get(revokedLink)
                #expect(gone.status == 410)
                let page = String(decoding: gone.body, as: UTF8.self)
                #expect(page.contains("This recording link is no longer available"))
                #expect(!page.contains(revoked) && !page.contains("J-1002"))
                let unknownID = RecordingLink.newID()
                let unknown = try await Self.get(fixture.appURL + "/r/" + unknownID)
                #expect(unknown.status == 410 && unknown.body == gone.body)
                let malformed = try await Self.get(fixture.appURL + "/r/not-an-id")
                #expect(malformed.status == 410 && malformed.body == gone.body)
                // Past link_max_age the kept link is gone too, with the same page.
                #expect(try await Self.get(keptLink, headers: [(name: "User-Agent", value: "office-browser/1.0")]).status == 302)
                clock.advance(by: 31 * 86_400)
                let expired = try await Self.get(keptLink)
                #expect(expired.status == 410 && expired.body == gone.body)

                let opens = try await fixture.store.opens(from: .distantPast, to: .distantFuture, jobID: nil, client: nil, limit: 100)
                #expect(opens.map(\.answer) == [.redirected, .revoked, .unknown, .unknown, .redirected, .expired])
                #expect(opens[1].recordingSid == revoked && opens[2].linkID == nil && opens[2].recordingSid == nil)
                #expect(opens[4].recordingSid == kept && opens[4].userAgent == "office-browser/1.0")
                #expect(!opens.contains { $0.linkID == unknownID }, "a guessed id is not kept")

                // The report: every open, as text, JSON and CSV.
                let audit = fixture.assembled.accessAudit()
                let listed = try await audit.opens(from: .distantPast, to: .distantFuture, jobID: "J-1001")
                #expect(listed.map(\.answer) == [.redirected, .expired])
                let csv = AccessAudit.render(opens: listed, format: .csv)
                #expect(csv.hasPrefix("time,answer,recording_sid,job_id,link_id,client,network,session,user_agent\r\n"))
                #expect(csv.contains(",redirected,\(kept),J-1001,") && csv.contains(",expired,\(kept),J-1001,"))
                let json = try #require(try JSONSerialization.jsonObject(with: Data(AccessAudit.render(opens: listed, format: .json).utf8)) as? [[String: Any]])
                #expect(json.count == 2 && json[0]["recording_sid"] as? String == kept && json[0]["user_agent"] as? String == "office-browser/1.0")
                #expect(AccessAudit.render(opens: listed, format: .text).contains("127.0.0.1"))
                #expect(fixture.metrics.text().contains(#"recops_link_opens_total{answer="unknown"} 2"#))

                // audit.retention: the sweep deletes opens older than it (here 10 days; five are 31 days old).
                await fixture.pipeline.sweep.run()
                #expect(try await fixture.store.opens(from: .distantPast, to: .distantFuture, jobID: nil, client: nil, limit: 100).map(\.answer) == [.expired])
            }
        }
    }

    @Test func linkAccessLoginAsksForASignInAndComesBackToTheLink() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let token = "link-login-test-token-0123456789"
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(adjust: {
                    $0.history.links = .stable
                    $0.links.access = .login
                }), adminToken: token)
                try await fixture.recordedCall(job: "J-1001")
                _ = try await fixture.settle(expecting: 1)
                let link = try #require(try PipelineFixture.urlLines(try await fixture.history("J-1001")).first)
                let id = try #require(RecordingLink.id(in: link))

                let asked = try await Self.get(link)
                #expect(asked.status == 401)
                let form = String(decoding: asked.body, as: UTF8.self)
                #expect(form.contains("<input type=\"hidden\" name=\"next\" value=\"/r/\(id)\">"))
                #expect(asked.header("Location") == nil)
                // An id no link has gets the same form: before sign-in nothing tells them apart.
                let unknown = try await Self.get(fixture.appURL + "/r/" + RecordingLink.newID())
                #expect(unknown.status == 401 && String(decoding: unknown.body, as: UTF8.self).contains("Sign in to open this recording."))

                // Signing in with the form sends the browser back to the link, never elsewhere.
                let signIn = try await AsyncHTTPClientTransport().send(HTTPRequest(
                    method: "POST", url: URL(string: fixture.appURL + "/ops/login")!,
                    headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")],
                    body: Data(FormEncoding.encode([(name: "token", value: token), (name: "next", value: "/r/\(id)")]).utf8)))
                #expect(signIn.status == 303 && signIn.header("Location") == "/r/\(id)")
                let cookie = try #require(signIn.header("Set-Cookie"))
                #expect(cookie.contains("Path=/;"))
                let session = String(cookie.split(separator: ";")[0])
                let elsewhere = try await AsyncHTTPClientTransport().send(HTTPRequest(
                    method: "POST", url: URL(string: fixture.appURL + "/ops/login")!,
                    headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")],
                    body: Data(FormEncoding.encode([(name: "token", value: token), (name: "next", value: "https://evil.example/")]).utf8)))
                #expect(elsewhere.header("Location") == "/ops")

                let opened = try await Self.get(link, headers: [(name: "Cookie", value: session)])
                #expect(opened.status == 302)
                #expect(try await Self.get(link, headers: [(name: "Authorization", value: "Bearer \(token)")]).status == 302)
                let opens = try await fixture.store.opens(from: .distantPast, to: .distantFuture, jobID: "J-1001", client: nil, limit: 10)
                #expect(opens.map(\.answer) == [.loginRequired, .redirected, .redirected], "the unknown id's open has no job")
                #expect(opens[1].session?.count == 12 && !session.contains(opens[1].session!), "the audit keeps a digest of the session, never the cookie")
                #expect(opens[0].session == nil && opens[2].session == nil)

                // The operations page shows the latest opens and the recordings opened most.
                let page = try await Self.get(fixture.appURL + "/ops", headers: [(name: "Authorization", value: "Bearer \(token)")])
                let html = String(decoding: page.body, as: UTF8.self)
                #expect(html.contains("<caption>Latest opens of stable links, last 24 hours, newest first</caption>"))
                #expect(html.contains("<td>login_required</td>") && html.contains("<td>redirected</td>"))
                #expect(html.contains("<caption>Recordings opened most, last 7 days</caption>"))
                let sid = try #require(opens[1].recordingSid)
                #expect(html.contains("<td>\(sid)</td><td>J-1001</td><td>2</td><td>1</td>"), "\(html.suffix(1500))")
            }
        }
    }

    @Test func opensAreLimitedPerClientAndABurstRaisesAnAlert() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let receiver = try await AlertReceiver()
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, overrides: .init(alertWebhook: URL(string: receiver.url)!, adjust: {
                    $0.history.links = .stable
                    $0.links.opensPerMinute = 4
                    $0.links.distinctRecordingsPerHour = 2
                }))
                var links: [String] = []
                for job in ["J-1001", "J-1002", "J-1003"] {
                    try await fixture.recordedCall(job: job)
                }
                _ = try await fixture.settle(expecting: 3)
                for job in ["J-1001", "J-1002", "J-1003"] { links.append(try #require(try PipelineFixture.urlLines(try await fixture.history(job)).first)) }

                // Behind a reverse proxy on this machine, the client is the one it forwards.
                let proxied = [(name: "X-Forwarded-For", value: "203.0.113.9")]
                for link in links { #expect(try await Self.get(link, headers: proxied).status == 302) }
                #expect(try await Self.get(links[0], headers: proxied).status == 302)
                let throttled = try await Self.get(links[0], headers: proxied)
                #expect(throttled.status == 429 && throttled.header("Retry-After") != nil)
                // Refused again: answered, counted, but not written to the audit a second time.
                #expect(try await Self.get(links[1], headers: proxied).status == 429)
                // Another client is not held back by the first one's opens.
                #expect(try await Self.get(links[0], headers: [(name: "X-Forwarded-For", value: "198.51.100.7")]).status == 302)

                // Three distinct recordings within the hour, over the threshold of two: one alert
                // for the client; the second network is new, with opens before it: one more.
                let alerts = try await eventually { () -> [JSONValue]? in
                    let received = receiver.received
                    return received.contains { $0["alert"]?.stringValue == "link_burst" } && received.contains { $0["alert"]?.stringValue == "link_new_network" } ? received : nil
                }
                let burst = try #require(alerts.first { $0["alert"]?.stringValue == "link_burst" })
                #expect(burst["message"]?.stringValue?.contains("203.0.113.9 opened 3 distinct recordings") == true, "\(burst)")
                #expect(alerts.filter { $0["alert"]?.stringValue == "link_burst" }.count == 1)
                let network = try #require(alerts.first { $0["alert"]?.stringValue == "link_new_network" })
                #expect(network["message"]?.stringValue?.contains("198.51.100.0/24") == true)

                let summary = try await fixture.assembled.accessAudit().summary(from: .distantPast, to: .distantFuture, jobID: nil)
                #expect(summary.opens == 6 && summary.refused == 1, "one throttled open in the audit, the second only in the metrics")
                #expect(fixture.metrics.text().contains(#"recops_link_opens_total{answer="throttled"} 2"#))
                #expect(summary.bursts.map(\.client) == ["203.0.113.9"] && summary.bursts.first?.recordings == 3)
                #expect(summary.newNetworks.map(\.network) == ["198.51.100.0/24"])
                #expect(summary.recordings.first?.opens == 3 && summary.recordings.first?.clients == 2)
                #expect(summary.clients.first { $0.client == "203.0.113.9" }?.refused == 1)
                let text = AccessAudit.render(summary: summary, format: .text)
                #expect(text.contains("burst: 203.0.113.9 opened 3 distinct recordings"))
                #expect(text.contains("new network: 198.51.100.0/24"))
            }
        }
    }
}

/// A person opens a stable link in a real browser (headless Chromium): it follows the redirect
/// and plays the MP3.
@Suite struct StableLinkBrowserTests {
    @Test func aPersonOpensAStableLinkInChromiumAndGetsTheMP3() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let (fixture, sid, link, key) = try await StableLinkTests.linkedRecording(moto: moto, sandbox: sandbox)

                let dom = try await Chromium.dumpDOM(URL(string: link)!)
                // Chromium's own media page: the redirect was followed and the answer was audio/mpeg.
                #expect(dom.contains("<video"), "\(dom.prefix(600))")
                #expect(dom.contains("type=\"audio/mpeg\""), "\(dom.prefix(600))")
                #expect(dom.contains(moto.endpoint.absoluteString.trimmingCharacters(in: ["/"]) + "/" + PipelineFixture.bucket + "/" + key), "\(dom.prefix(600))")
                #expect(dom.contains("X-Amz-Expires=60"))
                // The open is in the audit with the browser's user agent.
                let opens = try await fixture.store.opens(from: .distantPast, to: .distantFuture, jobID: "J-1001", client: nil, limit: 10)
                #expect(opens.first?.answer == .redirected)
                #expect(opens.first?.userAgent.contains("Chrome") == true, "\(opens.first?.userAgent ?? "")")
            }
        }
    }
}

/// `recops audit access --cloudtrail`: the trail's S3 data events, read from its log objects
/// (moto delivers none, so the test places them, in AWS's documented record format), joined to
/// the link opens by object key.
@Suite struct CloudTrailAuditTests {
    static func record(_ name: String, at time: Date, principal: String, ip: String, bucket: String, key: String) -> [String: Any] {
        [
            "eventVersion": "1.09", "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "eventTime": ISO8601DateFormatter().string(from: time), "sourceIPAddress": ip, "userAgent": "Mozilla/5.0",
            "userIdentity": ["type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": principal, "accountId": MotoServer.accountID],
            "requestParameters": ["bucketName": bucket, "Host": "\(bucket).s3.us-east-1.amazonaws.com", "key": key],
            "resources": [["type": "AWS::S3::Object", "ARN": "arn:aws:s3:::\(bucket)/\(key)"], ["type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::\(bucket)"]],
            "eventType": "AwsApiCall", "eventCategory": "Data", "readOnly": true, "managementEvent": false, "eventID": UUID().uuidString,
            "recipientAccountId": MotoServer.accountID,
        ]
    }

    @Test func readsThroughLinksAreJoinedToTheirOpensAndTheOthersStandOut() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let (fixture, sid, link, key) = try await StableLinkTests.linkedRecording(moto: moto, sandbox: sandbox)
                #expect(try await StableLinkTests.get(link).status == 302)
                let opened = fixture.clock.now()

                // The trail recops applied, and one log file of it in the bucket.
                let trailName = try #require(fixture.spec.audit?.cloudtrail.trail)
                let trail = try #require(try await CloudTrailClient(aws: moto.client()).trail(trailName))
                let bucket = try #require(trail.S3BucketName)
                let pipelineUser = "arn:aws:iam::\(MotoServer.accountID):user/recording-pipeline"
                let log: [String: Any] = ["Records": [
                    Self.record("PutObject", at: opened.addingTimeInterval(-30), principal: pipelineUser, ip: "127.0.0.1", bucket: PipelineFixture.bucket, key: key),
                    Self.record("GetObject", at: opened.addingTimeInterval(1), principal: pipelineUser, ip: "127.0.0.1", bucket: PipelineFixture.bucket, key: key),
                    Self.record("GetObject", at: opened.addingTimeInterval(1200), principal: "arn:aws:iam::\(MotoServer.accountID):user/contractor",
                                ip: "198.51.100.20", bucket: PipelineFixture.bucket, key: key),
                    Self.record("GetObject", at: opened.addingTimeInterval(5), principal: pipelineUser, ip: "127.0.0.1", bucket: PipelineFixture.bucket, key: "elsewhere/x.mp3"),
                ]]
                let body = try await Gzip.compress(try JSONSerialization.data(withJSONObject: log))
                let prefix = CloudTrailLogs.dayPrefix(trailPrefix: trail.S3KeyPrefix, account: MotoServer.accountID, region: "us-east-1", day: opened)
                _ = try await fixture.s3.putObject(bucket: bucket, key: prefix + "\(MotoServer.accountID)_CloudTrail_us-east-1_20261202T1005Z_0123456789abcdef.json.gz",
                                                   body: body, contentType: "application/x-gzip", encryption: nil)

                let records = try await fixture.assembled.trailRecords(trail: trailName, logBucket: nil, from: opened.addingTimeInterval(-3600), to: opened.addingTimeInterval(3600))
                #expect(records.count == 4)
                let opens = try await fixture.assembled.accessAudit().opens(from: .distantPast, to: .distantFuture, jobID: nil)
                let reads = AccessAudit.join(records, opens: opens, bucket: PipelineFixture.bucket, prefix: "recordings/", window: 360)
                #expect(reads.count == 2, "GetObjects of recordings only")
                #expect(reads[0].open?.recordingSid == sid && reads[0].open?.client == "127.0.0.1")
                #expect(reads[1].open == nil && reads[1].record.principal.hasSuffix(":user/contractor") && reads[1].record.sourceIPAddress == "198.51.100.20")
                let text = AccessAudit.render(trail: reads, format: .text)
                #expect(text.contains("2 reads of recordings, 1 not through a recops link"))
                #expect(text.contains("NOT through a recops link"))
                #expect(AccessAudit.render(trail: reads, format: .csv).components(separatedBy: "\r\n").count == 4)
                await #expect(throws: AccessAudit.Failure.self) {
                    _ = try await fixture.assembled.trailRecords(trail: "no-such-trail", logBucket: nil, from: opened, to: opened)
                }
            }
        }
    }
}
