import Foundation
import Transport

/// A server process the tests start on a free loopback port and always stop.
public final class LocalProcess: @unchecked Sendable {
    public let port: Int
    public let baseURL: URL
    private let process: Process
    private let logFile: URL

    /// Starts `executable arguments…` and waits until `readyPath` answers 2xx (or fails).
    public init(executable: String, arguments: [String], port: Int, environment: [String: String] = [:], readyPath: String, name: String) async throws {
        self.port = port
        self.baseURL = URL(string: "http://127.0.0.1:\(port)")!
        self.logFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(port).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
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
                              readyPath: String, name: String) async throws -> LocalProcess {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = freeLoopbackPort()
            do {
                return try await LocalProcess(executable: executable, arguments: arguments(port), port: port,
                                              environment: environment, readyPath: readyPath, name: name)
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

    /// How the process ended (nil while it runs): its exit status, or the signal that ended it.
    public var termination: (status: Int32, bySignal: Bool)? {
        process.isRunning ? nil : (process.terminationStatus, process.terminationReason == .uncaughtSignal)
    }

    /// What the process printed, for failure messages.
    public var output: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
}
