import ArgumentParser
import AWS
import Foundation
import Pipeline
import PipelineAssembly
import Spec
import Transport

/// `recops status`: the daily check.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Queue depth, pending uploads with their age and error, unmatched calls, 24 h success rate and latency, storage used, key age.",
        discussion: "Reads the job store (--data-dir, the service's), lists the bucket under recordings/ and the service user's access keys.")

    @OptionGroup var specOptions: SpecOptions
    @OptionGroup var dataDirOptions: DataDirOptions
    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    func run() async throws {
        Wiring.bootstrapLogging()
        let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
        let transport = AsyncHTTPClientTransport()
        let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "status-\(getpid())", transport: transport)
        let status = try await PipelineStatus.collect(store: wiring.store, now: Date(), bucket: wiring.pipeline.configuration.bucket,
                                                      s3: S3Client(aws: wiring.aws), iam: IAMClient(aws: wiring.aws), user: loaded.spec.iam?.user,
                                                      airtableBudget: loaded.spec.airtable?.monthlyRequestBudget)
        print(format == .json ? status.json.encoded(pretty: true) : status.text)
    }
}

/// `recops reconcile`: every Twilio recording in a window, checked against S3 and the history.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Find recordings Twilio holds that are not stored (right key, encrypted, same size) or not linked; --repair puts them through the pipeline.",
        discussion: """
            Exit 0 when nothing is missing, 2 when something is missing (after --repair: still missing, or
            repairs not finished within --wait), 1 when it could not check. A recording still not stored or
            linked after the spec's history_retry_within counts as missing ("overdue"); --repair makes it due
            again at once. A repair goes through the job store and worker exactly as a
            live callback does, so it is durable, and running it twice changes nothing the second time. It
            can run beside a live `recops serve` on the same --data-dir.
            """)

    @OptionGroup var specOptions: SpecOptions
    @OptionGroup var dataDirOptions: DataDirOptions
    @Option(help: ArgumentHelp("First day (YYYY-MM-DD, UTC) of recordings to check (default: yesterday).", valueName: "date"))
    var since: String?
    @Option(help: ArgumentHelp("Last day (YYYY-MM-DD, UTC) to check (default: today).", valueName: "date"))
    var until: String?
    @Flag(help: "Put what is missing through the pipeline's store and worker, then wait for it.")
    var repair = false
    @Option(help: "Seconds to wait for the repairs to finish.")
    var wait: Int = 300
    @Option(help: "Output format: text or json.")
    var format: ReportFormat = .text

    func validate() throws {
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, value.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil {
                throw ValidationError("\(name) must be a day written YYYY-MM-DD, not '\(value)'")
            }
        }
    }

    func run() async throws {
        Wiring.bootstrapLogging()
        let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
        let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "reconcile-\(getpid())", transport: AsyncHTTPClientTransport())
        let reconciler = wiring.reconciler()
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone(identifier: "UTC")
        day.dateFormat = "yyyy-MM-dd"
        let since = self.since ?? day.string(from: Date().addingTimeInterval(-86400))
        let until = self.until ?? day.string(from: Date())
        var report: Reconciler.Report
        do {
            report = try await reconciler.run(since: since, until: until, repair: repair)
        } catch {
            Wiring.writeError("could not check: \(Redaction.message(error))")
            throw CommandExit.failure
        }
        var unfinished = false
        if repair {
            let queued = report.findings.filter(\.queued).map(\.recordingSid)
            if !queued.isEmpty {
                let settled = try await wiring.work(until: queued, timeout: .seconds(wait))
                if !settled { Wiring.writeError("reconcile: repairs still under way after \(wait) s; the service's worker finishes them") }
                unfinished = !settled
                report = try await reconciler.run(since: since, until: until, repair: false)
            }
        }
        print(format == .json ? report.json.encoded(pretty: true) : report.text)
        // A repair not finished yet is not a success: run again, or let the service finish it.
        if !report.missing.isEmpty || unfinished { throw CommandExit.drift }
    }
}

/// `recops recordings url`: a fresh link on demand.
struct RecordingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recordings",
        abstract: "Work with stored recordings.",
        subcommands: [URLCommand.self, LinkCommand.self])

    struct URLCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "url",
            abstract: "Print a fresh link (presigned for signed_url_ttl) to each recording a call SID, recording SID or job id names.")

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @Argument(help: "A CallSid (CA…), RecordingSid (RE…) or job id.")
        var identifier: String
        @Flag(help: "Also append a history line with the new link to the job's record.")
        var appendHistory = false

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "recordings-\(getpid())", transport: AsyncHTTPClientTransport())
            let links = wiring.recordingLinks()
            do {
                for (job, url) in try await links.links(for: identifier) {
                    print("\(job.recordingSid) \(job.jobID ?? "-") \(url)")
                    if appendHistory { try await links.appendLine(for: job, url: url) }
                }
            } catch let error as RecordingLinks.NotFound {
                Wiring.writeError("recordings url: \(error)")
                throw CommandExit.failure
            }
        }
    }

    struct LinkCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "link",
            abstract: "Give an unmatched recording (a call that named no job, or a job without a record) to a job, and write its history line.",
            discussion: """
                For the runbook's "calls without a job": once a person knows the job, the recording (already in \
                S3) goes through the service's own history step, so the line is written once, in the usual form. \
                The job's record must exist. Exit 0 when the line is written, 1 otherwise.
                """)

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @Argument(help: "The unmatched recording's RecordingSid (RE…), or its CallSid (CA…).")
        var identifier: String
        @Option(help: ArgumentHelp("The job it belongs to, e.g. J-1001.", valueName: "job-id"))
        var job: String
        @Option(help: "Seconds to wait for the line.")
        var wait: Int = 120

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "recordings-\(getpid())", transport: AsyncHTTPClientTransport())
            if let problem = JobID.problem(job) {
                Wiring.writeError("recordings link: --job: \(problem)")
                throw CommandExit.failure
            }
            let assigned: [RecordingJob]
            do {
                assigned = try await wiring.recordingLinks().assign(identifier, to: job)
            } catch let error as RecordingLinks.NotFound {
                Wiring.writeError("recordings link: \(error)")
                throw CommandExit.failure
            }
            let settled = try await wiring.work(until: assigned.map(\.recordingSid), timeout: .seconds(wait))
            var linked = true
            for sid in assigned.map(\.recordingSid) {
                let state = try await wiring.store.job(sid)?.state
                linked = linked && state == .linked
                print("\(sid) \(job) \(state?.rawValue ?? "?")")
            }
            if !settled || !linked {
                Wiring.writeError("recordings link: the line is not written yet; the service's worker keeps trying (see recops status)")
                throw CommandExit.failure
            }
        }
    }
}
