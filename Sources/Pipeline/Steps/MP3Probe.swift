import Foundation

/// Reads an MP3 file's MPEG audio frames, streaming: how many, and how long they play.
///
/// Enough of the format to tell audio from anything else (an error page saved as .mp3, a
/// truncated download): an ID3v2 tag is skipped, then every frame header must be valid and each
/// frame must start where the previous one ended. A trailing ID3v1 tag is allowed.
public enum MP3Probe {
    public struct Result: Sendable, Equatable {
        public var frames: Int
        public var seconds: Double
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// bitrate kbit/s by [version index (MPEG-1 = 0, MPEG-2/2.5 = 1)][layer index (I = 0)][bitrate index]
    static let bitrates: [[[Int]]] = [
        [[0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0],
         [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0],
         [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0]],
        [[0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0],
         [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
         [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0]],
    ]
    static let sampleRates: [Int: [Int]] = [3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]]

    /// One frame header: its length in bytes and the samples it holds, or nil when it is not one.
    static func frame(_ b: [UInt8]) -> (bytes: Int, samples: Int, rate: Int)? {
        guard b.count >= 4, b[0] == 0xFF, b[1] & 0xE0 == 0xE0 else { return nil }
        let version = Int((b[1] >> 3) & 0x3)   // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        let layerBits = Int((b[1] >> 1) & 0x3)  // 3: I, 2: II, 1: III
        let bitrateIndex = Int(b[2] >> 4)
        let rateIndex = Int((b[2] >> 2) & 0x3)
        let padding = Int((b[2] >> 1) & 0x1)
        guard version != 1, layerBits != 0, bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3,
              let rate = sampleRates[version]?[rateIndex] else { return nil }
        let layer = 4 - layerBits  // 1, 2, 3
        let bitrate = bitrates[version == 3 ? 0 : 1][layer - 1][bitrateIndex] * 1000
        switch layer {
        case 1:
            return ((12 * bitrate / rate + padding) * 4, 384, rate)
        case 2:
            return (144 * bitrate / rate + padding, 1152, rate)
        default:
            let samples = version == 3 ? 1152 : 576
            return (samples / 8 * bitrate / rate + padding, samples, rate)
        }
    }

    public static func probe(_ file: URL) throws -> Result {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var buffer: [UInt8] = []
        var offset = 0  // of buffer[0] in the file
        var position = 0
        var eof = false
        /// Makes sure `count` bytes from `position` are buffered (fewer at the end of the file).
        func fill(_ count: Int) throws {
            while !eof, position - offset + count > buffer.count {
                if position - offset > 1 << 20 {
                    buffer.removeFirst(position - offset)
                    offset = position
                }
                if let chunk = try handle.read(upToCount: 1 << 18), !chunk.isEmpty { buffer += chunk } else { eof = true }
            }
        }
        func bytes(_ count: Int) -> [UInt8] {
            let start = position - offset
            return Array(buffer[start..<min(buffer.count, start + count)])
        }
        try fill(10)
        let head = bytes(10)
        if head.count == 10, head[0] == 0x49, head[1] == 0x44, head[2] == 0x33 {  // "ID3"
            let size = head[6...9].reduce(0) { $0 << 7 | Int($1 & 0x7F) }
            position += 10 + size + (head[5] & 0x10 != 0 ? 10 : 0)
        }
        var frames = 0
        var seconds = 0.0
        while true {
            try fill(4)
            let header = bytes(4)
            if header.isEmpty { break }
            if header.count >= 3, header[0] == 0x54, header[1] == 0x41, header[2] == 0x47, frames > 0 { break }  // "TAG": ID3v1 at the end
            guard let frame = frame(header) else {
                throw Invalid(description: frames == 0 ? "not MP3: no MPEG audio frame at the start" : "not MP3 after \(frames) frames: no frame header at byte \(position)")
            }
            try fill(frame.bytes)
            guard bytes(frame.bytes).count == frame.bytes else {
                throw Invalid(description: "truncated: the last frame (\(frames + 1)) ends \(frame.bytes - bytes(frame.bytes).count) bytes after the file")
            }
            position += frame.bytes
            frames += 1
            seconds += Double(frame.samples) / Double(frame.rate)
        }
        guard frames > 0 else { throw Invalid(description: "not MP3: empty") }
        return Result(frames: frames, seconds: seconds)
    }

    /// The quality check on a downloaded recording: it is MP3, and it plays as long as Twilio
    /// says (within 2 s or 5 %, whichever is larger). Returns the problem, or nil.
    public static func problem(file: URL, expectedSeconds: Int?) -> String? {
        do {
            let result = try probe(file)
            guard let expected = expectedSeconds else { return nil }
            let tolerance = max(2.0, Double(expected) * 0.05)
            if abs(result.seconds - Double(expected)) > tolerance {
                return String(format: "plays %.1f s, Twilio says %d s", result.seconds, expected)
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
