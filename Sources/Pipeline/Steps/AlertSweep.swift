import Foundation
import AWS
import Logging
import RecopsBase

/// Alerts about the queue, not one step: too many lines waiting, lines overdue, history steps
/// that make no progress, completed calls whose recording never called back. Also refreshes the
/// queue gauges, and reports the AWS key this replica signs with (for `status` and key
/// rotation). Each alert fires when its condition starts, not on every sweep while it lasts.
public final class AlertSweep: Sendable {
    let store: any JobStore
    let settings: AlertSettings
    let retryWithin: Duration
    let stallAfter: TimeInterval
    let metrics: PipelineMetrics
    let alerts: AlertSink
    let now: @Sendable () -> Date
    let logger: Logger
    let owner: String
    let signer: (any CredentialProvider)?
    private let raised = Locked<Set<AlertKind>>([])
    /// `audit.retention`; opens older leave the audit, checked at most hourly.
    let auditRetention: TimeInterval
    private let lastAuditPrune = Locked<Date?>(nil)

    init(store: any JobStore, settings: AlertSettings, retryWithin: Duration, stallAfter: TimeInterval, metrics: PipelineMetrics, alerts: AlertSink,
         owner: String, signer: (any CredentialProvider)?, auditRetention: TimeInterval, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.auditRetention = auditRetention
        self.owner = owner
        self.signer = signer
        self.store = store
        self.settings = settings
        self.retryWithin = retryWithin
        self.stallAfter = stallAfter
        self.metrics = metrics
        self.alerts = alerts
        self.now = now
        self.logger = logger
    }

    /// True the first time `active` holds for `kind` since it last did not.
    private func starts(_ kind: AlertKind, _ active: Bool) -> Bool {
        raised.withLock { set in
            guard active else {
                set.remove(kind)
                return false
            }
            return set.insert(kind).inserted
        }
    }

    public func run() async {
        await reportSigningKey()
        await pruneAudit()
        do {
            let counts = try await store.countsByState()
            metrics.queueDepth(counts)
            let waiting = counts[.stored] ?? 0
            if starts(.historyQueue, waiting > settings.historyQueueThreshold) {
                await alerts.raise(.historyQueue, "\(waiting) recordings wait for their history line (threshold \(settings.historyQueueThreshold))",
                                   details: ["waiting": String(waiting)])
            }
            let overdue = try await store.overdueHistoryCount(receivedBefore: now().addingTimeInterval(-retryWithin.timeInterval))
            if starts(.historyOverdue, overdue > 0) {
                await alerts.raise(.historyOverdue, "\(overdue) recordings are stored but still not linked after \(retryWithin.shortText)",
                                   details: ["overdue": String(overdue)])
            }
            // A step that makes no progress (the worker is alive, its claim is renewed, but nothing
            // comes back) must be seen: once a limiter bug froze every history write silently.
            let stalled = try await store.stalledHistory(heldLongerThan: stallAfter)
            let current = now()
            metrics.historyStalled(stalled.count, oldestSeconds: stalled.map { current.timeIntervalSince($0.since) }.max() ?? 0)
            if starts(.historyStalled, !stalled.isEmpty) {
                let oldest = stalled[0]
                await alerts.raise(.historyStalled, "\(stalled.count) history step(s) made no progress for over \(Int(stallAfter)) s (job \(oldest.jobID), held by \(oldest.owner) since \(ISO8601DateFormatter().string(from: oldest.since)))",
                                   details: ["stalled": String(stalled.count), "job_id": oldest.jobID, "owner": oldest.owner])
            }
            for call in try await store.takeCallsMissingRecordings(completedBefore: now().addingTimeInterval(-settings.missingRecordingAfter.timeInterval)) {
                await alerts.raise(.missingRecording, "call \(call.callSid) completed without a recording callback",
                                   details: ["call_sid": call.callSid, "job_id": call.jobID ?? ""])
            }
        } catch {
            logger.error("sweep failed: \(Redaction.message(error))")
        }
    }

    func pruneAudit() async {
        let current = now()
        let due = lastAuditPrune.withLock { last in
            guard last.map({ current.timeIntervalSince($0) >= 3600 }) ?? true else { return false }
            last = current
            return true
        }
        guard due else { return }
        do {
            let pruned = try await store.pruneOpens(before: current.addingTimeInterval(-auditRetention))
            if pruned > 0 { logger.info("access audit: opens past audit.retention deleted", metadata: ["opens": "\(pruned)"]) }
        } catch {
            logger.warning("access audit not pruned: \(Redaction.message(error))")
        }
    }

    /// Asking for the credentials also notices a rewritten credentials file: an idle replica
    /// switches to a rotated key within one sweep.
    func reportSigningKey() async {
        guard let signer else { return }
        do {
            let credentials = try await signer.credentials()
            try await store.reportSigningKey(owner: owner, accessKeyID: credentials.accessKeyID, source: signer.source, expiration: credentials.expiration)
        } catch {
            logger.warning("cannot report the AWS key in use: \(Redaction.message(error))")
        }
    }
}
