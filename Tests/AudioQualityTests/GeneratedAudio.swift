import Foundation

/// Real recordings made at test time by Debian's tools: `espeak-ng` speaks, `sox` makes
/// silence, noise, clipping and two-channel files, `lame` encodes at Twilio's 8 kHz, 32 kbps.
/// scripts/test installs them; without them the tests fail saying so (never skip quietly).
enum GeneratedAudio {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("recops-audio-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let found = ["/usr/bin/", "/usr/local/bin/", "/bin/"].map { $0 + tool }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let executable = found else { throw Missing(description: "\(tool) is not installed (apt-get install espeak-ng sox lame; scripts/test does)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Missing(description: "\(tool) \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
        return String(decoding: message, as: UTF8.self)
    }

    /// A spoken sentence at 8 kHz mono, 16-bit: made once per test process (a static is
    /// initialised once, so tests running at once never read a half-written file).
    static func speechWAV() throws -> String { try speech.get() }

    private static let speech: Result<String, any Error> = Result {
        let out = path("speech.wav")
        let raw = path("speech-raw.wav")
        try run("espeak-ng", ["-w", raw, "-s", "150", "Hello, this is the office calling about job one thousand and one. The engineer will arrive tomorrow morning between eight and ten, and will call you first."])
        try run("sox", [raw, "-r", "8000", "-c", "1", "-b", "16", out])
        return out
    }

    /// `sox` with the speech as input, to `name`.
    static func fromSpeech(_ name: String, _ effects: [String], channels: Int? = nil) throws -> String {
        let out = path(name)
        try run("sox", [try speechWAV(), "-b", "16"] + (channels.map { ["-c", String($0)] } ?? []) + [out] + effects)
        return out
    }

    static func silenceWAV(seconds: Int) throws -> String {
        let out = path("silence-\(seconds).wav")
        try run("sox", ["-n", "-r", "8000", "-c", "1", "-b", "16", out, "trim", "0", String(seconds)])
        return out
    }

    /// Twilio's MP3: 32 kbps at 8 kHz; dual-channel as stereo.
    static func mp3(_ wav: String, stereo: Bool = false) throws -> String {
        let out = wav.replacingOccurrences(of: ".wav", with: ".mp3")
        try run("lame", ["--silent", "-b", "32", "-m", stereo ? "s" : "m", wav, out])
        return out
    }
}
