import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A raw TCP connection to a local server, for clients that misbehave on purpose: headers sent
/// a byte at a time, a body never finished (slowloris). Reads are collected in the background;
/// `closed` tells when the server hung up.
public final class RawConnection: Sendable {
    private let channel: any Channel
    private let received: NIOLockedValueBox<[UInt8]>

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<[UInt8]>
        init(_ received: NIOLockedValueBox<[UInt8]>) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLockedValue { $0 += buffer.readableBytesView }
        }
    }

    /// Connects to `host:port`, from `localAddress` when given (another loopback address, say).
    public init(host: String = "127.0.0.1", port: Int, localAddress: String? = nil) async throws {
        let received = NIOLockedValueBox<[UInt8]>([])
        self.received = received
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(received)) }
            }
        if let localAddress { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: localAddress, port: 0)) }
        channel = try await bootstrap.connect(host: host, port: port).get()
    }

    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Whether the server has closed the connection.
    public var isClosed: Bool { !channel.isActive }

    /// What the server sent so far.
    public var response: String { String(decoding: received.withLockedValue { $0 }, as: UTF8.self) }

    /// Waits until the server closes the connection; false if it is still open after `timeout`.
    public func waitClosed(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while channel.isActive, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !channel.isActive
    }

    /// Waits until the server has sent something; the text, or nil after `timeout`.
    public func waitResponse(timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while received.withLockedValue({ $0.isEmpty }), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        let text = response
        return text.isEmpty ? nil : text
    }

    public func close() async {
        try? await channel.close().get()
    }
}
