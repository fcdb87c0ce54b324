import Foundation

/// WAV read directly: RIFF chunks, 16-bit PCM (what Twilio serves for a `.wav` recording), in
/// blocks, so memory stays flat for any length.
public final class WAVReader: PCMSource {
    public let sampleRate: Int
    public let channels: Int
    private let file: FileHandle
    private var remaining: Int

    public init(path: String) throws {
        let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        self.file = file
        func bytes(_ count: Int) throws -> Data {
            guard let data = try file.read(upToCount: count), data.count == count else { throw AudioDecodeError("\(path): truncated WAV header") }
            return data
        }
        func le(_ data: Data, _ at: Int, _ width: Int) -> Int {
            (0..<width).reduce(0) { $0 | Int(data[data.startIndex + at + $1]) << (8 * $1) }
        }
        let riff = try bytes(12)
        guard riff.prefix(4) == Data("RIFF".utf8), riff.suffix(4) == Data("WAVE".utf8) else { throw AudioDecodeError("\(path) is not a RIFF WAVE file") }
        var format: (channels: Int, rate: Int, bits: Int, tag: Int)?
        var dataSize = 0
        while true {
            let header = try bytes(8)
            let id = String(decoding: header.prefix(4), as: UTF8.self)
            let size = le(header, 4, 4)
            if id == "fmt " {
                let body = try bytes(size + size % 2)
                format = (le(body, 2, 2), le(body, 4, 4), le(body, 14, 2), le(body, 0, 2))
            } else if id == "data" {
                dataSize = size
                break
            } else {
                _ = try bytes(size + size % 2)
            }
        }
        guard let format, format.tag == 1 || format.tag == 0xFFFE, format.bits == 16, format.channels > 0, format.rate > 0 else {
            throw AudioDecodeError("\(path): only 16-bit PCM WAV is read")
        }
        channels = format.channels
        sampleRate = format.rate
        remaining = dataSize
    }

    deinit {
        try? file.close()
    }

    public func read(into buffer: inout [Int16]) throws -> Int {
        let want = min(buffer.count * 2, remaining)
        guard want > 1, let data = try file.read(upToCount: want), data.count > 1 else { return 0 }
        remaining -= data.count
        let count = data.count / 2
        data.withUnsafeBytes { raw in
            for index in 0..<count { buffer[index] = Int16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: Int16.self)) }
        }
        return count
    }
}
