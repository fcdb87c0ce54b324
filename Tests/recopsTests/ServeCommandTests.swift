import Foundation
import Pipeline
import SQLiteStore
import RecopsTesting
import Sandbox
import Spec
import Testing
import Transport
import Twilio

/// `recops serve` as a real process: crashes, start-up checks, health routes, and the live
/// webhook check of `verify --only webhook`.
@Suite struct ServeCommandTests {
    /// The moto-compatible spec in a temporary directory, and the environment that points the
    /// binary at moto, the sandbox and a service on `port`.
    static func setUp(moto: MotoServer, sandbox: LocalSandbox, port: Int, edit: (String) -> String = { $0 }) throws -> (spec: String, environment: [String: String]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let spec = directory.appendingPathComponent("policy.yaml")
        try edit(PipelineFixture.motoCompatible(text: try String(contentsOfFile: ProvisionFixture.specPath, encoding: .utf8))).write(to: spec, atomically: true, encoding: .utf8)
        let sandboxEnvironment = SandboxServer(state: sandbox.state, seed: sandbox.seed).environment(baseURL: sandbox.baseURL.absoluteString)
        var environment = moto.environment().merging(Dictionary(uniqueKeysWithValues: sandboxEnvironment)) { $1 }
        environment.merge(["S3_BUCKET": PipelineFixture.bucket, "APP_URL": "http://127.0.0.1:\(port)", "AIRTABLE_BASE_ID": sandbox.seed.baseID,
                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "RECOPS_RETRY_BASE_SECONDS": "0.05",
                           "RECOPS_AIRTABLE_THROTTLE_PAUSE_SECONDS": "1", "RECOPS_LOG_LEVEL": "warning"]) { $1 }
        return (spec.path, environment)
    }

    static func serve(spec: String, port: Int, dataDir: String, environment: [String: String], extra: [String] = []) async throws -> LocalProcess {
        try await LocalProcess(executable: RecopsBinary.path,
                               arguments: ["serve", "--spec", spec, "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", dataDir] + extra,
                               port: port, environment: environment, readyPath: "healthz", name: "recops-serve")
    }

    /// Holds the running server so the killer can replace it while senders keep sending.
    actor Slot {
        var server: LocalProcess?
        func set(_ value: LocalProcess?) { server = value }
    }

    @Test func killNineAtRandomMomentsLosesNothingAndDoublesNothing() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let port = freeLoopbackPort()
                let (spec, environment) = try Self.setUp(moto: moto, sandbox: sandbox, port: port)
                let apply = try await RecopsBinary.run(["apply", "--spec", spec, "--auto-approve"], environment: environment)
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("recops-crash-\(UUID().uuidString)").path
                let serveArguments = ["--startup-check", "off"]
                let slot = Slot()
                await slot.set(try await Self.serve(spec: spec, port: port, dataDir: dataDir, environment: environment, extra: serveArguments))

                let jobs = ["J-1001", "J-1002", "J-1003"]
                let account = sandbox.seed.accountSID
                let appURL = "http://127.0.0.1:\(port)"
                let transport = AsyncHTTPClientTransport(timeout: .seconds(5))
                /// Sends like Twilio: again and again until a 2xx (the server may be down).
                @Sendable func deliver(_ path: String, _ parameters: [(name: String, value: String)]) async throws {
                    let url = appURL + path
                    let signature = TwilioSignature.compute(url: url, parameters: parameters, authToken: sandbox.seed.authToken)
                    let request = HTTPRequest(method: "POST", url: URL(string: url)!,
                                              headers: [(name: "X-Twilio-Signature", value: signature), (name: "Content-Type", value: "application/x-www-form-urlencoded")],
                                              body: Data(FormEncoding.encode(parameters).utf8))
                    let deadline = ContinuousClock.now + .seconds(120)
                    while ContinuousClock.now < deadline {
                        if let response = try? await transport.send(request), response.isSuccess { return }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    throw PipelineFixture.Unsettled(description: "\(path) never acknowledged")
                }

                // Four senders, twelve calls each, while the server is killed three times.
                let sent = try await withThrowingTaskGroup(of: [(job: String, recording: String)].self) { group in
                    for sender in 0..<4 {
                        group.addTask {
                            var sent: [(job: String, recording: String)] = []
                            for n in 0..<12 {
                                let job = jobs[(sender + n) % jobs.count]
                                let callSid = PipelineFixture.callSid()
                                try await deliver("/api/twilio/voice", [(name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "JobId", value: job)])
                                let recording = await sandbox.state.addRecording(callSid: callSid, duration: 3)
                                try await deliver("/api/twilio/recording", PipelineFixture.recordingCallback(
                                    account: account, callSid: callSid, recordingSid: recording.sid, start: recording.created, duration: 3))
                                sent.append((job, recording.sid))
                            }
                            return sent
                        }
                    }
                    group.addTask {
                        for _ in 0..<3 {
                            try await Task.sleep(for: .milliseconds(Int.random(in: 300...900)))
                            await slot.server?.killNow()  // SIGKILL: no shutdown, no flush
                            await slot.set(try await Self.serve(spec: spec, port: port, dataDir: dataDir, environment: environment, extra: serveArguments))
                        }
                        return []
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                #expect(sent.count == 48)

                // From the outside: every job's history has exactly its recordings' lines.
                let expected = Dictionary(grouping: sent, by: \.job).mapValues(\.count)
                // Waits while lines keep coming; gives up after 30 s without a new one.
                var deadline = ContinuousClock.now + .seconds(30)
                var histories: [String: String] = [:]
                var lineCount = 0
                repeat {
                    let records = try await sandbox.dump()["airtable"]?["tables"]?.arrayValue?.first?["records"]?.arrayValue ?? []
                    for record in records {
                        if let job = record["fields"]?["Job ID"]?.stringValue { histories[job] = record["fields"]?["job_history"]?.stringValue ?? "" }
                    }
                    if try jobs.allSatisfy({ try PipelineFixture.urlLines(histories[$0] ?? "").count >= expected[$0] ?? 0 }) { break }
                    let now = try histories.values.map { try PipelineFixture.urlLines($0).count }.reduce(0, +)
                    if now > lineCount { lineCount = now; deadline = ContinuousClock.now + .seconds(30) }
                    try await Task.sleep(for: .milliseconds(200))
                } while ContinuousClock.now < deadline
                var linkedKeys: [String] = []
                for job in jobs {
                    let urls = try PipelineFixture.urlLines(histories[job] ?? "")
                    #expect(urls.count == expected[job], "\(job): \(urls.count) lines for \(expected[job] ?? 0) recordings")
                    linkedKeys += urls.compactMap { URL(string: $0)?.path }
                }
                #expect(Set(linkedKeys).count == linkedKeys.count, "a line was written twice")
                #expect(!(histories.values.contains { $0.contains("pending upload") }))

                // And in S3: one object per recording, each named by its own recording.
                let listing = try JSONDecoder().decode(JSONValue.self, from: Data(try await AWSCLI(moto: moto).run(
                    ["s3api", "list-objects-v2", "--bucket", PipelineFixture.bucket, "--prefix", "recordings/"]).utf8))
                let keys = listing["Contents"]?.arrayValue?.compactMap { $0["Key"]?.stringValue } ?? []
                #expect(keys.count == 48)
                #expect(Set(linkedKeys.map { String($0.drop { $0 == "/" }.drop { $0 != "/" }.dropFirst()) }) == Set(keys))
                await slot.server?.stop()
            }
        }
    }

    /// A client that sent its headers and half a body once kept `serve` from exiting after
    /// SIGTERM for as long as it kept the socket open. Now the process exits within its stated
    /// bound (shutdown_timeout + 5 s), here well before the body deadline could have freed it.
    @Test func sigtermExitsWithinItsBoundWhateverClientsDo() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let port = freeLoopbackPort()
                let (spec, environment) = try Self.setUp(moto: moto, sandbox: sandbox, port: port) {
                    $0 + "\nservice:\n  body_timeout: 120s\n  shutdown_timeout: 2s\n"
                }
                let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("recops-stop-\(UUID().uuidString)").path
                let server = try await Self.serve(spec: spec, port: port, dataDir: dataDir, environment: environment, extra: ["--startup-check", "off"])
                defer { server.killNow() }
                let half = try await RawConnection(port: port)
                try await half.send("POST /api/twilio/recording HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 400\r\n\r\nAccountSid=AC")
                // The server holds the half-sent request (its connection and the metrics request's).
                let transport = AsyncHTTPClientTransport()
                _ = try await eventually { () -> Bool? in
                    let metrics = try await transport.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/metrics")!))
                    return String(decoding: metrics.body, as: UTF8.self).contains("recops_http_connections 2") ? true : nil
                }
                let stopped = ContinuousClock.now
                kill(server.pid, SIGTERM)
                let deadline = stopped + .seconds(60)
                while server.termination == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                let took = ContinuousClock.now - stopped
                #expect(server.termination != nil, "serve did not exit after SIGTERM while a client held a half-sent request")
                #expect(took < .seconds(60), "took \(took): the client, not the bound, ended it")
                #expect(server.termination?.status == 0 && server.termination?.bySignal == false, "\(String(describing: server.termination)) \(server.output.suffix(2000))")
                #expect(await half.waitClosed(timeout: .seconds(10)))
            }
        }
    }

    @Test func startUpCheckHealthRoutesAndTheLiveWebhookCheck() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let port = freeLoopbackPort()
                let (spec, environment) = try Self.setUp(moto: moto, sandbox: sandbox, port: port)
                let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("recops-start-\(UUID().uuidString)").path

                // Nothing applied yet: with --startup-check fail the service refuses to start.
                let refused = try await RecopsBinary.run(["serve", "--spec", spec, "--port", "\(port)", "--data-dir", dataDir, "--startup-check", "fail"], environment: environment)
                #expect(refused.status == 1)
                #expect(refused.stderr.contains("the start-up check did not pass"))
                #expect(refused.stderr.contains("s3.bucket/acme-call-recordings does not exist"))

                let apply = try await RecopsBinary.run(["apply", "--spec", spec, "--auto-approve"], environment: environment)
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                var debug = environment
                debug["RECOPS_LOG_LEVEL"] = "trace"
                let server = try await Self.serve(spec: spec, port: port, dataDir: dataDir, environment: debug, extra: ["--startup-check", "fail"])
                defer { server.killNow() }
                let transport = AsyncHTTPClientTransport()
                let ready = try await transport.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/readyz")!))
                #expect(ready.status == 200, "\(String(decoding: ready.body, as: UTF8.self))")
                let metrics = try await transport.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/metrics")!))
                #expect(String(decoding: metrics.body, as: UTF8.self).contains("recops_queue_depth{state=\"received\"} 0"))

                // The live answer records the whole call as the spec says.
                let live = try await RecopsBinary.run(["verify", "--spec", spec, "--only", "webhook"], environment: environment)
                #expect(live.status == 0, "\(live.stdout)\(live.stderr)")
                #expect(live.stdout.hasPrefix("In sync: 1 resource match"))

                // A spec asking for two channels: the running service answers mono, a failed check.
                let (dual, _) = try Self.setUp(moto: moto, sandbox: sandbox, port: port) { $0.replacingOccurrences(of: "channels: mono", with: "channels: dual") }
                let drift = try await RecopsBinary.run(["verify", "--spec", dual, "--only", "webhook"], environment: environment)
                #expect(drift.status == 2)
                #expect(drift.stdout.contains("<Recording channels> is 'mono', the spec says 'dual'"))

                // Another auth token: Twilio's calls would be refused, and verify says so.
                var wrongToken = environment
                wrongToken["TWILIO_AUTH_TOKEN"] = "another-token"
                let refusedProbe = try await RecopsBinary.run(["verify", "--spec", spec, "--only", "webhook"], environment: wrongToken)
                #expect(refusedProbe.status == 2)
                #expect(refusedProbe.stdout.contains("answered HTTP 403"))

                // A call through it, logged at debug level: no secret may reach the log.
                let report = try await CallSimulator(twilio: sandbox.twilio(), authToken: sandbox.seed.authToken, transport: transport)
                    .run(.init(to: sandbox.seed.numbers[0].phoneNumber, job: "1002"))
                #expect(report.succeeded, "\(report.problems)")
                let line = try await eventuallyLinked(sandbox, job: "J-1002")
                #expect(line.contains("X-Amz-Signature="))

                // SIGTERM: the service stops by itself, cleanly.
                await server.stop(grace: .seconds(15))
                #expect(server.termination?.status == 0 && server.termination?.bySignal == false, "\(server.output.suffix(2000))")
                let log = server.output
                #expect(log.contains("worker stopped"))
                for secret in [sandbox.seed.authToken, sandbox.seed.airtableToken, MotoServer.bootstrapCredentials.secretAccessKey, "X-Amz-Signature", "X-Amz-Credential"] {
                    #expect(!log.contains(secret), "the log shows \(secret)")
                }

                let down = try await RecopsBinary.run(["verify", "--spec", spec, "--only", "webhook"], environment: environment)
                #expect(down.status == 1)
                #expect(down.stdout.contains("could not check (network)"))
            }
        }
    }
}

extension ServeCommandTests {
    @Test func theRunbookChoresAsCommands() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let port = freeLoopbackPort()
                let (spec, environment) = try Self.setUp(moto: moto, sandbox: sandbox, port: port)
                #expect(try await RecopsBinary.run(["apply", "--spec", spec, "--auto-approve"], environment: environment).status == 0)
                let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("recops-ops-\(UUID().uuidString)").path
                let server = try await Self.serve(spec: spec, port: port, dataDir: dataDir, environment: environment, extra: ["--startup-check", "off"])
                defer { server.killNow() }
                let transport = AsyncHTTPClientTransport()
                let simulator = CallSimulator(twilio: sandbox.twilio(), authToken: sandbox.seed.authToken, transport: transport)
                let first = try await simulator.run(.init(to: sandbox.seed.numbers[0].phoneNumber, job: "1001"))
                _ = try await eventuallyLinked(sandbox, job: "J-1001")
                // A callback lost in an outage: the call named its job, the recording exists, nothing arrived.
                let lostCall = PipelineFixture.callSid()
                let voice = [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: lostCall), (name: "JobId", value: "J-1002")]
                let url = "http://127.0.0.1:\(port)/api/twilio/voice"
                _ = try await transport.send(HTTPRequest(method: "POST", url: URL(string: url)!, headers: [
                    (name: "X-Twilio-Signature", value: TwilioSignature.compute(url: url, parameters: voice, authToken: sandbox.seed.authToken)),
                    (name: "Content-Type", value: "application/x-www-form-urlencoded")], body: Data(FormEncoding.encode(voice).utf8)))
                let lost = await sandbox.state.addRecording(callSid: lostCall, duration: 4)
                let common = ["--spec", spec, "--data-dir", dataDir]

                let found = try await RecopsBinary.run(["reconcile"] + common, environment: environment)
                #expect(found.status == 2, "\(found.stdout)\(found.stderr)")
                #expect(found.stdout.contains("! \(lost.sid) call \(lostCall) job J-1002: not_received"))
                #expect(found.stdout.hasSuffix("1 of 2 recordings need attention.\n"))
                let repaired = try await RecopsBinary.run(["reconcile", "--repair"] + common, environment: environment)
                #expect(repaired.status == 0, "\(repaired.stdout)\(repaired.stderr)")
                #expect(repaired.stdout.hasSuffix("All 2 recordings are stored and linked.\n"))
                let json = try await RecopsBinary.run(["reconcile", "--format", "json"] + common, environment: environment)
                #expect(json.status == 0, "\(json.stderr)")
                let summary = try JSONDecoder().decode(JSONValue.self, from: Data(json.stdout.utf8))
                #expect(summary["checked"] == .number(2) && summary["missing"] == .number(0), "\(json.stdout)")
                _ = try await eventuallyLinked(sandbox, job: "J-1002")

                let status = try await RecopsBinary.run(["status", "--format", "json"] + common, environment: environment)
                #expect(status.status == 0, "\(status.stderr)")
                let report = try JSONDecoder().decode(JSONValue.self, from: Data(status.stdout.utf8))
                #expect(report["queue"]?["linked"] == .number(2))
                #expect(report["storage"]?["objects"] == .number(2))

                let link = try await RecopsBinary.run(["recordings", "url", first.recordingSid!, "--append-history"] + common, environment: environment)
                #expect(link.status == 0, "\(link.stderr)")
                #expect(link.stdout.hasPrefix("\(first.recordingSid!) J-1001 http://"))
                let records = try await sandbox.dump()["airtable"]?["tables"]?.arrayValue?.first?["records"]?.arrayValue ?? []
                let history = records.first { $0["fields"]?["Job ID"]?.stringValue == "J-1001" }?["fields"]?["job_history"]?.stringValue ?? ""
                #expect(try PipelineFixture.urlLines(history).count == 2)
                let unknown = try await RecopsBinary.run(["recordings", "url", "J-4242"] + common, environment: environment)
                #expect(unknown.status == 1)
                #expect(unknown.stderr.contains("no stored recording has the recording SID, call SID or job id 'J-4242'"))

                let created = try await RecopsBinary.run(["keys", "rotate", "--spec", spec, "--output", "json"], environment: environment)
                #expect(created.status == 0, "\(created.stderr)")
                let key = try JSONDecoder().decode(JSONValue.self, from: Data(created.stdout.utf8))
                let firstKey = try #require(key["AccessKeyId"]?.stringValue)
                #expect(created.stderr.contains("no key retired"))
                let rotated = try await RecopsBinary.run(["keys", "rotate", "--spec", spec, "--retire-old"], environment: environment)
                #expect(rotated.status == 0, "\(rotated.stderr)")
                #expect(rotated.stdout.hasPrefix("AWS_ACCESS_KEY_ID="))
                #expect(rotated.stderr.contains("retired \(firstKey)"))

                // A call that named no job: stored unmatched, then given to its job by a person.
                @Sendable func post(_ path: String, _ parameters: [(name: String, value: String)]) async throws -> Int {
                    let target = "http://127.0.0.1:\(port)" + path
                    return try await transport.send(HTTPRequest(method: "POST", url: URL(string: target)!, headers: [
                        (name: "X-Twilio-Signature", value: TwilioSignature.compute(url: target, parameters: parameters, authToken: sandbox.seed.authToken)),
                        (name: "Content-Type", value: "application/x-www-form-urlencoded")], body: Data(FormEncoding.encode(parameters).utf8))).status
                }
                let jobless = PipelineFixture.callSid()
                #expect(try await post("/api/twilio/voice", [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: jobless)]) == 200)
                let orphan = await sandbox.state.addRecording(callSid: jobless, duration: 3)
                #expect(try await post("/api/twilio/recording", PipelineFixture.recordingCallback(
                    account: sandbox.seed.accountSID, callSid: jobless, recordingSid: orphan.sid, start: orphan.created, duration: 3)) == 204)
                let store = try SQLiteJobStore(directory: URL(fileURLWithPath: dataDir))
                _ = try await eventually { try await store.job(orphan.sid)?.state == .unmatched ? true : nil }
                let linked = try await RecopsBinary.run(["recordings", "link", jobless, "--job", "J-1003"] + common, environment: environment)
                #expect(linked.status == 0, "\(linked.stdout)\(linked.stderr)")
                #expect(linked.stdout == "\(orphan.sid) J-1003 linked\n")
                #expect(try await eventuallyLinked(sandbox, job: "J-1003").contains("-unmatched.mp3"))
                let again = try await RecopsBinary.run(["recordings", "link", orphan.sid, "--job", "J-1001"] + common, environment: environment)
                #expect(again.status == 1 && again.stderr.contains("no unmatched stored recording"))
            }
        }
    }
}

/// The job's first URL line, once it is there (at most 30 s).
func eventuallyLinked(_ sandbox: LocalSandbox, job: String) async throws -> String {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        let records = try await sandbox.dump()["airtable"]?["tables"]?.arrayValue?.first?["records"]?.arrayValue ?? []
        let history = records.first { $0["fields"]?["Job ID"]?.stringValue == job }?["fields"]?["job_history"]?.stringValue ?? ""
        if let line = try PipelineFixture.urlLines(history).first { return line }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw PipelineFixture.Unsettled(description: "no line for \(job) within 30 s")
}
