import Foundation
import Pipeline
import RecopsTesting
import Testing
import Transport

/// The operations page's sessions are server-side, expiring and revocable; wrong tokens are
/// throttled per client; cross-site POSTs are refused; every answer carries the browser headers.
@Suite struct OpsSessionTests {
    static let token = "ops-session-token-0123456789"
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func sessionsExpireAreRevocableAndKeepOnlyAHash() {
        let sessions = OpsSessions()
        let id = sessions.create(now: Self.start)
        #expect(id.utf8.count >= 43)  // 256 bits, base64url
        #expect(sessions.isValid(id, now: Self.start.addingTimeInterval(60)))
        #expect(!sessions.isValid(id + "x", now: Self.start.addingTimeInterval(60)))
        // Unused for an hour: gone.
        #expect(!sessions.isValid(id, now: Self.start.addingTimeInterval(60 + OpsSessions.idleLimit + 1)))
        // In use, but past its lifetime: gone.
        let busy = sessions.create(now: Self.start)
        var now = Self.start
        while now.timeIntervalSince(Self.start) < OpsSessions.lifetime - 1800 {
            now = now.addingTimeInterval(1800)
            #expect(sessions.isValid(busy, now: now))
        }
        #expect(!sessions.isValid(busy, now: Self.start.addingTimeInterval(OpsSessions.lifetime + 1)))
        // Revoked: gone at once.
        let revoked = sessions.create(now: Self.start)
        sessions.revoke(revoked)
        #expect(!sessions.isValid(revoked, now: Self.start))
    }

    @Test func wrongTokensAreThrottledPerClient() {
        let sessions = OpsSessions()
        for attempt in 0..<OpsSessions.maxFailures {
            #expect(sessions.attempt("10.0.0.1", now: Self.start) == nil, "attempt \(attempt)")
        }
        #expect(sessions.attempt("10.0.0.1", now: Self.start.addingTimeInterval(10)) == 50)
        #expect(sessions.attempt("10.0.0.2", now: Self.start) == nil)  // another client is not held up
        #expect(sessions.attempt("10.0.0.1", now: Self.start.addingTimeInterval(OpsSessions.failureWindow)) == nil)
    }

    /// Attempts are counted before the token is compared: parallel guesses cannot all pass one
    /// check; a right token gives its attempt back.
    @Test func parallelGuessesGetNoMoreThanTheBudget() async {
        let sessions = OpsSessions()
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 { group.addTask { sessions.attempt("10.0.0.9", now: Self.start) == nil } }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        #expect(admitted == OpsSessions.maxFailures)
        let other = OpsSessions()
        for _ in 0..<20 {
            #expect(other.attempt("10.0.0.8", now: Self.start) == nil)
            other.succeeded("10.0.0.8")
        }
    }

    func request(_ port: Int, _ method: String, _ path: String, body: String = "", headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await AsyncHTTPClientTransport().send(HTTPRequest(method: method, url: URL(string: "http://127.0.0.1:\(port)\(path)")!,
                                                              headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded")] + headers,
                                                              body: Data(body.utf8)))
    }

    @Test func signOutRevokesTheSessionOnTheServer() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let (port, task) = try await harness.serve(adminToken: Self.token)
            defer { task.cancel() }
            let login = try await request(port, "POST", "/ops/login", body: "token=\(Self.token)")
            #expect(login.status == 303)
            let setCookie = try #require(login.header("Set-Cookie"))
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax") && !setCookie.contains(Self.token))
            let cookie = try #require(setCookie.split(separator: ";").first.map(String.init))
            #expect(try await request(port, "GET", "/ops", headers: [(name: "Cookie", value: cookie)]).status == 200)
            // Two sign-ins are two sessions: the cookie is no fixed function of the token.
            let second = try await request(port, "POST", "/ops/login", body: "token=\(Self.token)")
            #expect(second.header("Set-Cookie")?.split(separator: ";").first.map(String.init) != cookie)
            #expect(try await request(port, "POST", "/ops/logout", headers: [(name: "Cookie", value: cookie)]).status == 303)
            // The same cookie, kept by anyone, no longer lets them in.
            #expect(try await request(port, "GET", "/ops", headers: [(name: "Cookie", value: cookie)]).status == 401)
        }
    }

    @Test func guessingIsThrottledAndCrossSitePostsAreRefused() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox)
            let (port, task) = try await harness.serve(adminToken: Self.token)
            defer { task.cancel() }
            // A hostile page posting guesses from the admin's browser is refused, and throttled on
            // a budget of its own (so is a script that fakes the header) …
            let crossSite = (name: "Sec-Fetch-Site", value: "cross-site")
            for _ in 0..<OpsSessions.maxFailures {
                #expect(try await request(port, "POST", "/ops/login", body: "token=guess", headers: [crossSite]).status == 403)
            }
            #expect(try await request(port, "POST", "/ops/login", body: "token=guess", headers: [crossSite]).status == 429)
            // … which leaves the address's own sign-ins alone.
            for _ in 0..<OpsSessions.maxFailures {
                #expect(try await request(port, "POST", "/ops/login", body: "token=guess").status == 401)
            }
            let throttled = try await request(port, "POST", "/ops/login", body: "token=guess")
            #expect(throttled.status == 429)
            #expect(Int(throttled.header("Retry-After") ?? "") ?? 0 > 0)
            // While throttled, even the right token waits: guessing cannot go on at one a second.
            #expect(try await request(port, "POST", "/ops/login", body: "token=\(Self.token)").status == 429)

            // A browser on another site posting a retry or a sign-in: refused before anything else.
            let bearer = (name: "Authorization", value: "Bearer \(Self.token)")
            let sid = "RE" + String(repeating: "a", count: 32)
            #expect(try await request(port, "POST", "/ops/retry/\(sid)", headers: [bearer, (name: "Sec-Fetch-Site", value: "cross-site")]).status == 403)
            #expect(try await request(port, "POST", "/ops/retry/\(sid)", headers: [bearer, (name: "Origin", value: "https://evil.example")]).status == 403)
            #expect(try await request(port, "POST", "/ops/logout", headers: [(name: "Origin", value: "null")]).status == 403)
            // From the page itself it goes through (404: nothing to retry).
            #expect(try await request(port, "POST", "/ops/retry/\(sid)", headers: [bearer, (name: "Sec-Fetch-Site", value: "same-origin")]).status == 404)
            #expect(try await request(port, "POST", "/ops/retry/\(sid)", headers: [bearer, (name: "Origin", value: "http://127.0.0.1:\(port)")]).status == 404)

            let page = try await request(port, "GET", "/ops", headers: [bearer])
            #expect(page.status == 200)
            let csp = try #require(page.header("Content-Security-Policy"))
            #expect(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && csp.contains("style-src 'sha256-"))
            #expect(page.header("X-Frame-Options") == "DENY")
            #expect(page.header("Referrer-Policy") == "no-referrer")
            #expect(page.header("X-Content-Type-Options") == "nosniff")
            #expect(throttled.header("X-Frame-Options") == "DENY")
        }
    }
}
