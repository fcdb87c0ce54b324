import Foundation
import Logging

/// Credentials from a source, kept fresh: fetched on first use, fetched again `refreshBefore`
/// (5 minutes) ahead of their expiry and whenever the source's files change, by one fetch that
/// every request in flight shares. While credentials are still valid nobody waits for a fetch;
/// a failed one keeps them and is tried again after `retryAfter`.
///
/// A waiter that is cancelled leaves at once and takes nothing with it: the fetch goes on for
/// the others.
public actor RefreshingCredentials: CredentialProvider {
    nonisolated public let source: String
    let from: any CredentialSource
    let now: @Sendable () -> Date
    let refreshBefore: TimeInterval
    let retryAfter: TimeInterval
    let logger: Logger

    private var cached: AWSCredentials?
    private var cachedFingerprint: String?
    private var fetching: Task<Void, Never>?
    private var waiters: [UInt64: CheckedContinuation<AWSCredentials, any Error>] = [:]
    private var nextWaiter: UInt64 = 0
    private var lastFailure: (at: Date, error: any Error)?
    private var fetchedAt: Date?
    /// An early refresh at most this often: credentials issued for less than `refreshBefore`
    /// would otherwise be fetched again at every request.
    let minimumInterval: TimeInterval = 60
    /// Fetches made, for tests and `status`.
    public private(set) var fetches = 0

    public init(_ source: any CredentialSource, now: @escaping @Sendable () -> Date = { Date() }, refreshBefore: TimeInterval = 300,
                retryAfter: TimeInterval = 10, logger: Logger = Logger(label: "recops.aws.credentials")) {
        from = source
        self.source = source.name
        self.now = now
        self.refreshBefore = refreshBefore
        self.retryAfter = retryAfter
        self.logger = logger
    }

    /// The credentials in use (nil before the first fetch), for status: the key id, never the secret.
    public var current: AWSCredentials? { cached }

    public func credentials() async throws -> AWSCredentials {
        let fingerprint = from.fingerprint()
        let time = now()
        if let cached, Self.isValid(cached, at: time) {
            let rewritten = fingerprint != cachedFingerprint
            let early = cached.expiration.map { time >= $0.addingTimeInterval(-refreshBefore) } ?? false
            let due = rewritten || (early && fetchedAt.map { time.timeIntervalSince($0) >= minimumInterval } ?? true)
            if due, !recentlyFailed(at: time) { startFetch() }
            // A rewritten file is a rotated key: sign with the new one from this request on.
            if rewritten, fetching != nil { return try await waitForFetch() }
            return cached
        }
        // Nothing usable: wait for a fetch, unless one has just failed (then say why at once).
        if let lastFailure, fetching == nil, time.timeIntervalSince(lastFailure.at) < 1 { throw lastFailure.error }
        startFetch()
        return try await waitForFetch()
    }

    static func isValid(_ credentials: AWSCredentials, at time: Date) -> Bool {
        credentials.expiration.map { time < $0 } ?? true
    }

    private func recentlyFailed(at time: Date) -> Bool {
        lastFailure.map { time.timeIntervalSince($0.at) < retryAfter } ?? false
    }

    private func startFetch() {
        guard fetching == nil else { return }
        fetches += 1
        let from = from
        fetching = Task {
            let fingerprint = from.fingerprint()
            let result: Result<AWSCredentials, any Error>
            do { result = .success(try await from.fetch()) } catch { result = .failure(error) }
            await self.finish(result, fingerprint: fingerprint)
        }
    }

    private func finish(_ result: Result<AWSCredentials, any Error>, fingerprint: String?) {
        fetching = nil
        switch result {
        case .success(let fresh):
            if cached?.accessKeyID != fresh.accessKeyID {
                logger.notice("aws credentials", metadata: ["source": "\(source)", "access_key_id": "\(fresh.accessKeyID)",
                                                            "expires": "\(fresh.expiration.map { "\($0)" } ?? "never")"])
            }
            cached = fresh
            cachedFingerprint = fingerprint
            fetchedAt = now()
            lastFailure = nil
        case .failure(let error):
            lastFailure = (now(), error)
            if let cached, Self.isValid(cached, at: now()) {
                logger.warning("aws credentials refresh failed; the current ones stay in use while valid",
                               metadata: ["source": "\(source)", "error": "\(error)"])
            }
        }
        // A failed fetch leaves the current credentials in use while they are valid.
        let answer: Result<AWSCredentials, any Error> = switch result {
        case .success(let fresh): .success(fresh)
        case .failure(let error): cached.map { Self.isValid($0, at: now()) ? .success($0) : .failure(error) } ?? .failure(error)
        }
        let waiting = waiters
        waiters = [:]
        for continuation in waiting.values { continuation.resume(with: answer) }
    }

    private func waitForFetch() async throws -> AWSCredentials {
        let id = nextWaiter
        nextWaiter += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.leave(id) }
        }
    }

    private func leave(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }
}
