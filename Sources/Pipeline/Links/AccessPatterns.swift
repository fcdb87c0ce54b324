import Foundation
import Logging
import RecopsBase

/// The runbook's "audit recording access patterns", judged at each open and in the report:
/// - a **burst**: one client opening more than `threshold` distinct recordings within an hour;
/// - a **new network**: an open from a network (/24, /48) no earlier open in the audit came from
///   (an audit with no earlier open at all flags nothing: every network is new on day one).
/// Each raises its alert once per client (burst) or network an hour, not once per open.
struct AccessPatterns: Sendable {
    let store: any JobStore
    let threshold: Int
    let alerts: AlertSink
    let logger: Logger
    private let raised = Locked<[String: Date]>([:])

    init(store: any JobStore, threshold: Int, alerts: AlertSink, logger: Logger) {
        self.store = store
        self.threshold = threshold
        self.alerts = alerts
        self.logger = logger
    }

    func check(_ open: LinkOpen) async {
        do {
            let distinct = try await store.distinctRecordingsOpened(client: open.client, from: open.at.addingTimeInterval(-3600), to: open.at)
            if distinct > threshold, once("burst " + open.client, at: open.at) {
                await alerts.raise(.linkBurst, "\(open.client) opened \(distinct) distinct recordings in the last hour (more than \(threshold))",
                                   details: ["client": open.client, "recordings": "\(distinct)"])
            }
            let seen = try await store.networkSeen(open.network, before: open.at)
            if !seen.network, seen.any, once("network " + open.network, at: open.at) {
                await alerts.raise(.linkNewNetwork, "a recording was opened from \(open.network), a network no earlier open came from",
                                   details: ["client": open.client, "network": open.network, "recording_sid": open.recordingSid ?? ""])
            }
        } catch {
            logger.warning("stable link: access patterns not checked: \(Redaction.message(error))")
        }
    }

    /// True the first time `key` comes up in an hour.
    private func once(_ key: String, at now: Date) -> Bool {
        raised.withLock { raised in
            if let last = raised[key], now.timeIntervalSince(last) < 3600 { return false }
            if raised.count > 10_000 { raised = raised.filter { now.timeIntervalSince($0.value) < 3600 } }
            raised[key] = now
            return true
        }
    }

    /// Bursts in `opens` (any order): per client, the most distinct recordings opened within an
    /// hour, where it is above `threshold`, with when that hour began.
    static func bursts(_ opens: [LinkOpen], threshold: Int) -> [(client: String, from: Date, recordings: Int)] {
        var found: [(client: String, from: Date, recordings: Int)] = []
        for (client, own) in Dictionary(grouping: opens.filter { $0.answer == .redirected }, by: \.client) {
            let sorted = own.sorted { $0.at < $1.at }
            var best: (from: Date, recordings: Int)?
            var start = 0
            for end in sorted.indices {
                while sorted[end].at.timeIntervalSince(sorted[start].at) >= 3600 { start += 1 }
                let distinct = Set(sorted[start...end].compactMap(\.recordingSid)).count
                if distinct > threshold, distinct > (best?.recordings ?? 0) { best = (sorted[start].at, distinct) }
            }
            if let best { found.append((client, best.from, best.recordings)) }
        }
        return found.sorted { $0.client < $1.client }
    }
}
