import Foundation
import RecopsTesting

/// Runs the built `recops` executable, as a user or CI would, and captures what it prints.
struct RecopsBinary {
    typealias Run = ChildProcess.Result

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
    static func runOnTerminal(_ arguments: [String], input: String, environment: [String: String], in directory: URL = repositoryRoot) async throws -> Run {
        let command = ([path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try await run(["-qec", command, "/dev/null"], environment: environment, in: directory, executable: "/usr/bin/script", input: input)
    }

    static func run(_ arguments: [String], environment: [String: String], in directory: URL = repositoryRoot,
                    executable: String = path, input: String? = nil) async throws -> Run {
        try await ChildProcess.run(executable, arguments, environment: environment, in: directory, input: input, timeout: .seconds(300))
    }
}
