import Foundation
import Pipeline
import RecopsBase

/// Runs a command to completion and captures what it printed: the one way tests run the AWS CLI,
/// Chromium and the `recops` binary.
///
/// The wait happens on a thread of its own. Swift concurrency has as many threads as cores (two
/// here), and the in-process sandbox, proxy and pipeline of every test running alongside serve
/// their requests on them: one blocked thread halves them all, two freeze them.
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public struct TimedOut: Error, CustomStringConvertible {
        public var command: String
        public var description: String { "\(command) did not finish in time and was killed" }
    }

    /// `executable arguments…`; `input` is typed on standard input (else it is /dev/null, never a
    /// terminal, as in CI). Killed after `timeout`.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, in directory: URL? = nil,
                           input: String? = nil, timeout: Duration = .seconds(120)) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Swift.Result {
                    try runBlocking(executable, arguments, environment: environment, in: directory, input: input, timeout: timeout)
                })
            }.start()
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]?, in directory: URL?,
                                    input: String?, timeout: Duration) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let timedOut = Locked(false)
        let killer = DispatchWorkItem {
            if process.isRunning { timedOut.exchange(true); process.terminate() }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.components.seconds * 1000)), execute: killer)
        defer { killer.cancel() }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Both pipes drained at once, so neither can fill and stall the child.
        let stderrData = Locked(Data())
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { stderrData.exchange(err.fileHandleForReading.readDataToEndOfFile()) }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        if timedOut.value { throw TimedOut(command: ([executable] + arguments.prefix(2)).joined(separator: " ")) }
        return Result(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData.value, as: UTF8.self))
    }
}
