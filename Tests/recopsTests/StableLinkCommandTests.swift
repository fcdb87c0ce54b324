import Foundation
import RecopsTesting
import Testing
import Transport
import Twilio

/// The stable-link commands as a user runs them, beside a running `recops serve` on the same
/// data directory: `recordings revoke`, `recordings relink` and `audit access`.
@Suite struct StableLinkCommandTests {
    static func stableLinks(_ spec: String) -> String {
        spec.replacingOccurrences(of: "  signed_url_ttl: 15m\n", with: "  signed_url_ttl: 15m\n  links: stable\n")
    }

    @Test func revokeRelinkAndTheAuditFromTheCommandLine() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let port = freeLoopbackPort()
                let (spec, environment) = try ServeCommandTests.setUp(moto: moto, sandbox: sandbox, port: port, edit: Self.stableLinks)
                #expect(try String(contentsOfFile: spec, encoding: .utf8).contains("  links: stable\n"))
                let apply = try await RecopsBinary.run(["apply", "--spec", spec, "--auto-approve"], environment: environment)
                #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
                let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("recops-links-\(UUID().uuidString)").path
                let server = try await ServeCommandTests.serve(spec: spec, port: port, dataDir: dataDir, environment: environment, extra: ["--startup-check", "off"])
                defer { server.killNow() }

                // A call of J-1001, as Twilio sends it.
                let appURL = "http://127.0.0.1:\(port)"
                let account = sandbox.seed.accountSID
                let callSid = PipelineFixture.callSid()
                func post(_ path: String, _ parameters: [(name: String, value: String)]) async throws -> HTTPResponse {
                    let signature = TwilioSignature.compute(url: appURL + path, parameters: parameters, authToken: sandbox.seed.authToken)
                    return try await AsyncHTTPClientTransport().send(HTTPRequest(method: "POST", url: URL(string: appURL + path)!,
                        headers: [(name: "X-Twilio-Signature", value: signature), (name: "Content-Type", value: "application/x-www-form-urlencoded")],
                        body: Data(FormEncoding.encode(parameters).utf8)))
                }
                #expect(try await post("/api/twilio/voice", [(name: "AccountSid", value: account), (name: "CallSid", value: callSid), (name: "JobId", value: "J-1001")]).isSuccess)
                let recording = await sandbox.state.addRecording(callSid: callSid, duration: 4)
                #expect(try await post("/api/twilio/recording", PipelineFixture.recordingCallback(account: account, callSid: callSid, recordingSid: recording.sid,
                                                                                                   start: recording.created, duration: 4)).isSuccess)
                let link = try await eventually { () -> String? in
                    let records = try await sandbox.dump()["airtable"]?["tables"]?.arrayValue?.first?["records"]?.arrayValue ?? []
                    let history = records.first { $0["fields"]?["Job ID"]?.stringValue == "J-1001" }?["fields"]?["job_history"]?.stringValue ?? ""
                    return try PipelineFixture.urlLines(history).first
                }
                #expect(link.hasPrefix(appURL + "/r/"))
                let open = { try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: URL(string: link)!)) }
                #expect(try await open().status == 302)

                let command = ["--spec", spec, "--data-dir", dataDir]
                // Relinking a history already on stable links changes nothing.
                let relink = try await RecopsBinary.run(["recordings", "relink", "--job", "J-1001"] + command, environment: environment)
                #expect(relink.status == 0, "\(relink.stdout)\(relink.stderr)")
                #expect(relink.stdout.contains("J-1001: 0 lines relinked, 1 already stable"), "\(relink.stdout)")
                let neither = try await RecopsBinary.run(["recordings", "relink"] + command, environment: environment)
                #expect(neither.status != 0 && neither.stderr.contains("--job"))

                let revoke = try await RecopsBinary.run(["recordings", "revoke", callSid] + command, environment: environment)
                #expect(revoke.status == 0, "\(revoke.stdout)\(revoke.stderr)")
                #expect(revoke.stdout.contains("revoked \(recording.sid) J-1001 /r/"))
                #expect(try await open().status == 410)
                let unknown = try await RecopsBinary.run(["recordings", "revoke", "J-0000"] + command, environment: environment)
                #expect(unknown.status == 1 && unknown.stderr.contains("no stable link"))

                let csv = try await RecopsBinary.run(["audit", "access", "--format", "csv"] + command, environment: environment)
                #expect(csv.status == 0, "\(csv.stderr)")
                let rows = csv.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
                #expect(rows.count == 3, "\(csv.stdout)")
                #expect(rows[1].contains(",redirected,\(recording.sid),J-1001,") && rows[2].contains(",revoked,\(recording.sid),J-1001,"))
                let summary = try await RecopsBinary.run(["audit", "access", "--summary", "--format", "json"] + command, environment: environment)
                #expect(summary.status == 0, "nothing flagged: \(summary.stdout)\(summary.stderr)")
                #expect(summary.stdout.contains("\"refused\" : 1"), "\(summary.stdout)")
                let badDay = try await RecopsBinary.run(["audit", "access", "--since", "yesterday"] + command, environment: environment)
                #expect(badDay.status != 0 && badDay.stderr.contains("YYYY-MM-DD"))
                // No trail log files in the bucket: an empty report, not a failure.
                let trail = try await RecopsBinary.run(["audit", "access", "--cloudtrail"] + command, environment: environment)
                #expect(trail.status == 0, "\(trail.stdout)\(trail.stderr)")
                #expect(trail.stdout.contains("CloudTrail: no GetObject of a recording in the period"))
                await server.stop()

                // Relink needs the spec on stable links; serve with login needs the admin token.
                let (presigned, _) = try ServeCommandTests.setUp(moto: moto, sandbox: sandbox, port: port)
                let refused = try await RecopsBinary.run(["recordings", "relink", "--job", "J-1001", "--spec", presigned, "--data-dir", dataDir], environment: environment)
                #expect(refused.status == 1 && refused.stderr.contains("links: stable"))
                let (login, _) = try ServeCommandTests.setUp(moto: moto, sandbox: sandbox, port: port) {
                    Self.stableLinks($0).replacingOccurrences(of: "  links: stable\n", with: "  links: stable\n  link_access: login\n")
                }
                let noToken = try await RecopsBinary.run(["serve", "--spec", login, "--data-dir", dataDir, "--port", "0"], environment: environment)
                #expect(noToken.status == 1 && noToken.stderr.contains("RECOPS_ADMIN_TOKEN is not set"), "\(noToken.stderr)")
            }
        }
    }
}
