import Foundation
import Transport

/// A server process the tests start on a free loopback port and always stop.
public final class LocalProcess: @unchecked Sendable {
    public let port: Int
    public let baseURL: URL
    private let process: Process
    private let logFile: URL

    /// A shell prologue that ties the server to the test process: a watchdog subshell polls the
    /// test process (`$1`) and SIGKILLs the server (which `exec` gives the shell's pid, `$$`) once
    /// it is gone, so a test process that crashes or is killed leaves no server behind. (A
    /// parent-death signal would follow the spawning thread, not the process; and moto ignores
    /// SIGTERM, hence SIGKILL.) The watchdog ends when the server does, and first closes every
    /// inherited descriptor: Foundation learns that its child ended from one of them, and would
    /// never see the server's end while the watchdog held it. bash, for `exec N>&-` past fd 9.
    static let tiedToParent = """
        parent=$1; shift
        ( for f in /proc/self/fd/*; do fd=${f##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"; done
          while kill -0 "$parent" 2>/dev/null && kill -0 $$ 2>/dev/null; do sleep 0.5; done
          kill -KILL $$ 2>/dev/null ) </dev/null >/dev/null 2>&1 &
        exec "$@"
        """

    /// Starts `executable arguments…` and waits until `readyPath` answers 2xx (or fails). The
    /// server dies with `parent` (default: this process).
    public init(executable: String, arguments: [String], port: Int, environment: [String: String] = [:], readyPath: String, name: String,
                parent: Int32 = getpid()) async throws {
        self.port = port
        self.baseURL = URL(string: "http://127.0.0.1:\(port)")!
        self.logFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(port).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", Self.tiedToParent, "recops-test-child", String(parent), executable] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        try process.run()

        let transport = AsyncHTTPClientTransport(timeout: .seconds(2))
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw StartFailure(name: name, log: (try? String(contentsOf: logFile, encoding: .utf8)) ?? "")
            }
            if let response = try? await transport.send(HTTPRequest(method: "GET", url: baseURL.appendingPathComponent(readyPath))), response.isSuccess {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        killNow()
        throw StartFailure(name: name, log: "not ready within 60 s")
    }

    /// Starts the server on a free port, trying another when the chosen one was taken meanwhile
    /// (a parallel test or an outgoing connection may grab it between the check and the bind).
    public static func launch(executable: String, arguments: (Int) -> [String], environment: [String: String] = [:],
                              readyPath: String, name: String, parent: Int32 = getpid()) async throws -> LocalProcess {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = freeLoopbackPort()
            do {
                return try await LocalProcess(executable: executable, arguments: arguments(port), port: port,
                                              environment: environment, readyPath: readyPath, name: name, parent: parent)
            } catch let failure as StartFailure where failure.log.contains("already in use") {
                lastError = failure
            }
        }
        throw lastError ?? StartFailure(name: name, log: "no free port")
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public var name: String
        public var log: String
        public var description: String { "\(name) did not start: \(log.suffix(2000))" }
    }

    /// SIGTERM with `grace` to finish, then SIGKILL. (A child of the test process may inherit a
    /// blocked SIGTERM and never see it, hence the deadline.) Polls with `Task.sleep`: never holds
    /// one of Swift concurrency's few threads while the server shuts down.
    public func stop(grace: Duration = .seconds(2)) async {
        let pid = process.processIdentifier
        guard pid > 0, process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        killNow()
    }

    /// SIGKILL (no shutdown, no flush), then waits the milliseconds until it is gone: for crash
    /// tests, `defer` and `deinit`. Polls rather than `waitUntilExit`, which needs a run loop that
    /// Swift concurrency's threads do not spin on Linux.
    public func killNow() {
        let pid = process.processIdentifier
        guard pid > 0, process.isRunning else { return }
        kill(pid, SIGKILL)
        while process.isRunning { usleep(1_000) }
    }

    deinit { killNow() }

    /// The server's process id (the shell `exec`s it, so it is the id the tests signal).
    public var pid: Int32 { process.processIdentifier }

    /// How the process ended (nil while it runs): its exit status, or the signal that ended it.
    public var termination: (status: Int32, bySignal: Bool)? {
        process.isRunning ? nil : (process.terminationStatus, process.terminationReason == .uncaughtSignal)
    }

    /// What the process printed, for failure messages.
    public var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
}
