import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The real transport: AsyncHTTPClient with a per-request timeout.
public struct AsyncHTTPClientTransport: HTTPTransport {
    public let client: HTTPClient
    public var timeout: TimeAmount
    /// Responses larger than this are refused rather than buffered (media uses `download`).
    public var maxResponseBytes: Int

    /// recops's process-wide client: it lives as long as the process and needs no shutdown.
    ///
    /// A refused connection fails at once instead of being retried inside the pool until the
    /// request's deadline: the clients' own retry policies decide, so "could not connect" is quick.
    /// Redirects are not followed: AWS answers none we want, and Twilio's media redirect is
    /// followed by hand so credentials never cross hosts.
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(client: HTTPClient = AsyncHTTPClientTransport.sharedClient, timeout: TimeAmount = .seconds(30), maxResponseBytes: Int = 32 << 20) {
        self.client = client
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// A transport whose requests give up after `seconds` (the credential endpoints: off AWS they
    /// must fail fast).
    public static func timingOut(after seconds: Int64) -> AsyncHTTPClientTransport {
        AsyncHTTPClientTransport(timeout: .seconds(seconds))
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await execute(request) { response in
            let body = try await response.body.collect(upTo: maxResponseBytes)
            return HTTPResponse(status: Int(response.status.code), headers: Self.headers(response), body: Data(body.readableBytesView))
        }
    }

    public func download(_ request: HTTPRequest, to file: URL) async throws -> HTTPResponse {
        try await execute(request) { response in
            guard (200..<300).contains(Int(response.status.code)) else {
                let body = try await response.body.collect(upTo: maxResponseBytes)
                return HTTPResponse(status: Int(response.status.code), headers: Self.headers(response), body: Data(body.readableBytesView))
            }
            // 0600 whatever the umask: downloads are call recordings, personal data.
            FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600])
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            let handle = try FileHandle(forWritingTo: file)
            defer { try? handle.close() }
            for try await chunk in response.body {
                try handle.write(contentsOf: Data(chunk.readableBytesView))
            }
            try handle.synchronize()
            return HTTPResponse(status: Int(response.status.code), headers: Self.headers(response))
        }
    }

    private static func headers(_ response: HTTPClientResponse) -> [(name: String, value: String)] {
        response.headers.map { (name: $0.name, value: $0.value) }
    }

    /// Sends the request and hands the streaming response to `read`, mapping transport failures.
    private func execute(_ request: HTTPRequest, read: (HTTPClientResponse) async throws -> HTTPResponse) async throws -> HTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url.absoluteString)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers {
            outgoing.headers.add(name: header.name, value: header.value)
        }
        if let file = request.bodyFile {
            let size = try FileChunks.size(of: file)
            outgoing.body = .stream(FileChunks(url: file), length: .known(Int64(size)))
        } else if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        }
        do {
            let response = try await client.execute(outgoing, timeout: timeout)
            return try await read(response)
        } catch let error as HTTPClientError {
            throw TransportError(kind: Self.kind(of: error), endpoint: Self.endpoint(request.url), underlying: "\(error)")
        } catch let error as ChannelError {
            throw TransportError(kind: .interrupted, endpoint: Self.endpoint(request.url), underlying: "\(error)")
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as NSError where error.domain == NSCocoaErrorDomain || error.domain == NSPOSIXErrorDomain {
            throw error  // writing the downloaded file failed: a local problem, not the network
        } catch {
            // Connection refused, resolution failures and the like come as NIO's own error types.
            throw TransportError(kind: .connect, endpoint: Self.endpoint(request.url), underlying: "\(error)")
        }
    }

    private static func kind(of error: HTTPClientError) -> TransportError.Kind {
        switch error {
        case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: return .timeout
        case .remoteConnectionClosed, .cancelled: return .interrupted
        default: return .connect
        }
    }

    static func endpoint(_ url: URL) -> String {
        "\(url.scheme ?? "http")://\(url.host ?? "?")\(url.port.map { ":\($0)" } ?? "")"
    }
}
