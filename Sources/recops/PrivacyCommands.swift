import ArgumentParser
import Foundation
import Pipeline
import PipelineAssembly
import Transport
import Twilio

/// The options that name recordings for a privacy command, exactly one of them.
struct SelectorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Every recording of this caller's number (E.164, e.g. +14155550100), found through the caller index (RECOPS_PRIVACY_KEY).", valueName: "number"))
    var caller: String?
    @Option(help: ArgumentHelp("Every recording of this job.", valueName: "job-id"))
    var job: String?
    @Option(help: ArgumentHelp("The recordings of this call.", valueName: "CallSid"))
    var call: String?
    @Option(help: ArgumentHelp("This recording.", valueName: "RecordingSid"))
    var recording: String?

    func validate() throws {
        guard [caller, job, call, recording].compactMap({ $0 }).count == 1 else {
            throw ValidationError("name the recordings with one of --caller, --job, --call or --recording")
        }
        if let caller, let problem = CallerIndex.problem(caller) { throw ValidationError("--caller: \(problem)") }
        if let job, let problem = JobID.problem(job) { throw ValidationError("--job: \(problem)") }
    }

    var selector: RecordingSelector {
        if let caller { return .caller(caller) }
        if let job { return .job(job) }
        if let call { return .call(call) }
        return .recording(recording!)
    }
}

extension RecordingsCommand {
    struct EraseCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "erase",
            abstract: "Erase recordings everywhere they live (a GDPR or CCPA request): every S3 version, Twilio's copy and the stable link, and the URL of recops's history line.",
            discussion: """
                The job's history keeps its line, so it still shows that a call happened: only the URL part of recops's own line becomes "<erased YYYY-MM-DD>", and text people wrote is never touched. Each recording erased gets one line in the erasure log (recops audit erasures): when, what, the reason and its ids, never a number or audio. The erasure runs through the service's durable worker: interrupted, it resumes (in a running recops serve, or when this command runs again) until it is complete, and a second run changes nothing. A recording under legal hold is never erased: it is listed as held. --dry-run lists exactly what would go and changes nothing. Exit 0 when everything named is erased, 2 when a recording is held (the others are erased), 1 when the erasure could not be done or finished within --wait (it resumes).
                """)

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @OptionGroup var select: SelectorOptions
        @Flag(help: "List what would be erased; change nothing.")
        var dryRun = false
        @Option(help: ArgumentHelp("Why, for the erasure log (a ticket number; no personal data).", valueName: "text"))
        var reason: String?
        @Option(help: "Seconds to wait for the erasure to finish (a step in flight on a recording must end first).")
        var wait: Int = 600

        func validate() throws {
            if let reason, reason.utf8.count > 500 || reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw ValidationError("--reason must be at most 500 bytes with no control characters")
            }
        }

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "recordings-\(getpid())", transport: AsyncHTTPClientTransport())
            let erasure = wiring.recordingErasure()
            let bucket = loaded.spec.bucket?.name ?? "?"
            let selector = select.selector
            do {
                if dryRun {
                    let plan = try await erasure.plan(selector)
                    for item in plan.erase {
                        let job = item.job
                        var parts: [String] = []
                        if let key = job.objectKey { parts.append("s3://\(bucket)/\(key) (\(item.versions) version\(item.versions == 1 ? "" : "s"))") }
                        if item.twilioCopy { parts.append("Twilio's copy") }
                        if item.link { parts.append("its stable link") }
                        if item.historyLine, let jobID = job.jobID { parts.append("the URL of its line in \(jobID)'s history") }
                        print("would erase \(job.recordingSid) call \(job.callSid) job \(job.jobID ?? "-"): " + (parts.isEmpty ? "nothing left but the store's row" : parts.joined(separator: ", ")))
                    }
                    Self.report(plan)
                    if !plan.held.isEmpty { throw CommandExit.drift }
                    return
                }
                let wait = wait
                let live = try await wiring.liveReplicas()
                let result = try await erasure.erase(selector, reason: reason) { sids in
                    if live.isEmpty { return try await wiring.work(until: sids, timeout: .seconds(wait)) }
                    print("the running service (\(live.joined(separator: ", "))) erases \(sids.count) recording(s); waiting up to \(wait) s")
                    return try await wiring.settled(sids, timeout: .seconds(wait))
                }
                for job in result.erased { print("erased \(job.recordingSid) call \(job.callSid) job \(job.jobID ?? "-"): \(job.note ?? "")") }
                Self.report(result.plan)
                for job in result.pending {
                    Wiring.writeError("still erasing \(job.recordingSid): \(job.lastError ?? "waiting for a step in flight to end"); it resumes in recops serve, or run this command again")
                }
                if !result.plan.held.isEmpty { throw CommandExit.drift }
                if !result.pending.isEmpty { throw CommandExit.failure }
            } catch let error as RecordingSelector.Refused {
                Wiring.writeError("recordings erase: \(error)")
                throw CommandExit.failure
            }
        }

        static func report(_ plan: RecordingErasure.Plan) {
            for job in plan.held { print("held \(job.recordingSid) call \(job.callSid) job \(job.jobID ?? "-"): under legal hold, not erased (release it with recops recordings hold --release)") }
            for job in plan.done where job.state == .erased {
                print("already erased \(job.recordingSid) call \(job.callSid) job \(job.jobID ?? "-")")
            }
        }
    }

    struct IndexCallersCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "index-callers",
            abstract: "Fill the caller index for calls stored before it existed, from Twilio's call records (their From).",
            discussion: """
                For each call the store knows without a caller hash: the number an older recops kept is hashed (and dropped), otherwise Twilio's Calls/{sid}.json is read. --rehash also renews hashes made under a previous key (RECOPS_PRIVACY_PREVIOUS_KEYS) after a key rotation. Calls Twilio no longer has (it keeps call records for 13 months) are listed and stay unindexed. Needs RECOPS_PRIVACY_KEY. Safe beside a running recops serve, and running it again does only what is left. Exit 0 when every call is indexed, 1 otherwise.
                """)

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @Flag(help: "Also hash again the calls hashed under a previous key.")
        var rehash = false

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "recordings-\(getpid())", transport: AsyncHTTPClientTransport())
            guard let backfill = wiring.callerBackfill() else {
                Wiring.writeError("recordings index-callers: \(CallerIndex.keyVariable) is not set: set the key the service indexes calls with")
                throw CommandExit.failure
            }
            let result = try await backfill.run(rehash: rehash)
            print("indexed \(result.fromStore) call(s) from the numbers the store kept, \(result.fromTwilio) from Twilio's call records")
            for sid in result.notFound { Wiring.writeError("\(sid): Twilio has no record of this call: not indexed") }
            if !result.notFound.isEmpty { throw CommandExit.failure }
        }
    }
}

extension AuditCommand {
    struct Erasures: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "erasures",
            abstract: "List the erasure log: when each recording was erased, how it was named (caller, job, call, recording), why, its ids and what was removed.",
            discussion: "The log holds ids only: no number, no audio. A line without a completion time is an erasure still running (it resumes). Exit 0.")

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @Option(help: ArgumentHelp("First day (YYYY-MM-DD, UTC; default: all).", valueName: "date"))
        var since: String?
        @Flag(help: "JSON lines instead of text.")
        var json = false

        func validate() throws {
            if let since, ReconcileCommand.day(since) == nil { throw ValidationError("--since must be a day written YYYY-MM-DD, not '\(since)'") }
        }

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "audit-\(getpid())", transport: AsyncHTTPClientTransport())
            let records = try await wiring.store.erasures(since: since.flatMap(ReconcileCommand.day) ?? .distantPast, limit: 100_000)
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let format = Date.ISO8601FormatStyle()
            for record in records {
                if json {
                    print(String(decoding: try encoder.encode(record), as: UTF8.self))
                } else {
                    print("\(record.requestedAt.formatted(format)) \(record.completedAt.map { "erased \($0.formatted(format))" } ?? "still erasing") "
                          + "by \(record.scope.rawValue) \(record.recordingSid) call \(record.callSid) job \(record.jobID ?? "-") key \(record.objectKey ?? "-")"
                          + (record.reason.map { " reason: \($0)" } ?? "") + (record.outcome.map { " removed: \($0)" } ?? ""))
                }
            }
            if records.isEmpty, !json { print("no erasure in the log") }
        }
    }
}
