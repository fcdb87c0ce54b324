import Foundation
import NIOCore

/// A file read as a sequence of buffers, for streaming request bodies: memory stays at one chunk
/// whatever the file's size.
public struct FileChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    public let url: URL
    public let chunkSize: Int

    public init(url: URL, chunkSize: Int = 256 << 10) {
        self.url = url
        self.chunkSize = chunkSize
    }

    public static func size(of file: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let url: URL
        let chunkSize: Int
        var handle: FileHandle?
        var finished = false

        public mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            if handle == nil { handle = try FileHandle(forReadingFrom: url) }
            guard let data = try handle?.read(upToCount: chunkSize), !data.isEmpty else {
                finished = true
                try? handle?.close()
                return nil
            }
            return ByteBuffer(bytes: data)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(url: url, chunkSize: chunkSize)
    }
}
