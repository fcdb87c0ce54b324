import Foundation

/// Runs the built `recops` executable, as a user or CI would, and captures what it prints.
struct RecopsBinary {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The executable sits beside the test bundle in the build folder.
    static var path: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On Linux the runner is `…/debug/recopsPackageTests.xctest`; elsewhere it is inside a bundle.
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("recops").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug/recops").path
    }

    /// As `run`, but on a pseudo-terminal (util-linux `script`), typing `input`: for prompts.
    static func runOnTerminal(_ arguments: [String], input: String, environment: [String: String]) async throws -> Run {
        let command = ([path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try await run(["-qec", command, "/dev/null"], environment: environment, executable: "/usr/bin/script", input: input)
    }

    /// Waits on a thread of its own: blocking one of the few threads Swift concurrency runs on
    /// would starve the in-process servers of tests running alongside.
    static func run(_ arguments: [String], environment: [String: String], in directory: URL = repositoryRoot,
                    executable: String = path, input: String? = nil) async throws -> Run {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try runBlocking(arguments, environment: environment, in: directory, executable: executable, input: input) })
            }.start()
        }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String], in directory: URL,
                                    executable: String, input: String?) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        let stdin = Pipe()
        // Never a terminal, as in CI (unless `script` makes one).
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Read before waiting so a large output cannot fill the pipe and stall the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}
