import Foundation

/// gzip-compressed bytes, made by the system's `gzip` (as CloudTrail delivers its log files).
public enum Gzip {
    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    public static func compress(_ data: Data) async throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("log.json")
        try data.write(to: file)
        let result = try await ChildProcess.run("gzip", ["-n", file.path])
        guard result.status == 0 else { throw Failed(description: "gzip exited with \(result.status): \(result.stderr)") }
        return try Data(contentsOf: file.appendingPathExtension("gz"))
    }
}
