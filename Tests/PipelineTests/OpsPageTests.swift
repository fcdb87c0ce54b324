import Foundation
import Pipeline
import RecopsBase
import RecopsTesting
import Testing
import Transport

/// The operations page: locked without the token, then read in a real browser (headless
/// Chromium): the numbers, the charts, the pending job and its labelled retry button.
@Suite struct OpsPageTests {
    static let token = "ops-test-token-0123456789"

    func get(_ fixture: PipelineFixture, _ path: String, headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: URL(string: fixture.appURL + path)!, headers: headers))
    }

    func post(_ fixture: PipelineFixture, _ path: String, body: String = "", headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await AsyncHTTPClientTransport().send(HTTPRequest(method: "POST", url: URL(string: fixture.appURL + path)!,
                                                              headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")] + headers, body: Data(body.utf8)))
    }

    @Test func theOperationsPageInARealBrowser() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, adminToken: Self.token)
                try await fixture.recordedCall(job: "J-1001")
                try await fixture.recordedCall(job: "J-1002")
                _ = try await fixture.settle(expecting: 2)
                // Airtable goes down: the next recording is stored, its line waits with an error.
                await sandbox.state.startAirtableOutage(requests: 100_000)
                let (waiting, _) = try await fixture.recordedCall(job: "J-1003")
                let stuck = try await eventually { () -> RecordingJob? in
                    let job = try await fixture.store.job(waiting)
                    return job?.state == .stored && job?.lastError != nil ? job : nil
                }
                #expect(stuck.lastError?.contains("503") == true)
                // A caller who never gave a job.
                _ = try await fixture.post("/api/twilio/voice", [(name: "AccountSid", value: sandbox.seed.accountSID), (name: "CallSid", value: PipelineFixture.callSid()), (name: "From", value: "+14155550199")])

                // Locked: no token, a wrong one, a forged cookie.
                let anonymous = try await get(fixture, "/ops")
                #expect(anonymous.status == 401)
                #expect(String(decoding: anonymous.body, as: UTF8.self).contains("<label for=\"token\">"))
                #expect(try await post(fixture, "/ops/login", body: "token=guess").status == 401)
                #expect(try await get(fixture, "/ops", headers: [(name: "Cookie", value: "recops_ops=\(Self.token)")]).status == 401)
                #expect(try await post(fixture, "/ops/retry/\(waiting)").status == 401)
                let login = try await post(fixture, "/ops/login", body: "token=\(Self.token)")
                #expect(login.status == 303)
                let cookie = try #require(login.header("Set-Cookie"))
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains(Self.token))
                #expect(try await get(fixture, "/ops", headers: [(name: "Authorization", value: "Bearer \(Self.token)")]).status == 200)

                // The browser signs in through the form, as a person would, and lands on the page.
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let signIn = directory.appendingPathComponent("sign-in.html")
                try """
                    <!DOCTYPE html><html><body><form method="post" action="\(fixture.appURL)/ops/login">
                    <input name="token" value="\(Self.token)"></form><script>document.forms[0].submit()</script></body></html>
                    """.write(to: signIn, atomically: true, encoding: .utf8)
                let dom = try await Chromium.dumpDOM(signIn)
                #expect(dom.contains("<h1>recops operations</h1>"), "\(dom.prefix(500))")
                #expect(dom.contains("<h2>Status</h2>"))
                #expect(dom.contains("<dt>Success rate</dt><dd>66.7 %</dd>"))
                #expect(dom.contains("<dt>Recordings, last 24 h</dt><dd>3 received, 2 linked</dd>"))
                #expect(dom.contains("<svg role=\"img\" aria-labelledby=\"hourly hourly-desc\""))
                #expect(dom.contains("<svg role=\"img\" aria-labelledby=\"latency latency-desc\""))
                #expect(dom.contains("<caption>Recordings not yet linked, oldest first</caption>"))
                #expect(dom.contains("<th scope=\"col\">Last error</th>"))
                #expect(dom.contains("<td>\(waiting)</td>"))
                #expect(dom.contains("aria-label=\"Retry recording \(waiting) now\""))
                #expect(dom.contains("<td>+14155550199</td>"))

                let artifacts = ProvisionFixture.repositoryRoot.appendingPathComponent("artifacts")
                let screenshot = artifacts.appendingPathComponent("ops-page.png")
                try await Chromium.screenshot(signIn, to: screenshot)
                let png = try Data(contentsOf: screenshot)
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000)

                // The retry button's request: the job is due again at once.
                await sandbox.state.startAirtableOutage(requests: 0)
                let retry = try await post(fixture, "/ops/retry/\(waiting)", headers: [(name: "Authorization", value: "Bearer \(Self.token)")])
                #expect(retry.status == 303)
                #expect(retry.header("Location") == "/ops?retried=\(waiting)")
                #expect(try await fixture.settle(expecting: 3, timeout: .seconds(20)).allSatisfy { $0.state == .linked })
            }
        }
    }

    @Test func withoutTheTokenThePageIsOff() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                let page = try await get(fixture, "/ops", headers: [(name: "Authorization", value: "Bearer ")])
                #expect(page.status == 404)
                #expect(String(decoding: page.body, as: UTF8.self) == "the operations page is off: set RECOPS_ADMIN_TOKEN to turn it on\n")
                #expect(try await post(fixture, "/ops/login", body: "token=").status == 404)
                #expect(try await post(fixture, "/ops/retry/RE" + String(repeating: "0", count: 32)).status == 404)
            }
        }
    }
}
