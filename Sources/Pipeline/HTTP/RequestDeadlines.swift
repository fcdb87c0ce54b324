import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// How `recops serve` guards its listener against clients that never finish (slowloris): each
/// phase of a request has a deadline, and the number of open connections is capped.
///
/// Twilio sends a webhook's few kilobytes at once and waits at most 15 s for the answer, so the
/// defaults cost a legitimate caller nothing: a request's headers must be complete 10 s after the
/// connection opened (or after the previous answer on a kept-alive one, within `idle`), and its
/// body 20 s after the headers. Handlers themselves have no deadline: once a request is read, its
/// answer may take as long as it takes.
public struct ServiceLimits: Sendable, Equatable {
    public var maxConnections: Int
    public var headerTimeout: Duration
    public var bodyTimeout: Duration
    public var idleTimeout: Duration
    /// SIGTERM: steps in flight get this long to finish, then are cancelled (their claims are
    /// released, and the work resumes on restart or on another replica).
    public var shutdownTimeout: Duration
    /// How long a `/readyz` answer is reused (each check costs an S3 request and a store write).
    public var readinessCache: Duration

    public init(maxConnections: Int = 512, headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(20),
                idleTimeout: Duration = .seconds(60), shutdownTimeout: Duration = .seconds(30), readinessCache: Duration = .seconds(5)) {
        self.maxConnections = maxConnections
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.shutdownTimeout = shutdownTimeout
        self.readinessCache = readinessCache
    }

    /// After a SIGTERM, the service exits within this, whatever clients do: the graceful period,
    /// then at most this long for cancelled work to unwind.
    public static let cancellationGrace: Duration = .seconds(5)
    public var shutdownBound: Duration { shutdownTimeout + Self.cancellationGrace }
}

/// The connection cap, with the open connections as a gauge (`recops_http_connections`). At the
/// cap the listener stops accepting: new connections wait in the kernel's listen queue until one
/// closes, and the deadlines make sure one does.
struct CountedConnections: AvailableConnectionsDelegate {
    let maximum: Int
    let metrics: PipelineMetrics
    var open = 0

    mutating func connectionOpened() {
        open += 1
        metrics.openConnections(open)
    }

    mutating func connectionClosed() {
        open -= 1
        metrics.openConnections(open)
    }

    func isAcceptingNewConnections() -> Bool {
        open < maximum
    }
}

/// Closes a connection whose request is not read in time. Sits after HTTP decoding, so it sees
/// whole heads: the header deadline runs from the connection's start (or the last answer) to the
/// complete head, the body deadline from the head to the request's end. `onTimeout` gets the
/// phase that ran out for the metrics.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    enum Phase: String { case header, body, idle, handling }

    private let limits: ServiceLimits
    private let onTimeout: @Sendable (TimeoutPhase) -> Void
    private var phase = Phase.header
    private var timer: Scheduled<Void>?
    /// The answer went out before the request was read to its end (a 413 refuses a body early).
    private var answeredEarly = false

    init(limits: ServiceLimits, onTimeout: @escaping @Sendable (TimeoutPhase) -> Void) {
        self.limits = limits
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(.header, after: limits.headerTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            answeredEarly = false
            arm(.body, after: limits.bodyTimeout, context: context)
        case .body:
            break
        case .end:
            if answeredEarly {
                answeredEarly = false
                arm(.idle, after: limits.idleTimeout, context: context)
            } else {
                disarm(.handling)
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            if phase == .handling {
                // The answer is out; the next request's head must come within the idle timeout.
                arm(.idle, after: limits.idleTimeout, context: context)
            } else if phase == .body {
                answeredEarly = true  // the body deadline still runs; its end starts the idle one
            }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ next: Phase, after delay: Duration, context: ChannelHandlerContext) {
        timer?.cancel()
        phase = next
        let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            guard handler.phase == next else { return }
            if let timedOut = TimeoutPhase(rawValue: next.rawValue) { handler.onTimeout(timedOut) }
            context.close(promise: nil)
        }
    }

    private func disarm(_ next: Phase) {
        timer?.cancel()
        timer = nil
        phase = next
    }
}
