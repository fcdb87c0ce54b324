import CMPG123
import Foundation

/// MP3 through libmpg123's feed API: the file is read 64 KiB at a time and decoded to 16-bit
/// samples at its own rate and channel count, so memory stays flat for any length.
public final class MP3Decoder: PCMSource {
    public private(set) var sampleRate = 0
    public private(set) var channels = 0
    private let handle: OpaquePointer
    private let file: FileHandle
    private var input = true
    private var pending: [Int16] = []

    static let chunk = 64 << 10

    public init(path: String) throws {
        var error: Int32 = 0
        guard let handle = mpg123_new(nil, &error) else { throw AudioDecodeError("libmpg123: \(String(cString: mpg123_plain_strerror(error)))") }
        self.handle = handle
        mpg123_param2(handle, Int32(MPG123_ADD_FLAGS.rawValue), Int(MPG123_QUIET.rawValue), 0)
        // 16-bit integers at whatever rate and channels the file has.
        mpg123_format_none(handle)
        for rate in [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000] {
            mpg123_format(handle, rate, Int32(MPG123_MONO.rawValue | MPG123_STEREO.rawValue), Int32(MPG123_ENC_SIGNED_16.rawValue))
        }
        guard mpg123_open_feed(handle) == MPG123_OK.rawValue else {
            mpg123_delete(handle)
            throw AudioDecodeError("libmpg123: cannot open a feed")
        }
        do {
            file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            mpg123_delete(handle)
            throw AudioDecodeError("cannot open \(path): \(error)")
        }
        // The format is known after the first frames: decode until it is.
        var first: [Int16] = []
        while sampleRate == 0 {
            guard try decode(into: &first) else { break }
        }
        guard sampleRate > 0 else {
            throw AudioDecodeError("no MP3 frame in \(path)")
        }
        pending = first
    }

    deinit {
        mpg123_delete(handle)
        try? file.close()
    }

    public func read(into buffer: inout [Int16]) throws -> Int {
        while pending.count < buffer.count {
            guard try decode(into: &pending) else { break }
        }
        let count = min(buffer.count, pending.count)
        buffer.replaceSubrange(0..<count, with: pending[0..<count])
        pending.removeFirst(count)
        return count
    }

    /// Decodes what is buffered (feeding one more chunk when asked), appending to `samples`;
    /// false at the end of the file.
    private func decode(into samples: inout [Int16]) throws -> Bool {
        var output = [UInt8](repeating: 0, count: 32 << 10)
        var done = 0
        let result = output.withUnsafeMutableBytes { out in
            mpg123_decode(handle, nil, 0, out.baseAddress, out.count, &done)
        }
        append(output, done, to: &samples)
        switch result {
        case MPG123_NEW_FORMAT.rawValue:
            var rate = 0, channels: Int32 = 0, encoding: Int32 = 0
            mpg123_getformat(handle, &rate, &channels, &encoding)
            sampleRate = rate
            self.channels = Int(channels)
            return true
        case MPG123_OK.rawValue:
            return true
        case MPG123_NEED_MORE.rawValue:
            guard input, let data = try file.read(upToCount: Self.chunk), !data.isEmpty else {
                input = false
                return done > 0
            }
            let fed = data.withUnsafeBytes { bytes in mpg123_feed(handle, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count) }
            guard fed == MPG123_OK.rawValue else { throw AudioDecodeError("libmpg123: \(String(cString: mpg123_plain_strerror(fed)))") }
            return true
        case MPG123_DONE.rawValue:
            return false
        default:
            throw AudioDecodeError("libmpg123: \(String(cString: mpg123_plain_strerror(result)))")
        }
    }

    private func append(_ bytes: [UInt8], _ count: Int, to samples: inout [Int16]) {
        guard count > 1 else { return }
        bytes.withUnsafeBytes { raw in
            samples.append(contentsOf: raw.bindMemory(to: Int16.self).prefix(count / 2))
        }
    }
}
