import Foundation

/// Decoded audio, read in blocks: 16-bit samples, interleaved by channel. Sources stream from a
/// file in bounded memory, whatever its length.
public protocol PCMSource {
    var sampleRate: Int { get }
    var channels: Int { get }
    /// Fills `buffer` with up to `buffer.count` interleaved samples; 0 at the end.
    mutating func read(into buffer: inout [Int16]) throws -> Int
}

/// Why a file could not be decoded.
public struct AudioDecodeError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Opens the decoder `path`'s format needs: WAV by its RIFF header, MP3 otherwise.
public func openPCM(_ path: String) throws -> any PCMSource {
    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    let head = try handle.read(upToCount: 4) ?? Data()
    try handle.close()
    if head == Data("RIFF".utf8) { return try WAVReader(path: path) }
    return try MP3Decoder(path: path)
}
