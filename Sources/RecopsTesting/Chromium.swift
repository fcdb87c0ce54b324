import Foundation

/// Headless Chromium (Debian's `chromium`), for testing pages in a real browser: the DOM after
/// the page's navigations, and screenshots.
public enum Chromium {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static let common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                         "--hide-scrollbars", "--virtual-time-budget=8000"]

    /// The DOM of `url` once its navigations (a form that submits itself, redirects) are done.
    public static func dumpDOM(_ url: URL) async throws -> String {
        try await run(common + ["--dump-dom", url.absoluteString])
    }

    /// A PNG of `url` at `width`×`height` written to `file`.
    public static func screenshot(_ url: URL, to file: URL, width: Int = 1280, height: Int = 1800) async throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = try await run(common + ["--screenshot=\(file.path)", "--window-size=\(width),\(height)", url.absoluteString])
        guard FileManager.default.fileExists(atPath: file.path) else { throw Failure(description: "chromium wrote no screenshot to \(file.path)") }
    }

    static func run(_ arguments: [String]) async throws -> String {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let result = try await ChildProcess.run("chromium", arguments + ["--user-data-dir=\(profile.path)"], timeout: .seconds(60))
        guard result.status == 0 else {
            throw Failure(description: "chromium exited with \(result.status) (is Debian's chromium installed? scripts/test installs it)")
        }
        return result.stdout
    }
}
