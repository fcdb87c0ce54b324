import Foundation
import Synchronization

/// Counts the requests that pass through: verify reports how many it sent, benchmarks compare.
public final class CountingTransport: HTTPTransport {
    private let base: any HTTPTransport
    private let counter = Mutex(0)

    public init(_ base: any HTTPTransport) {
        self.base = base
    }

    public var count: Int { counter.withLock { $0 } }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        counter.withLock { $0 += 1 }
        return try await base.send(request)
    }

    public func download(_ request: HTTPRequest, to file: URL) async throws -> HTTPResponse {
        counter.withLock { $0 += 1 }
        return try await base.download(request, to: file)
    }
}
