import Foundation
import Logging
import RecopsBase
import ServiceLifecycle

/// Claims due steps from the store and runs up to `concurrency` of them at once, until a graceful
/// shutdown: then it claims nothing more and lets the steps in flight finish.
///
/// It starts by releasing this replica's own claims, so work a crash interrupted resumes at once
/// instead of waiting for the leases to expire.
public struct RecordingWorker: Service, CustomStringConvertible {
    let configuration: PipelineConfiguration
    let store: any JobStore
    let scheduler: Scheduler
    let sweep: AlertSweep
    /// Runs a claimed step and commits it.
    let steps: RecordingPipeline
    let logger: Logger

    public init(configuration: PipelineConfiguration, store: any JobStore, scheduler: Scheduler, sweep: AlertSweep, steps: RecordingPipeline, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.scheduler = scheduler
        self.sweep = sweep
        self.steps = steps
        self.logger = logger
    }

    /// ServiceLifecycle logs its services; the default description would print the whole
    /// configuration, secrets included.
    public var description: String { "RecordingWorker(owner: \(configuration.owner))" }

    public func run() async throws {
        let configuration = configuration
        let resumed = try await store.releaseClaims(owner: configuration.owner)
        if resumed > 0 { logger.notice("resuming \(resumed) interrupted step(s)") }
        let stopping = Locked(false)
        let inFlight = Locked(0)
        let historyInFlight = Locked(0)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var lastSweep: ContinuousClock.Instant?
                while !stopping.value, !Task.isCancelled {
                    if lastSweep.map({ ContinuousClock.now - $0 >= configuration.sweepInterval }) ?? true {
                        lastSweep = .now
                        group.addTask { await sweep.run() }
                    }
                    guard inFlight.value < configuration.concurrency else {
                        try? await Task.sleep(for: .milliseconds(5))
                        continue
                    }
                    let work: Work?
                    do {
                        work = try await scheduler.next(history: historyInFlight.value < configuration.historyInFlight)
                    } catch {
                        logger.error("cannot claim work: \(Redaction.message(error))")
                        try? await Task.sleep(for: .seconds(1))
                        continue
                    }
                    guard let work else {
                        await store.waitForWork(upTo: configuration.pollInterval)
                        continue
                    }
                    inFlight.withLock { $0 += 1 }
                    let isHistory = work.kind == .history
                    if isHistory { historyInFlight.withLock { $0 += 1 } }
                    group.addTask {
                        defer {
                            inFlight.withLock { $0 -= 1 }
                            if isHistory { historyInFlight.withLock { $0 -= 1 } }
                        }
                        await withTaskGroup(of: Void.self) { step in
                            step.addTask {
                                do {
                                    try await steps.perform(work)
                                } catch {
                                    // The claim expires or is released on restart; the step runs again.
                                    logger.error("cannot commit a step: \(Redaction.message(error))")
                                }
                            }
                            // A step may outlast its lease (a long recording on a slow link): renewed every
                            // third of it, so no other worker starts the same step meanwhile.
                            step.addTask { await renewLease(work, every: configuration.lease / 3) }
                            await step.next()
                            step.cancelAll()
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            stopping.exchange(true)
        }
        logger.info("worker stopped")
    }

    /// Until cancelled (the step is done), keeps the step's claims a full lease ahead.
    private func renewLease(_ work: Work, every interval: TimeInterval) async {
        while true {
            do {
                try await Task.sleep(for: .seconds(interval))
            } catch {
                return
            }
            do {
                if try await !scheduler.renew(work) {
                    logger.warning("a step's claim was lost while it ran: its outcome will be dropped", metadata: ["step": "\(work.kind.rawValue)"])
                }
            } catch {
                logger.warning("cannot renew a claim: \(Redaction.message(error))")
            }
        }
    }
}
