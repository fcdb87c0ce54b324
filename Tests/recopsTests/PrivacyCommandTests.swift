import Foundation
import RecopsBase
import RecopsTesting
import Testing
import Transport
import Twilio

/// The privacy commands as a user runs them beside a running `recops serve`: `recordings hold
/// --caller`, `recordings erase` (dry run, held, a second run) and `audit erasures`.
@Suite struct PrivacyCommandTests {
    static let caller = "+14155550111"

    static func objectLock(_ spec: String) -> String {
        spec.replacingOccurrences(of: "  versioning: false ", with: "  versioning: true\n  object_lock: true #")
    }

    @Test func eraseHoldAndTheErasureLogFromTheCommandLine() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let port = freeLoopbackPort()
                var (spec, environment) = try ServeCommandTests.setUp(moto: moto, sandbox: sandbox, port: port, edit: Self.objectLock)
                #expect(try String(contentsOfFile: spec, encoding: .utf8).contains("  object_lock: true"))
                environment["RECOPS_PRIVACY_KEY"] = "privacy-command-tests-key-0123456789abcdef"
                let apply = try await RecopsBinary.run(["apply", "--spec", spec, "--auto-approve"], environment: environment)
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("recops-privacy-\(UUID().uuidString)").path
                let server = try await ServeCommandTests.serve(spec: spec, port: port, dataDir: dataDir, environment: environment, extra: ["--startup-check", "off"])
                defer { server.killNow() }

                let appURL = "http://127.0.0.1:\(port)"
                let account = sandbox.seed.accountSID
                func post(_ path: String, _ parameters: [(name: String, value: String)]) async throws -> HTTPResponse {
                    let signature = TwilioSignature.compute(url: appURL + path, parameters: parameters, authToken: sandbox.seed.authToken)
                    return try await AsyncHTTPClientTransport().send(HTTPRequest(method: "POST", url: URL(string: appURL + path)!,
                        headers: [(name: "X-Twilio-Signature", value: signature), (name: "Content-Type", value: "application/x-www-form-urlencoded")],
                        body: Data(FormEncoding.encode(parameters).utf8)))
                }
                var recordings: [String] = []
                for job in ["J-1001", "J-1002"] {
                    let callSid = PipelineFixture.callSid()
                    #expect(try await post("/api/twilio/voice", [(name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "JobId", value: job),
                                                                (name: "From", value: Self.caller)]).isSuccess)
                    let recording = await sandbox.state.addRecording(callSid: callSid, duration: 4)
                    #expect(try await post("/api/twilio/recording", PipelineFixture.recordingCallback(account: account, callSid: callSid, recordingSid: recording.sid,
                                                                                                       start: recording.created, duration: 4)).isSuccess)
                    recordings.append(recording.sid)
                }
                let command = ["--spec", spec, "--data-dir", dataDir]
                _ = try await eventually { () -> Bool? in
                    let status = try await RecopsBinary.run(["status", "--format", "json"] + command, environment: environment)
                    let report = try? JSONDecoder().decode(JSONValue.self, from: Data(status.stdout.utf8))
                    return report?["queue"]?["linked"] == .number(2) ? true : nil
                }

                let neither = try await RecopsBinary.run(["recordings", "erase"] + command, environment: environment)
                #expect(neither.status != 0 && neither.stderr.contains("--caller, --job, --call or --recording"))
                var keyless = environment
                keyless["RECOPS_PRIVACY_KEY"] = nil
                let noKey = try await RecopsBinary.run(["recordings", "erase", "--caller", Self.caller] + command, environment: keyless)
                #expect(noKey.status == 1 && noKey.stderr.contains("RECOPS_PRIVACY_KEY is not set"), "\(noKey.stderr)")

                let hold = try await RecopsBinary.run(["recordings", "hold", "--recording", recordings[1]] + command, environment: environment)
                #expect(hold.status == 0 && hold.stdout.hasPrefix("held \(recordings[1])"), "\(hold.stdout)\(hold.stderr)")
                let status = try await RecopsBinary.run(["status"] + command, environment: environment)
                #expect(status.stdout.contains("Legal hold (1)") && status.stdout.contains("  \(recordings[1]) call "), "\(status.stdout)")

                let dry = try await RecopsBinary.run(["recordings", "erase", "--caller", "+1 415 555 0111", "--dry-run"] + command, environment: environment)
                #expect(dry.status == 2, "a held recording: \(dry.stdout)\(dry.stderr)")
                #expect(dry.stdout.contains("would erase \(recordings[0])") && dry.stdout.contains("Twilio's copy") && dry.stdout.contains("held \(recordings[1])"))
                #expect(!dry.stdout.contains("4155550111") && !dry.stderr.contains("4155550111"))

                let erase = try await RecopsBinary.run(["recordings", "erase", "--caller", Self.caller, "--reason", "ticket 42"] + command, environment: environment)
                #expect(erase.status == 2, "\(erase.stdout)\(erase.stderr)")
                #expect(erase.stdout.contains("erased \(recordings[0])") && erase.stdout.contains("held \(recordings[1])"), "\(erase.stdout)")
                #expect(erase.stdout.contains("the running service (") && erase.stdout.contains(") erases 1 recording(s)"), "serve's worker did it: \(erase.stdout)")
                let log = try await RecopsBinary.run(["audit", "erasures", "--json"] + command, environment: environment)
                #expect(log.status == 0)
                let lines = log.stdout.split(separator: "\n")
                #expect(lines.count == 1 && lines[0].contains("\"recordingSid\":\"\(recordings[0])\"") && lines[0].contains("\"reason\":\"ticket 42\"")
                        && lines[0].contains("\"scope\":\"caller\"") && lines[0].contains("\"completedAt\""), "\(log.stdout)")

                // Released, the held one goes too; the erased one is left as it is.
                let release = try await RecopsBinary.run(["recordings", "hold", "--caller", Self.caller, "--release"] + command, environment: environment)
                #expect(release.status == 0, "\(release.stdout)\(release.stderr)")
                let rest = try await RecopsBinary.run(["recordings", "erase", "--caller", Self.caller] + command, environment: environment)
                #expect(rest.status == 0 && rest.stdout.contains("erased \(recordings[1])") && rest.stdout.contains("already erased \(recordings[0])"), "\(rest.stdout)\(rest.stderr)")
                let again = try await RecopsBinary.run(["recordings", "erase", "--caller", Self.caller] + command, environment: environment)
                let againLines = again.stdout.split(separator: "\n")
                #expect(again.status == 0 && againLines.count == 2 && againLines.allSatisfy { $0.hasPrefix("already erased RE") }, "\(again.stdout)")
                let text = try await RecopsBinary.run(["audit", "erasures"] + command, environment: environment)
                #expect(text.stdout.split(separator: "\n").count == 2 && text.stdout.contains("by caller \(recordings[1])"), "\(text.stdout)")
                await server.stop()
            }
        }
    }
}
