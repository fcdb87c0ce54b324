import Foundation
import Pipeline
import RecopsTesting
import Testing
import Transport

/// The listener `serve` runs, on a real port: clients that never finish a request are cut off at
/// the spec's deadlines, the connection cap holds, and signed callbacks are answered meanwhile.
@Suite struct ListenerTests {
    static func service(header: Duration = .seconds(10), body: Duration = .seconds(20), idle: Duration = .seconds(60), maxConnections: Int = 512) -> PipelineFixture.Overrides {
        .init(limits: ServiceLimits(maxConnections: maxConnections, headerTimeout: header, bodyTimeout: body, idleTimeout: idle))
    }

    static func metric(_ port: Int, _ line: String) async throws -> Bool {
        let response = try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/metrics")!))
        return String(decoding: response.body, as: UTF8.self).contains(line)
    }

    @Test func headersThatNeverEndAreCutOffAtTheHeaderDeadline() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox, overrides: Self.service(header: .seconds(2)))
            let (port, task) = try await harness.serve()
            defer { task.cancel() }
            let slow = try await RawConnection(port: port)
            // On a loaded machine the deadline may pass before this is even sent: then the send
            // meets a closed connection, which is the point.
            try? await slow.send("POST /api/twilio/recording HTTP/1.1\r\nHost: svc.example.com\r\nContent-Type: applic")
            #expect(await slow.waitClosed(timeout: .seconds(20)), "a request whose headers never end must be closed")
            #expect(try await Self.metric(port, "recops_connections_timed_out_total{phase=\"header\"} 1"))
        }
    }

    @Test func aBodyThatNeverEndsIsCutOffAtTheBodyDeadline() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox, overrides: Self.service(body: .seconds(1)))
            let (port, task) = try await harness.serve()
            defer { task.cancel() }
            let slow = try await RawConnection(port: port)
            try? await slow.send("POST /api/twilio/recording HTTP/1.1\r\nHost: svc.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 400\r\n\r\nAccountSid=AC")
            #expect(await slow.waitClosed(timeout: .seconds(20)), "a request whose body never ends must be closed")
            #expect(try await Self.metric(port, "recops_connections_timed_out_total{phase=\"body\"} 1"))
            // Nothing was stored from it.
            #expect(try await harness.store.countsByState().values.reduce(0, +) == 0)
        }
    }

    @Test func anIdleKeptAliveConnectionIsClosed() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox, overrides: Self.service(idle: .seconds(1)))
            let (port, task) = try await harness.serve()
            defer { task.cancel() }
            let idle = try await RawConnection(port: port)
            try await idle.send("GET /healthz HTTP/1.1\r\nHost: svc.example.com\r\n\r\n")
            #expect(await idle.waitResponse(timeout: .seconds(20))?.hasPrefix("HTTP/1.1 200") == true)
            #expect(await idle.waitClosed(timeout: .seconds(20)), "an idle kept-alive connection must be closed")
        }
    }

    /// An answer sent before the body was read (413 for an oversized one) leaves no connection
    /// without a deadline: Hummingbird closes it, and were it kept, the idle deadline would run
    /// once the body ended (the handler's early-answer path).
    @Test func aConnectionAnsweredEarlyIsStillClosedWhenIdle() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox, overrides: Self.service(body: .seconds(30), idle: .seconds(1)))
            let (port, task) = try await harness.serve()
            defer { task.cancel() }
            let client = try await RawConnection(port: port)
            let body = String(repeating: "a", count: 80_000)
            try await client.send("POST /api/twilio/recording HTTP/1.1\r\nHost: svc.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count + 10)\r\n\r\nPad=\(body)")
            #expect(await client.waitResponse(timeout: .seconds(20))?.hasPrefix("HTTP/1.1 413") == true)
            try? await client.send("aaaaaaaaaa")  // the body's end; then nothing more
            #expect(await client.waitClosed(timeout: .seconds(20)), "an answered, idle connection must be closed")
        }
    }

    /// 200 sockets that never finish their headers: a signed callback is still answered, before
    /// any of them is cut off (it did not wait for a free slot), and then all of them are.
    @Test func aSlowlorisLeavesSignedCallbacksAnswered() async throws {
        try await LocalSandbox.with { sandbox in
            // Long enough that opening 200 sockets on a loaded machine never outlasts it.
            let harness = try RouteHarness(sandbox: sandbox, overrides: Self.service(header: .seconds(20)))
            let (port, task) = try await harness.serve()
            defer { task.cancel() }
            var sockets: [RawConnection] = []
            for _ in 0..<200 {
                let socket = try await RawConnection(port: port)
                try await socket.send("POST /api/twilio/recording HTTP/1.1\r\nHost: svc.example.com\r\nX-Slow: ")
                sockets.append(socket)
            }
            let vector = try RouteHarness.vector("recording_status_callback")
            let signature = RouteHarness.sign("/api/twilio/recording", vector.params)
            let answer = try await AsyncHTTPClientTransport(timeout: .seconds(60)).send(HTTPRequest(
                method: "POST", url: URL(string: "http://127.0.0.1:\(port)/api/twilio/recording")!,
                headers: [(name: "X-Twilio-Signature", value: signature), (name: "Content-Type", value: "application/x-www-form-urlencoded")],
                body: Data(FormEncoding.encode(vector.params).utf8)))
            #expect(answer.status == 204)
            #expect(sockets.filter(\.isClosed).isEmpty, "the callback waited for the slowloris sockets to be cut off")
            for socket in sockets { #expect(await socket.waitClosed(timeout: .seconds(60))) }
        }
    }

    /// At the cap, a new connection waits in the listen queue until one closes; then it is served.
    @Test func theConnectionCapHolds() async throws {
        try await LocalSandbox.with { sandbox in
            let harness = try RouteHarness(sandbox: sandbox, overrides: Self.service(maxConnections: 16))
            let (port, task) = try await harness.serve()
            defer { task.cancel() }
            var open: [RawConnection] = []
            for _ in 0..<16 {
                // Answered, so accepted: each holds one of the 16 slots, kept alive.
                let socket = try await RawConnection(port: port)
                try await socket.send("GET /healthz HTTP/1.1\r\nHost: svc.example.com\r\n\r\n")
                #expect(await socket.waitResponse(timeout: .seconds(20)) != nil)
                open.append(socket)
            }
            let waiting = try await RawConnection(port: port)
            try await waiting.send("GET /healthz HTTP/1.1\r\nHost: svc.example.com\r\n\r\n")
            #expect(await waiting.waitResponse(timeout: .seconds(1)) == nil, "a 17th connection was served past a cap of 16")
            await open[0].close()
            #expect(await waiting.waitResponse(timeout: .seconds(20))?.hasPrefix("HTTP/1.1 200") == true)
            // At the cap again; one more closes, and the metrics request takes its place.
            await waiting.close()
            #expect(try await Self.metric(port, "recops_http_connections 16"))
        }
    }

    /// `/readyz` is unauthenticated: a flood of probes costs one check every few seconds.
    @Test func readinessIsCheckedOnceForAFloodOfProbes() async throws {
        try await LocalSandbox.with { sandbox in
            let checks = Counter()
            let harness = try RouteHarness(sandbox: sandbox, readiness: {
                await checks.add()
                return []
            })
            let (port, task) = try await harness.serve()
            defer { task.cancel() }
            let transport = AsyncHTTPClientTransport()
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await transport.send(HTTPRequest(method: "GET", url: URL(string: "http://127.0.0.1:\(port)/readyz")!)).status }
                }
                for try await status in group { #expect(status == 200) }
            }
            // 50 probes within the cache's 5 s (on a slow machine, a second check at most).
            #expect(await checks.value <= 2)
            #expect(await checks.value >= 1)
        }
    }

    actor Counter {
        var value = 0
        func add() { value += 1 }
    }
}
