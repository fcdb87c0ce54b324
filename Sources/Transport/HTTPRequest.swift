import Foundation

/// One HTTP request as the clients build it; transports send it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    /// In order; a name may repeat.
    public var headers: [(name: String, value: String)]
    public var body: Data
    /// Sent instead of `body` when set: the file is streamed, never held in memory (media uploads).
    public var bodyFile: URL?

    public init(method: String, url: URL, headers: [(name: String, value: String)] = [], body: Data = Data(), bodyFile: URL? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.bodyFile = bodyFile
    }
}

/// A whole buffered response. Large media goes through `HTTPTransport.download`.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header, compared without case.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}
