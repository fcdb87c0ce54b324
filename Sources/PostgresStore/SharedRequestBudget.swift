import Airtable
import Foundation
import Logging
import PostgresNIO
import RecopsBase

/// Airtable's per-base budget shared by every replica through PostgreSQL.
///
/// Each base has `limit` slot rows. A request takes a free slot (one statement, `FOR UPDATE
/// SKIP LOCKED`) before it is sent and gives it back when its answer is in; the slot is free
/// again one second after that, by the database's clock. Any two requests that used the same
/// slot therefore reached Airtable more than a second apart, so no second there holds more than
/// `limit` of them, however many replicas send and however the network delays them: the
/// in-process `RateLimiter`'s guarantee, across processes. (A slot row pushed forward by a fixed
/// spacing, the pattern in ../shared/POSTGRES.md, bounds departures, not arrivals: one delayed
/// request can then share a second with the next five.)
///
/// In front of it stays this process's `RateLimiter`: callers queue there in arrival order,
/// cancellation-safely, and only its turns reach the database. A 429 pauses the base in both,
/// so every replica waits Airtable's 30 s. A slot whose holder died is free once its hold
/// (`holdLimit`, longer than any request's timeout) has run out, or at once when the same
/// replica starts again (`recover`).
public final class SharedRequestBudget: RequestBudget, CustomStringConvertible {
    let local: RateLimiter
    let store: PostgresJobStore
    /// This replica's name: the prefix of every hold it takes.
    let replica: String
    let holdLimit: TimeInterval
    private let seeding = Locked<[String: Task<Void, any Error>]>([:])

    /// `holdLimit`: longer than any Airtable request may take (the transport's 30 s timeout).
    public init(local: RateLimiter, store: PostgresJobStore, replica: String, holdLimit: TimeInterval = 45) {
        self.local = local
        self.store = store
        self.replica = replica
        self.holdLimit = holdLimit
    }

    public var description: String { "SharedRequestBudget(\(local.limit)/s, replica \(replica))" }

    var limit: Int { local.limit }

    public func run<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await local.run(key) {
            let hold = "\(replica)/\(UUID().uuidString.lowercased())"
            do {
                try await acquire(key, hold: hold)
            } catch {
                // The take may have committed even though its answer was lost (cancelled, or the
                // connection dropped): give back whatever this hold token holds.
                await release(key, hold)
                throw error
            }
            do {
                let result = try await body()
                await release(key, hold)
                return result
            } catch {
                await release(key, hold)
                throw error
            }
        }
    }

    public func throttled(_ key: String) async {
        await local.throttled(key)
        let pause = Double(local.pauseAfterThrottle.components.seconds) + Double(local.pauseAfterThrottle.components.attoseconds) / 1e18
        do {
            try await store.query("pause airtable", """
                INSERT INTO airtable_pauses (base, paused_until) VALUES (\(key), recops_now(NULL) + \(pause))
                ON CONFLICT (base) DO UPDATE SET paused_until = greatest(airtable_pauses.paused_until, excluded.paused_until)
                """)
        } catch {
            store.logger.warning("cannot share an Airtable pause with the other replicas: \(error)")
        }
    }

    /// Frees the slots this replica held when it stopped (a crash): its requests reached
    /// Airtable before the process died, so a second from now the slots are safe to reuse.
    /// Run once, by the first request of the process (`seed`).
    func recover(_ key: String) async throws {
        try await store.query("recover airtable slots", """
            UPDATE airtable_slots SET holder = NULL, held_until = NULL, free_at = recops_now(NULL) + 1
            WHERE base = \(key) AND holder LIKE \(Self.likePrefix(replica))
            """)
    }

    static func likePrefix(_ replica: String) -> String {
        replica.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "/%"
    }

    /// Waits for a free slot of `key`'s base; returns the hold's token. Cancellation-safe: a
    /// waiter holds nothing until the statement that takes a slot has committed, and a slot
    /// taken is given back even when the task is cancelled right after.
    private func acquire(_ key: String, hold: String) async throws {
        try await seed(key)
        // While every slot is held (their holders free them on release, at a time no row
        // tells), look again after a delay that doubles: a queue of waiters must not flood the
        // pool the webhooks share.
        var busyDelay = 0.01
        while true {
            try Task.checkCancellation()
            let taken = try await store.query("take airtable slot", """
                WITH free AS (
                    SELECT s.slot FROM airtable_slots s
                    WHERE s.base = \(key) AND s.slot < \(limit)
                      AND NOT EXISTS (SELECT 1 FROM airtable_pauses p WHERE p.base = \(key) AND p.paused_until > recops_now(NULL))
                      AND ((s.holder IS NULL AND s.free_at <= recops_now(NULL)) OR (s.holder IS NOT NULL AND s.held_until + 1 <= recops_now(NULL)))
                    ORDER BY s.free_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                UPDATE airtable_slots s SET holder = \(hold), held_until = recops_now(NULL) + \(holdLimit)
                FROM free WHERE s.base = \(key) AND s.slot = free.slot
                RETURNING s.slot
                """)
            if !taken.isEmpty { return }
            // How long until a slot or the pause frees; held slots free on their release, so
            // look again soon. The jitter spreads replicas that wait together.
            let wait = try await store.query("airtable budget wait", """
                SELECT greatest(
                    COALESCE((SELECT paused_until FROM airtable_pauses WHERE base = \(key)), 0),
                    COALESCE((SELECT min(free_at) FROM airtable_slots WHERE base = \(key) AND holder IS NULL), 0)) - recops_now(NULL)
                """).first?.decode(Double.self) ?? 0
            let seconds: Double
            if wait > 0 {
                seconds = min(wait, 1.0)
                busyDelay = 0.01
            } else {
                seconds = busyDelay
                busyDelay = min(busyDelay * 2, 0.25)
            }
            let jittered = seconds + Double.random(in: 0...0.02)
            try await Task.sleep(for: .milliseconds(Int(jittered * 1000)))
        }
    }

    /// Gives the slot back, free a second from now; a no-op when the token holds nothing. In a
    /// task of its own: a cancelled request must still give its slot back. Tried three times:
    /// a slot not given back is lost to every replica until its hold runs out (`holdLimit`).
    private func release(_ key: String, _ hold: String) async {
        await Task { [store] in
            for attempt in 1...3 {
                do {
                    try await store.query("release airtable slot", """
                        UPDATE airtable_slots SET holder = NULL, held_until = NULL, free_at = recops_now(NULL) + 1
                        WHERE base = \(key) AND holder = \(hold)
                        """)
                    return
                } catch {
                    if attempt == 3 { store.logger.warning("cannot give an Airtable slot back (it frees itself in \(Int(holdLimit)) s): \(error)") }
                    try? await Task.sleep(for: .milliseconds(200 * attempt))
                }
            }
        }.value
    }

    /// Creates the base's slot rows and frees this replica's holds from a previous run, once
    /// per process and before any request of this process takes a slot: every caller awaits
    /// the same task (run twice, the recovery would free slots of requests in flight).
    private func seed(_ key: String) async throws {
        let task = seeding.withLock { tasks -> Task<Void, any Error> in
            if let task = tasks[key] { return task }
            let task = Task { [store, limit] in
                try await store.query("seed airtable slots", """
                    INSERT INTO airtable_slots (base, slot) SELECT \(key), g FROM generate_series(0, \(limit - 1)) g ON CONFLICT DO NOTHING
                    """)
                try await self.recover(key)
            }
            tasks[key] = task
            return task
        }
        do {
            try await task.value
        } catch {
            // Tried again by the next request (unless a newer attempt already replaced it).
            seeding.withLock { tasks in if tasks[key] == task { tasks[key] = nil } }
            throw error
        }
    }
}
