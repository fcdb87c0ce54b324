import Crypto
import Foundation

/// The operations page's sign-in sessions and its throttle on wrong tokens, kept server-side.
///
/// A session id is 256 random bits; only its SHA-256 is kept, so a memory dump names no usable
/// cookie. A session ends after `lifetime`, after `idleLimit` unused, or when revoked (sign out).
/// Wrong tokens are counted per client address: `maxFailures` in `failureWindow`, then the
/// address waits out the rest of the window (a guess a second became at most 5 a minute).
public final class OpsSessions: Sendable {
    public static let lifetime: TimeInterval = 12 * 3600
    public static let idleLimit: TimeInterval = 3600
    public static let maxFailures = 5
    public static let failureWindow: TimeInterval = 60
    /// Bounds the tables, so a flood of sign-ins or addresses cannot grow them without end.
    static let maxSessions = 1000
    static let maxClients = 10_000

    private struct Session {
        var created: Date
        var lastSeen: Date
    }

    private let state = Locked<(sessions: [String: Session], failures: [String: (count: Int, since: Date)])>(([:], [:]))

    public init() {}

    static func digest(_ id: String) -> String {
        Data(SHA256.hash(data: Data(id.utf8))).base64EncodedString()
    }

    /// A new session; returns the id for the cookie.
    public func create(now: Date) -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let id = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        state.withLock { state in
            state.sessions = state.sessions.filter { Self.isLive($0.value, now: now) }
            if state.sessions.count >= Self.maxSessions, let oldest = state.sessions.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
                state.sessions[oldest] = nil
            }
            state.sessions[Self.digest(id)] = Session(created: now, lastSeen: now)
        }
        return id
    }

    private static func isLive(_ session: Session, now: Date) -> Bool {
        now.timeIntervalSince(session.created) < lifetime && now.timeIntervalSince(session.lastSeen) < idleLimit
    }

    /// Whether `id` names a live session; using it counts as activity.
    public func isValid(_ id: String, now: Date) -> Bool {
        let key = Self.digest(id)
        return state.withLock { state in
            guard let session = state.sessions[key] else { return false }
            guard Self.isLive(session, now: now) else {
                state.sessions[key] = nil
                return false
            }
            state.sessions[key]?.lastSeen = now
            return true
        }
    }

    public func revoke(_ id: String) {
        let key = Self.digest(id)
        state.withLock { _ = $0.sessions.removeValue(forKey: key) }
    }

    /// Seconds `client` must wait before its next sign-in, or nil.
    public func throttled(_ client: String, now: Date) -> Int? {
        state.withLock { state in
            guard let entry = state.failures[client] else { return nil }
            let elapsed = now.timeIntervalSince(entry.since)
            if elapsed >= Self.failureWindow {
                state.failures[client] = nil
                return nil
            }
            return entry.count >= Self.maxFailures ? max(1, Int((Self.failureWindow - elapsed).rounded(.up))) : nil
        }
    }

    public func failed(_ client: String, now: Date) {
        state.withLock { state in
            if state.failures.count >= Self.maxClients {
                state.failures = state.failures.filter { now.timeIntervalSince($0.value.since) < Self.failureWindow }
            }
            if let entry = state.failures[client], now.timeIntervalSince(entry.since) < Self.failureWindow {
                state.failures[client]!.count += 1
            } else {
                state.failures[client] = (1, now)
            }
        }
    }
}
