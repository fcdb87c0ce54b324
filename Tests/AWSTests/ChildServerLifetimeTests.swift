import Foundation
import RecopsTesting
import Testing

/// A test process that dies leaves no server behind: each child server watches the process that
/// started it and is killed (SIGKILL: moto ignores SIGTERM) once that process is gone.
@Suite struct ChildServerLifetimeTests {
    @Test func aServerDiesWithTheProcessThatStartedIt() async throws {
        // A stand-in for the test process: a sleeper we can kill as a crash would.
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: "/bin/sleep")
        parent.arguments = ["600"]
        try parent.run()
        defer { if parent.isRunning { kill(parent.processIdentifier, SIGKILL) } }
        // A real HTTP server (python's), tied to the sleeper instead of to us.
        let server = try await LocalProcess.launch(executable: "python3", arguments: { ["-m", "http.server", "--bind", "127.0.0.1", "\($0)"] },
                                                   readyPath: "", name: "http.server", parent: parent.processIdentifier)
        defer { server.killNow() }
        #expect(server.termination == nil)
        kill(parent.processIdentifier, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(30)
        while server.termination == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(server.termination?.bySignal == true, "the server outlived the process that started it")
    }

    /// The children of `pid`, from /proc.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { candidate in
            // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after the ')'.
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].split(separator: " ").dropFirst(1).first == Substring(String(pid))
        }
    }

    /// Running, not a zombie (PID 1 of a container may never reap it).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    @Test func aServerThatExitsTakesItsWatchdogWithIt() async throws {
        let server = try await LocalProcess.launch(executable: "python3", arguments: { ["-m", "http.server", "--bind", "127.0.0.1", "\($0)"] },
                                                   readyPath: "", name: "http.server")
        let watchdogs = Self.children(of: server.pid)
        #expect(!watchdogs.isEmpty, "the server has its watchdog")
        await server.stop()
        let deadline = ContinuousClock.now + .seconds(30)
        while watchdogs.contains(where: Self.isAlive), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!watchdogs.contains(where: Self.isAlive), "a watchdog outlived its server")
    }
}
