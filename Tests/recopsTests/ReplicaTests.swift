import Foundation
import PostgresStore
import RecopsBase
import RecopsTesting
import Sandbox
import Spec
import Testing
import Transport
import Twilio

/// Several `recops serve` processes on one PostgreSQL store, one sandbox and one moto: crashes,
/// throttling and a rolling restart, judged from the outside (S3, the Airtable records, and the
/// sandbox's own count of requests per second).
@Suite(.enabled(if: TestPostgres.isEnabled, Comment(rawValue: TestPostgres.skipReason)))
struct ReplicaTests {
    /// Twenty jobs, so lines of different jobs compete for the base's 5 requests a second.
    static let seed: SandboxSeed = {
        var seed = SandboxSeed.standard
        seed.jobs = (1...20).map { SandboxSeed.Job(id: String(format: "recJOB%010d", $0), jobID: "J-\(2000 + $0)", history: nil) }
        return seed
    }()

    /// The replicas, each on its own port, restarted on the same port and under the same name.
    actor Replicas {
        let spec: String
        let environment: [String: String]
        let ports: [Int]
        private(set) var servers: [LocalProcess?]
        private(set) var kills = 0

        init(count: Int, spec: String, environment: [String: String]) {
            self.spec = spec
            self.environment = environment
            ports = (0..<count).map { _ in freeLoopbackPort() }
            servers = Array(repeating: nil, count: count)
        }

        func start(_ index: Int) async throws {
            let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("recops-replica-\(UUID().uuidString)").path
            servers[index] = try await ServeCommandTests.serve(spec: spec, port: ports[index], dataDir: dataDir, environment: environment,
                                                               extra: ["--startup-check", "off", "--replica-id", "replica-\(index)"])
        }

        func kill(_ index: Int) {
            servers[index]?.killNow()  // SIGKILL: no shutdown, no flush
            servers[index] = nil
            kills += 1
        }

        func stop(_ index: Int) async {
            await servers[index]?.stop(grace: .seconds(40))
            servers[index] = nil
        }

        func stopAll() async {
            for index in servers.indices { await stop(index) }
        }

        func output(_ index: Int) -> String { servers[index]?.output ?? "" }
    }

    /// Sends like Twilio behind a load balancer: to a replica, and on to the next one when it
    /// cannot be reached (a refused connection is all a load balancer may retry a POST on);
    /// again and again until a 2xx. Returns how many answers were not 2xx.
    static func deliver(_ path: String, _ parameters: [(name: String, value: String)], appURL: String, ports: [Int], authToken: String,
                        transport: AsyncHTTPClientTransport, until deadline: ContinuousClock.Instant) async throws -> Int {
        let signature = TwilioSignature.compute(url: appURL + path, parameters: parameters, authToken: authToken)
        var refusals = 0
        var index = Int.random(in: 0..<ports.count)
        while ContinuousClock.now < deadline {
            let request = HTTPRequest(method: "POST", url: URL(string: "http://127.0.0.1:\(ports[index])\(path)")!,
                                      headers: [(name: "X-Twilio-Signature", value: signature), (name: "Content-Type", value: "application/x-www-form-urlencoded")],
                                      body: Data(FormEncoding.encode(parameters).utf8))
            do {
                let response = try await transport.send(request)
                if response.isSuccess { return refusals }
                refusals += 1
            } catch {
                // Down: the next replica.
            }
            index = (index + 1) % ports.count
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PipelineFixture.Unsettled(description: "\(path) never acknowledged")
    }

    /// Every job's history, by job id, read from the sandbox.
    static func histories(_ sandbox: LocalSandbox) async throws -> [String: String] {
        var histories: [String: String] = [:]
        for record in try await sandbox.dump()["airtable"]?["tables"]?.arrayValue?.first?["records"]?.arrayValue ?? [] {
            if let job = record["fields"]?["Job ID"]?.stringValue { histories[job] = record["fields"]?["job_history"]?.stringValue ?? "" }
        }
        return histories
    }

    static func objectKeys(_ moto: MotoServer) async throws -> [String] {
        let listing = try JSONDecoder().decode(JSONValue.self, from: Data(try await AWSCLI(moto: moto).run(
            ["s3api", "list-objects-v2", "--bucket", PipelineFixture.bucket, "--prefix", "recordings/"]).utf8))
        return listing["Contents"]?.arrayValue?.compactMap { $0["Key"]?.stringValue } ?? []
    }

    /// The spec with a `store:` section, and the environment for replicas that reach Airtable
    /// and S3 through fault proxies.
    static func setUp(moto: MotoServer, sandbox: LocalSandbox, airtable: LocalProxy, s3: LocalProxy, database: PostgresSettings,
                      appPort: Int, edit: @escaping @Sendable (String) -> String = { $0 }) throws -> (spec: String, environment: [String: String]) {
        var (spec, environment) = try ServeCommandTests.setUp(moto: moto, sandbox: sandbox, port: appPort) {
            edit($0) + "\nstore:\n  url: ${RECOPS_DATABASE_URL}\n  max_connections: 6\nservice:\n  shutdown_timeout: 20s\n"
        }
        environment["RECOPS_DATABASE_URL"] = database.connectionURL()
        environment["AIRTABLE_API_BASE_URL"] = airtable.baseURL.absoluteString
        environment["AWS_ENDPOINT_URL"] = s3.baseURL.absoluteString
        // A dead replica's step is taken over after 6 s, not the production minute.
        environment["RECOPS_LEASE_SECONDS"] = "6"
        return (spec, environment)
    }

    /// One moto, one sandbox, fault proxies in front of both, a new database, the applied spec,
    /// and three replicas (not started).
    struct Cluster: Sendable {
        let moto: MotoServer
        let sandbox: LocalSandbox
        let airtable: LocalProxy
        let s3: LocalProxy
        let database: PostgresSettings
        let appPort: Int
        let spec: String
        let environment: [String: String]
        let replicas: Replicas
        let transport = AsyncHTTPClientTransport(timeout: .seconds(5))

        var appURL: String { "http://127.0.0.1:\(appPort)" }
        var account: String { sandbox.seed.accountSID }
        var jobs: [String] { ReplicaTests.seed.jobs.map(\.jobID) }

        /// `ReplicaTests.deliver` to this cluster's replicas; returns the non-2xx answers.
        func deliver(_ path: String, _ parameters: [(name: String, value: String)], until deadline: ContinuousClock.Instant) async throws -> Int {
            try await ReplicaTests.deliver(path, parameters, appURL: appURL, ports: replicas.ports, authToken: sandbox.seed.authToken,
                                           transport: transport, until: deadline)
        }
    }

    static func withCluster(edit: @escaping @Sendable (String) -> String = { $0 }, _ body: (Cluster) async throws -> Void) async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(seed: Self.seed, throttlePause: .seconds(1)) { sandbox in
                let airtable = try await LocalProxy(upstream: sandbox.baseURL)
                let s3 = try await LocalProxy(upstream: moto.endpoint)
                let database = try await TestPostgres.freshDatabase()
                let appPort = freeLoopbackPort()
                let (spec, environment) = try Self.setUp(moto: moto, sandbox: sandbox, airtable: airtable, s3: s3, database: database, appPort: appPort, edit: edit)
                let apply = try await RecopsBinary.run(["apply", "--spec", spec, "--auto-approve"], environment: environment)
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                let replicas = Replicas(count: 3, spec: spec, environment: environment)
                try await body(Cluster(moto: moto, sandbox: sandbox, airtable: airtable, s3: s3, database: database, appPort: appPort,
                                       spec: spec, environment: environment, replicas: replicas))
                await replicas.stopAll()
            }
        }
    }

    /// A monthly budget of 12 shared by three replicas: the store counts every request before
    /// it leaves, in one statement that refuses past the budget, so together they send exactly
    /// 12 (start-up checks included) and the rest of the lines wait queued.
    @Test func threeReplicasTogetherKeepToTheMonthlyBudget() async throws {
        try await Self.withCluster(edit: { $0.replacingOccurrences(of: "\nairtable:\n", with: "\nairtable:\n  monthly_request_budget: 12\n") }) { cluster in
            let before = try await cluster.sandbox.dump()["airtable"]?["served"]?.numberValue ?? 0
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<3 { group.addTask { try await cluster.replicas.start(index) } }
                try await group.waitForAll()
            }
            let deadline = ContinuousClock.now + .seconds(300)
            for (n, job) in (cluster.jobs + cluster.jobs).enumerated() {
                let callSid = PipelineFixture.callSid()
                _ = try await cluster.deliver("/api/twilio/voice", [(name: "AccountSid", value: cluster.account), (name: "CallSid", value: callSid), (name: "JobId", value: job)], until: deadline)
                let recording = await cluster.sandbox.state.addRecording(callSid: callSid, duration: 2)
                _ = try await cluster.deliver("/api/twilio/recording", PipelineFixture.recordingCallback(
                    account: cluster.account, callSid: callSid, recordingSid: recording.sid, start: recording.created.addingTimeInterval(Double(n)), duration: 2), until: deadline)
            }
            // Every recording stored, and some step refused by the budget: the month's requests are spent.
            while ContinuousClock.now < deadline {
                let stored = try await TestPostgres.integer(cluster.database, "SELECT count(*) FROM recordings WHERE state IN ('stored', 'linked')") ?? 0
                let refused = try await TestPostgres.integer(cluster.database, "SELECT count(*) FROM recordings WHERE last_error LIKE '%monthly Airtable budget%'") ?? 0
                if stored == 40, refused > 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let counted = try await TestPostgres.integer(cluster.database, "SELECT COALESCE(sum(requests), 0)::bigint FROM airtable_usage")
            let served = (try await cluster.sandbox.dump()["airtable"]?["served"]?.numberValue ?? 0) - before
            #expect(counted == 12, "the store counted exactly the budget")
            #expect(served == 12, "and exactly that many reached Airtable, from three replicas")
            let waiting = try await TestPostgres.integer(cluster.database, "SELECT count(*) FROM recordings WHERE state = 'stored'") ?? 0
            #expect(waiting > 0, "the rest wait queued")
        }
    }

    @Test func threeReplicasThroughKillsAndThrottlingLoseNothingAndDoubleNothing() async throws {
        try await Self.withCluster { cluster in
            let (moto, sandbox, airtable, s3, database, spec, environment, replicas) =
                (cluster.moto, cluster.sandbox, cluster.airtable, cluster.s3, cluster.database, cluster.spec, cluster.environment, cluster.replicas)
            // Started together: they migrate the new database once, under the advisory lock.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<3 { group.addTask { try await replicas.start(index) } }
                try await group.waitForAll()
            }
            let (account, jobs) = (cluster.account, cluster.jobs)
            let deadline = ContinuousClock.now + .seconds(600)

            // Ten senders, thirty recordings each, while replicas are killed and Airtable storms.
            let senders = 10, perSender = 30
            let sending = Locked(true)
            let sent = try await withThrowingTaskGroup(of: [(job: String, recording: String)].self) { group in
                for sender in 0..<senders {
                    group.addTask {
                        var sent: [(job: String, recording: String)] = []
                        for n in 0..<perSender {
                            let job = jobs[(sender * perSender + n) % jobs.count]
                            let callSid = PipelineFixture.callSid()
                            _ = try await cluster.deliver("/api/twilio/voice", [(name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "JobId", value: job)], until: deadline)
                            let recording = await sandbox.state.addRecording(callSid: callSid, duration: 2)
                            _ = try await cluster.deliver("/api/twilio/recording", PipelineFixture.recordingCallback(
                                account: account, callSid: callSid, recordingSid: recording.sid, start: recording.created, duration: 2), until: deadline)
                            sent.append((job, recording.sid))
                        }
                        return sent
                    }
                }
                group.addTask {
                    // At least ten kills, at random moments, of random replicas; each comes back.
                    var storms = 0
                    while await replicas.kills < 10 || sending.value {
                        try await Task.sleep(for: .milliseconds(Int.random(in: 400...1500)))
                        let victim = Int.random(in: 0..<3)
                        await replicas.kill(victim)
                        if Bool.random() { try await Task.sleep(for: .milliseconds(Int.random(in: 100...800))) }
                        try await replicas.start(victim)
                        storms += 1
                        if storms % 3 == 0 {
                            // Another client of the base pushed it over: Airtable refuses a run of requests.
                            try await airtable.add(FaultProxy.Rule(pathPrefix: "/v0/", action: .status, status: 429,
                                                                   body: #"{"errors":[{"error":"RATE_LIMIT_REACHED","message":"Rate limit exceeded"}]}"#, count: 6))
                        }
                    }
                    return []
                }
                var sent: [(job: String, recording: String)] = []
                var finishedSenders = 0
                for try await batch in group {
                    sent += batch
                    if !batch.isEmpty { finishedSenders += 1 }
                    if finishedSenders == senders { sending.exchange(false) }
                }
                return sent
            }
            #expect(sent.count == senders * perSender)
            #expect(await replicas.kills >= 10)

            // A replica that dies mid-upload: its recording is finished by another one. The
            // upload of this one recording (its key names its call) is held 4 s in the proxy.
            let callSid = PipelineFixture.callSid()
            try await s3.add(FaultProxy.Rule(method: "PUT", pathSuffix: "\(callSid)-\(jobs[0]).mp3", action: .latency, latencyMs: 4000, count: 1))
            _ = try await cluster.deliver("/api/twilio/voice", [(name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "JobId", value: jobs[0])], until: deadline)
            let slow = await sandbox.state.addRecording(callSid: callSid, duration: 2)
            _ = try await cluster.deliver("/api/twilio/recording", PipelineFixture.recordingCallback(
                account: account, callSid: callSid, recordingSid: slow.sid, start: slow.created, duration: 2), until: deadline)
            // Wait until a replica holds its transfer and its PUT is in the slow proxy.
            var holder: Int?
            while holder == nil, ContinuousClock.now < deadline {
                let row = try await TestPostgres.text(database, "SELECT state || ' ' || COALESCE(claimed_by, '-') FROM recordings WHERE recording_sid = '\(slow.sid)'")
                let held = try await s3.stats()["faults"]?.numberValue ?? 0
                let parts = row?.split(separator: " ").map(String.init) ?? []
                if parts.first.map({ $0 != "received" }) ?? false {
                    Issue.record("the slow upload finished before it was seen held: \(row ?? "")")
                    break
                }
                if parts.count == 2, parts[1].hasPrefix("replica-"), held > 0 { holder = Int(parts[1].dropFirst("replica-".count)) }
                else { try await Task.sleep(for: .milliseconds(20)) }
            }
            let victim = try #require(holder)
            await replicas.kill(victim)
            var finisher: String?
            while ContinuousClock.now < deadline {
                if let state = try await TestPostgres.text(database, "SELECT state FROM recordings WHERE recording_sid = '\(slow.sid)'"), state != "received" {
                    finisher = state
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(finisher == "stored" || finisher == "linked", "the recording of the dead replica was not finished: \(finisher ?? "nil")")
            try await replicas.start(victim)
            let all = sent + [(jobs[0], slow.sid)]

            // From the outside: every job's history has exactly its recordings' lines.
            let expected = Dictionary(grouping: all, by: \.job).mapValues(\.count)
            var histories: [String: String] = [:]
            var quiet = ContinuousClock.now + .seconds(60)
            var lines = 0
            repeat {
                histories = try await Self.histories(sandbox)
                if try jobs.allSatisfy({ try PipelineFixture.urlLines(histories[$0] ?? "").count >= expected[$0] ?? 0 }) { break }
                let now = try histories.values.map { try PipelineFixture.urlLines($0).count }.reduce(0, +)
                if now > lines { lines = now; quiet = ContinuousClock.now + .seconds(60) }
                try await Task.sleep(for: .milliseconds(250))
            } while ContinuousClock.now < quiet
            var linked: [String] = []
            for job in jobs {
                let urls = try PipelineFixture.urlLines(histories[job] ?? "")
                #expect(urls.count == expected[job], "\(job): \(urls.count) lines for \(expected[job] ?? 0) recordings")
                linked += urls.compactMap { URL(string: $0)?.path }
            }
            #expect(Set(linked).count == linked.count, "a line was written twice")
            // And in S3: one object per recording.
            let keys = try await Self.objectKeys(moto)
            #expect(keys.count == all.count)
            #expect(Set(linked.map { String($0.drop { $0 == "/" }.drop { $0 != "/" }.dropFirst()) }) == Set(keys))
            // Airtable never saw more than its 5 a second, by its own count.
            let peak = try await sandbox.dump()["airtable"]?["peak_per_second"]?.numberValue
            #expect(peak ?? 99 <= 5, "the sandbox saw \(peak ?? -1) requests in one second")
            // status reads the shared store as it reads SQLite.
            let status = try await RecopsBinary.run(["status", "--spec", spec, "--format", "json"], environment: environment)
            #expect(status.status == 0, "\(status.stderr)")
            let report = try JSONDecoder().decode(JSONValue.self, from: Data(status.stdout.utf8))
            #expect(report["queue"]?["linked"]?.numberValue == Double(all.count), "\(status.stdout.prefix(400))")
            let storms = try await airtable.stats()["faults"]?.numberValue ?? 0
            #expect(storms > 0, "no 429 storm reached the replicas")
            print("replicas: \(all.count) recordings, \(await replicas.kills) kills, \(Int(storms)) Airtable 429s from the proxy, sandbox peak \(Int(peak ?? -1))/s, "
                  + "sandbox throttled \(Int(try await sandbox.dump()["airtable"]?["throttled"]?.numberValue ?? -1))")
        }
    }

    /// SIGTERM one replica at a time, wait until it is ready again, go on, while calls arrive:
    /// the others take the traffic, and no voice webhook is refused.
    @Test func aRollingRestartRefusesNoVoiceWebhook() async throws {
        try await Self.withCluster { cluster in
            let (database, replicas) = (cluster.database, cluster.replicas)
            for index in 0..<3 { try await replicas.start(index) }
            let (account, jobs) = (cluster.account, cluster.jobs)
            let deadline = ContinuousClock.now + .seconds(600)
            let restarting = Locked(true)
            let (calls, refusals) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for sender in 0..<4 {
                    group.addTask {
                        var calls = 0, refusals = 0
                        while restarting.value || calls < 5 {
                            let callSid = PipelineFixture.callSid()
                            refusals += try await cluster.deliver("/api/twilio/voice", [(name: "AccountSid", value: account), (name: "CallSid", value: callSid),
                                                                                    (name: "JobId", value: jobs[(sender + calls) % jobs.count])], until: deadline)
                            calls += 1
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        return (calls, refusals)
                    }
                }
                group.addTask {
                    for index in 0..<3 {
                        await replicas.stop(index)  // SIGTERM, then up to 40 s to finish
                        try await replicas.start(index)
                        // Back in the rotation only once it says it is ready.
                        let ready = URL(string: "http://127.0.0.1:\(replicas.ports[index])/readyz")!
                        while try await cluster.transport.send(HTTPRequest(method: "GET", url: ready)).status != 200 {
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    restarting.exchange(false)
                    return (0, 0)
                }
                return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
            }
            #expect(calls >= 20)
            #expect(refusals == 0, "\(refusals) voice webhooks answered with an error")
            // Every call the webhook acknowledged is in the shared store.
            #expect(try await TestPostgres.integer(database, "SELECT count(*) FROM calls") == calls)
        }
    }
}
