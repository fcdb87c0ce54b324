import AWS
import Foundation
import RecopsBase
import RecopsTesting
import Sandbox
import Testing
import Transport
import Twilio

/// The monthly rotation, end to end: `recops serve` signs with the pipeline user's key from a
/// credentials file, under moto's IAM checks, while calls arrive; `keys rotate
/// --write-credentials … --retire-old` hands it a new key and deletes the old one once the
/// service has moved to it. Every recording is stored and linked, none left pending.
@Suite struct KeyRotationServeTests {
    /// Not in AWS's key-id format, so no scanner mistakes it for a real key.
    static let shortLivedKey = "test-short-lived-key-id"
    @Test func aKeyRotatedUnderTheRunningServiceLosesNothing() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await moto.administrator()
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let port = freeLoopbackPort()
                var (spec, environment) = try ServeCommandTests.setUp(moto: moto, sandbox: sandbox, port: port)
                environment.merge(moto.environment(credentials: admin)) { $1 }
                let apply = try await RecopsBinary.run(["apply", "--spec", spec, "--auto-approve"], environment: environment)
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")

                // The service's key, in the file it reads; nothing in its environment.
                let directory = URL(fileURLWithPath: spec).deletingLastPathComponent()
                let credentials = directory.appendingPathComponent("aws/credentials").path
                let oldKey = try await IAMClient(aws: moto.client(credentials: admin)).createAccessKey(user: "recording-pipeline")
                try SharedConfigFiles.writeKey(path: credentials, profile: "pipeline", accessKeyID: oldKey.id, secretAccessKey: oldKey.secret)
                var service = environment
                service["AWS_ACCESS_KEY_ID"] = nil
                service["AWS_SECRET_ACCESS_KEY"] = nil
                service.merge(["AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": directory.appendingPathComponent("aws/config").path,
                               "AWS_PROFILE": "pipeline", "AWS_EC2_METADATA_DISABLED": "true", "HOME": directory.path]) { $1 }
                let dataDir = directory.appendingPathComponent("data").path
                let server = try await ServeCommandTests.serve(spec: spec, port: port, dataDir: dataDir, environment: service, extra: ["--startup-check", "off"])
                defer { server.killNow() }
                let transport = AsyncHTTPClientTransport(timeout: .seconds(5))
                let readyz = URL(string: "http://127.0.0.1:\(port)/readyz")!
                #expect(String(decoding: try await transport.send(HTTPRequest(method: "GET", url: readyz)).body, as: UTF8.self)
                    .contains("aws key \(oldKey.id) (profile pipeline ("))

                let account = sandbox.seed.accountSID, appURL = "http://127.0.0.1:\(port)"
                @Sendable func deliver(_ path: String, _ parameters: [(name: String, value: String)]) async throws {
                    let url = appURL + path
                    let response = try await transport.send(HTTPRequest(method: "POST", url: URL(string: url)!, headers: [
                        (name: "X-Twilio-Signature", value: TwilioSignature.compute(url: url, parameters: parameters, authToken: sandbox.seed.authToken)),
                        (name: "Content-Type", value: "application/x-www-form-urlencoded")], body: Data(FormEncoding.encode(parameters).utf8)))
                    guard response.isSuccess else { throw PipelineFixture.Unsettled(description: "\(path) answered \(response.status)") }
                }
                let jobs = ["J-1001", "J-1002", "J-1003"]
                let rotated = Locked(false)
                // Calls keep coming before, during and after the rotation.
                async let calls: [String] = withThrowingTaskGroup(of: [String].self) { group in
                    for sender in 0..<2 {
                        group.addTask {
                            var sent: [String] = []
                            var n = 0
                            while n < 8 || !rotated.value {
                                let callSid = PipelineFixture.callSid()
                                try await deliver("/api/twilio/voice", [(name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "JobId", value: jobs[(sender + n) % 3])])
                                let recording = await sandbox.state.addRecording(callSid: callSid, duration: 2)
                                try await deliver("/api/twilio/recording", PipelineFixture.recordingCallback(
                                    account: account, callSid: callSid, recordingSid: recording.sid, start: recording.created, duration: 2))
                                sent.append(recording.sid)
                                n += 1
                                try await Task.sleep(for: .milliseconds(150))
                            }
                            // A few more once the old key is gone.
                            for _ in 0..<3 {
                                let callSid = PipelineFixture.callSid()
                                try await deliver("/api/twilio/voice", [(name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "JobId", value: jobs[sender])])
                                let recording = await sandbox.state.addRecording(callSid: callSid, duration: 2)
                                try await deliver("/api/twilio/recording", PipelineFixture.recordingCallback(
                                    account: account, callSid: callSid, recordingSid: recording.sid, start: recording.created, duration: 2))
                                sent.append(recording.sid)
                            }
                            return sent
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                try await Task.sleep(for: .milliseconds(600))
                let rotation = try await RecopsBinary.run(["keys", "rotate", "--spec", spec, "--user", "recording-pipeline", "--write-credentials", credentials,
                                                            "--profile", "pipeline", "--retire-old", "--wait", "90", "--data-dir", dataDir], environment: environment)
                rotated.exchange(true)
                #expect(rotation.status == 0, "\(rotation.stderr)")
                #expect(rotation.stdout.isEmpty, "the secret went into the file, not to standard output")
                #expect(rotation.stderr.contains("retired \(oldKey.id)"))
                let sent = try await calls

                let keys = try await IAMClient(aws: moto.client(credentials: admin)).accessKeys("recording-pipeline")
                let newKey = try #require(keys.first?.id)
                #expect(keys.count == 1 && newKey != oldKey.id)
                #expect(try String(contentsOfFile: credentials, encoding: .utf8).contains(newKey))

                // Every recording stored and linked once, none pending.
                let deadline = ContinuousClock.now + .seconds(120)
                var lines: [String] = []
                var histories: [String] = []
                repeat {
                    let records = try await sandbox.dump()["airtable"]?["tables"]?.arrayValue?.first?["records"]?.arrayValue ?? []
                    histories = records.compactMap { $0["fields"]?["job_history"]?.stringValue }
                    lines = try histories.flatMap { try PipelineFixture.urlLines($0) }
                    if lines.count >= sent.count { break }
                    try await Task.sleep(for: .milliseconds(200))
                } while ContinuousClock.now < deadline
                #expect(lines.count == sent.count, "\(lines.count) lines for \(sent.count) recordings")
                #expect(!histories.contains { $0.contains("pending upload") })
                let status = try await RecopsBinary.run(["status", "--spec", spec, "--data-dir", dataDir, "--format", "json"], environment: service)
                let report = try JSONDecoder().decode(JSONValue.self, from: Data(status.stdout.utf8))
                #expect(report["queue"]?["linked"] == .number(Double(sent.count)), "\(status.stdout)")
                #expect(report["queue"]?["upload_pending"] == .number(0))
                #expect(report["signing_keys"]?.arrayValue?.compactMap { $0["access_key_id"]?.stringValue } == [newKey])
                #expect(String(decoding: try await transport.send(HTTPRequest(method: "GET", url: readyz)).body, as: UTF8.self).contains("aws key \(newKey) "))
                for secret in [oldKey.secret, admin.secretAccessKey] {
                    #expect(!rotation.stderr.contains(secret) && !status.stdout.contains(secret))
                }
            }
        }
    }

    /// Container credentials that expire before a presigned link would: `serve` signs with them,
    /// says where they come from, and warns at start-up that links may die early.
    @Test func shortLivedCredentialsAreWarnedOfAtStartUp() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let agent = try await LocalCredentialServer {
                    .init(credentials: AWSCredentials(accessKeyID: Self.shortLivedKey, secretAccessKey: MotoServer.bootstrapCredentials.secretAccessKey,
                                                      sessionToken: "short-lived-session-token"),
                          expiration: Date().addingTimeInterval(600))
                }
                let port = freeLoopbackPort()
                var (spec, environment) = try ServeCommandTests.setUp(moto: moto, sandbox: sandbox, port: port)
                environment["AWS_ACCESS_KEY_ID"] = nil
                environment["AWS_SECRET_ACCESS_KEY"] = nil
                let directory = URL(fileURLWithPath: spec).deletingLastPathComponent()
                environment.merge(agent.containerEnvironment.merging(["AWS_EC2_METADATA_DISABLED": "true", "HOME": directory.path,
                                                                      "RECOPS_LOG_LEVEL": "notice"]) { $1 }) { $1 }
                let server = try await ServeCommandTests.serve(spec: spec, port: port, dataDir: directory.appendingPathComponent("data").path,
                                                               environment: environment, extra: ["--startup-check", "off"])
                defer { server.killNow() }
                let readyz = try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/readyz")!))
                #expect(String(decoding: readyz.body, as: UTF8.self).contains("aws key \(Self.shortLivedKey) (container credentials (http://127.0.0.1:"))
                let output = server.output
                #expect(output.contains("presigned links may die before their signed_url_ttl"), "\(output.suffix(3000))")
                #expect(!output.contains("short-lived-session-token") && !output.contains(MotoServer.bootstrapCredentials.secretAccessKey))
                #expect(agent.count("container") >= 1)
            }
        }
    }
}
