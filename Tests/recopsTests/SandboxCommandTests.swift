import Foundation
import RecopsTesting
import Spec
import Testing

/// `recops sandbox` as a person runs it, and plan/apply/verify of the Twilio and Airtable parts
/// against it.
@Suite struct SandboxCommandTests {
    @Test func verifyTwilioAndAirtableAgainstTheSandboxProcess() async throws {
        let sandbox = try await LocalProcess.launch(executable: RecopsBinary.path, arguments: { ["sandbox", "--port", "\($0)", "--throttle-pause", "1"] },
                                                    readyPath: "_sandbox/state", name: "sandbox")
        let port = sandbox.port
        defer { sandbox.killNow() }
        // Separate recops processes cannot share one limiter: back-to-back commands may meet a
        // 429 and wait out the pause (30 s on Airtable; 1 s here).
        // It prints what to export; use exactly that.
        var environment: [String: String] = ["APP_URL": "https://rec.example.com", "PATH": "/usr/bin:/bin", "RECOPS_AIRTABLE_THROTTLE_PAUSE_SECONDS": "1"]
        for line in sandbox.output.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst(7).split(separator: "=", maxSplits: 1).map(String.init)
            environment[pair[0]] = pair[1]
        }
        #expect(environment["TWILIO_API_BASE_URL"] == "http://127.0.0.1:\(port)")
        #expect(environment["AIRTABLE_TOKEN"] != nil)

        let drift = try await RecopsBinary.run(["verify", "--only", "twilio", "airtable"], environment: environment)
        #expect(drift.status == 2, "\(drift.stdout)\(drift.stderr)")
        #expect(drift.stdout.contains("~ twilio.number/+15005550006 voice.url"))

        // Before apply the number has no voice URL: a simulated call says so and fails.
        let early = try await RecopsBinary.run(["sandbox", "call", "--to", "+15005550006"], environment: environment)
        #expect(early.status == 1)
        #expect(early.stderr.contains("has no voice URL"))

        let apply = try await RecopsBinary.run(["apply", "--only", "twilio,airtable", "--auto-approve"], environment: environment)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let verify = try await RecopsBinary.run(["verify", "--only", "twilio", "airtable", "--format", "json"], environment: environment)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(verify.stdout.utf8))
        #expect(report["status"] == .string("in_sync"))

        var wrong = environment
        wrong["AIRTABLE_TOKEN"] = "patWRONG"
        let denied = try await RecopsBinary.run(["verify", "--only", "airtable"], environment: wrong)
        #expect(denied.status == 1)
        #expect(denied.stdout.contains("could not check (credentials)"))
        #expect(!denied.stdout.contains("patWRONG") && !denied.stderr.contains("patWRONG"))
    }
}

extension SandboxCommandTests {
    @Test func aSeedFileChangesTheWorld() async throws {
        let seedFile = FileManager.default.temporaryDirectory.appendingPathComponent("seed-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: seedFile) }
        try #"""
        {"accountSID": "AC00000000000000000000000000000001", "authToken": "t0ken", "airtableToken": "sandbox-token-x",
         "numbers": [{"sid": "PN00000000000000000000000000000001", "phoneNumber": "+442071838750"}],
         "baseID": "appSEEDED00000001", "tableName": "Work Orders", "jobIDField": "Order", "historyField": "log",
         "jobs": [{"id": "recORDER00000001", "jobID": "W-1"}]}
        """#.write(to: seedFile, atomically: true, encoding: .utf8)
        let sandbox = try await LocalProcess.launch(executable: RecopsBinary.path, arguments: { ["sandbox", "--port", "\($0)", "--seed", seedFile.path] },
                                                    readyPath: "_sandbox/state", name: "sandbox-seeded")
        defer { sandbox.killNow() }
        #expect(sandbox.output.contains("export TWILIO_PHONE_NUMBER=+442071838750"))
        #expect(sandbox.output.contains("export AIRTABLE_TABLE='Work Orders'"))

        let bad = try await RecopsBinary.run(["sandbox", "--seed", "/nonexistent/seed.json"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("cannot read seed /nonexistent/seed.json"))
    }
}
