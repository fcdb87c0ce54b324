import Crypto
import Foundation
import RecopsBase

/// The operations page's sign-in sessions and its throttle on wrong tokens, kept server-side.
///
/// A session id is 256 random bits; only its SHA-256 is kept, so a memory dump names no usable
/// cookie. A session ends after `lifetime`, after `idleLimit` unused, or when revoked (sign out).
/// Sign-in attempts are counted per client address before the token is compared, and a right
/// token gives its attempt back: `maxFailures` wrong ones in `failureWindow`, then the address
/// waits out the rest of the window (735 guesses a second became at most 5 a minute).
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

    /// Takes one sign-in attempt for `client`, atomically: the seconds it must wait instead, or
    /// nil with the attempt counted as a failure until `succeeded` gives it back. Counting before
    /// the token is compared means parallel guesses cannot all pass one check.
    public func attempt(_ client: String, now: Date) -> Int? {
        state.withLock { state in
            if let entry = state.failures[client], now.timeIntervalSince(entry.since) < Self.failureWindow {
                if entry.count >= Self.maxFailures {
                    return max(1, Int((Self.failureWindow - now.timeIntervalSince(entry.since)).rounded(.up)))
                }
                state.failures[client]!.count += 1
                return nil
            }
            if state.failures.count >= Self.maxClients {
                state.failures = state.failures.filter { now.timeIntervalSince($0.value.since) < Self.failureWindow }
                // Still full (a flood of addresses): the oldest entry makes room.
                if state.failures.count >= Self.maxClients, let oldest = state.failures.min(by: { $0.value.since < $1.value.since })?.key {
                    state.failures[oldest] = nil
                }
            }
            state.failures[client] = (1, now)
            return nil
        }
    }

    /// The attempt had the right token: it does not count against the address.
    public func succeeded(_ client: String) {
        state.withLock { state in
            guard let entry = state.failures[client] else { return }
            if entry.count <= 1 { state.failures[client] = nil } else { state.failures[client]!.count -= 1 }
        }
    }
}
