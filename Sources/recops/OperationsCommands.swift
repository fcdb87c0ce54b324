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

            With the spec's twilio.recording.keep_in_twilio_days, it also lists Twilio's copies older than that, whatever the window. --repair deletes those whose recording is linked, whose object is confirmed (there, encrypted as declared, its size, and then its checksum) and whose line is in the history, through the pipeline's clean-up step; any other is kept and counts as needing attention.
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
        subcommands: [URLCommand.self, LinkCommand.self, RevokeCommand.self, RelinkCommand.self, HoldCommand.self, EraseCommand.self, IndexCallersCommand.self])

    struct URLCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "url",
            abstract: "Print a link to each recording a call SID, recording SID or job id names: presigned for signed_url_ttl, public, or its stable link (recordings.links).")

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

    struct RevokeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Make stable links answer 410 Gone: the link a link id or URL names, or every link of a recording SID, call SID or job id.",
            discussion: "The recording itself stays in S3 and its history line stays; only the link stops opening, for good. Exit 0 when a link was found (revoked now or already), 1 otherwise.")

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @Argument(help: "A stable link (…/r/{id}) or its id, a RecordingSid (RE…), CallSid (CA…) or job id.")
        var identifier: String

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "recordings-\(getpid())", transport: AsyncHTTPClientTransport())
            do {
                let result = try await wiring.recordingLinks().revoke(identifier)
                for link in result.revoked { print("revoked \(link.recordingSid) \(link.jobID ?? "-") \(RecordingLink.pathPrefix)\(link.id)") }
                for link in result.already { print("already revoked \(link.recordingSid) \(link.jobID ?? "-") \(RecordingLink.pathPrefix)\(link.id)") }
            } catch let error as RecordingLinks.NotFound {
                Wiring.writeError("recordings revoke: \(error)")
                throw CommandExit.failure
            }
        }
    }

    struct HoldCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hold",
            abstract: "Put recordings on legal hold (S3 Object Lock), or release them: every version of each object a caller, job, call or recording names.",
            discussion: "A held version cannot be deleted by anyone, lifecycle expiration included, until it is released; S3 enforces this. The bucket needs Object Lock (the spec's bucket.object_lock: true, with versioning: true, then recops apply). --status only reports. Exit 0 when every named recording was handled, 1 when nothing matches or the bucket has no Object Lock.")

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @OptionGroup var select: SelectorOptions
        @Flag(help: "Release the hold instead.")
        var release = false
        @Flag(help: "Only show whether they are held.")
        var status = false

        func validate() throws {
            if release, status { throw ValidationError("--release and --status do not go together") }
        }

        func run() async throws {
            Wiring.bootstrapLogging()
            let selector = select.selector
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "recordings-\(getpid())", transport: AsyncHTTPClientTransport())
            let holds = wiring.recordingHolds()
            do {
                let recordings = status ? try await holds.status(selector) : try await holds.set(selector, on: !release)
                for recording in recordings {
                    let state = recording.versions.isEmpty ? "no object" : recording.held ? "held" : "not held"
                    print("\(state) \(recording.recordingSid) call \(recording.callSid) job \(recording.jobID ?? "-") s3://\(loaded.spec.bucket?.name ?? "?")/\(recording.key) (\(recording.versions.count) version\(recording.versions.count == 1 ? "" : "s"))")
                }
            } catch let error as RecordingHolds.Refused {
                Wiring.writeError("recordings hold: \(error)")
                throw CommandExit.failure
            } catch let error as RecordingSelector.Refused {
                Wiring.writeError("recordings hold: \(error)")
                throw CommandExit.failure
            }
        }
    }

    struct RelinkCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "relink",
            abstract: "Move past history lines to stable links: the URL part of recops's own lines is replaced, nothing else.",
            discussion: """
                A line is changed only when it is exactly the spec's history_line for one of the job's stored recordings (its timestamp, and a URL to its object); office notes, other lines and line breaks are kept byte for byte. Running it again changes nothing. Each job is rewritten under its history claim, so it is safe beside a running recops serve. Needs recordings.links: stable in the spec. Exit 0 when every job was handled, 1 when one could not be (busy, refused, no record).
                """)

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @Option(name: .customLong("job"), help: ArgumentHelp("A job whose history to relink (repeat for several).", valueName: "job-id"))
        var jobs: [String] = []
        @Option(help: ArgumentHelp("Relink every job with a recording received since this day (YYYY-MM-DD, UTC).", valueName: "date"))
        var since: String?
        @Flag(help: "Show what would change; write nothing.")
        var dryRun = false
        @Option(help: "Seconds to wait for a job's history while the service writes it.")
        var wait: Int = 60

        func validate() throws {
            guard jobs.isEmpty != (since == nil) else { throw ValidationError("name the jobs with --job, or a first day with --since (one of them)") }
            if let since, ReconcileCommand.day(since) == nil { throw ValidationError("--since must be a day written YYYY-MM-DD, not '\(since)'") }
        }

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            guard loaded.spec.recordings?.linkMode == .stable else {
                Wiring.writeError("recordings relink: the spec's recordings.links is not stable: set links: stable first, so new lines are stable too")
                throw CommandExit.failure
            }
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "recordings-\(getpid())", transport: AsyncHTTPClientTransport())
            let relink = wiring.historyRelink()
            var failed = false
            let targets = try await relink.targets(jobIDs: jobs, since: since.flatMap(ReconcileCommand.day))
            if targets.isEmpty { print("no stored recording of \(jobs.isEmpty ? "a job since \(since!)" : jobs.joined(separator: ", ")) in the store") }
            for (jobID, recordings) in targets.sorted(by: { $0.key < $1.key }) {
                do {
                    let result = try await relink.relink(jobID: jobID, targets: recordings, dryRun: dryRun, wait: .seconds(wait))
                    guard result.recordFound else {
                        Wiring.writeError("\(jobID): no record has this job id")
                        failed = true
                        continue
                    }
                    print("\(jobID): \(result.rewritten) line\(result.rewritten == 1 ? "" : "s") \(dryRun ? "would be relinked" : "relinked"), \(result.alreadyStable) already stable"
                          + (result.notFound.isEmpty ? "" : "; no line of recops's form for \(result.notFound.joined(separator: ", ")) (left alone)"))
                } catch {
                    Wiring.writeError("\(jobID): \(Redaction.message(error))")
                    failed = true
                }
            }
            if failed { throw CommandExit.failure }
        }
    }
}

/// `recops audit access`: who opened which recording.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Reports from the access audit and the erasure log.",
        subcommands: [Access.self, Erasures.self])

    struct Access: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "access",
            abstract: "List the opens of stable links: when, which recording, the client's address and user agent, the session, and the answer.",
            discussion: """
                --summary gives the runbook's monthly access-pattern review: opens by day, by recording and by client, and flags a client that opened more than audit.distinct_recordings_per_hour distinct recordings within an hour, or opened one from a network (/24, /48) no earlier open came from. --cloudtrail also reads the trail's S3 data events (GetObject of recordings by any principal) from its log files and joins them to the opens by object key, so reads that bypassed recops show. Exit 0; with --summary, 2 when something is flagged; 1 when the report could not be made.
                """)

        @OptionGroup var specOptions: SpecOptions
        @OptionGroup var dataDirOptions: DataDirOptions
        @Option(help: ArgumentHelp("First day (YYYY-MM-DD, UTC; default: 30 days ago).", valueName: "date"))
        var since: String?
        @Option(help: ArgumentHelp("Last day (YYYY-MM-DD, UTC; default: today).", valueName: "date"))
        var until: String?
        @Option(help: ArgumentHelp("Only the opens of this job's recordings.", valueName: "job-id"))
        var job: String?
        @Flag(help: "Opens by day, recording and client, with what is flagged.")
        var summary = false
        @Flag(help: "Also the trail's S3 GetObject data events on recordings, joined to the opens.")
        var cloudtrail = false
        @Option(help: "Output format: text, json or csv.")
        var format: AccessAudit.Format = .text

        func validate() throws {
            for (name, value) in [("--since", since), ("--until", until)] {
                if let value, ReconcileCommand.day(value) == nil { throw ValidationError("\(name) must be a day written YYYY-MM-DD, not '\(value)'") }
            }
            if summary, cloudtrail { throw ValidationError("--summary and --cloudtrail are separate reports: run them one at a time") }
        }

        func run() async throws {
            Wiring.bootstrapLogging()
            let loaded = try Wiring.loadSpec(path: specOptions.spec, parts: nil)
            if cloudtrail, loaded.spec.audit?.cloudtrail == nil {
                Wiring.writeError("audit access --cloudtrail: the spec declares no audit.cloudtrail trail")
                throw CommandExit.failure
            }
            let wiring = try await PipelineWiring.build(spec: loaded.spec, dataDir: dataDirOptions.dataDir, store: dataDirOptions.store, replicaID: "audit-\(getpid())", transport: AsyncHTTPClientTransport())
            let from = since.flatMap(ReconcileCommand.day) ?? Date().addingTimeInterval(-30 * 86_400)
            // The whole last day.
            let to = until.flatMap(ReconcileCommand.day).map { $0.addingTimeInterval(86_400 - 0.001) } ?? Date()
            let audit = wiring.accessAudit()
            do {
                if summary {
                    let report = try await audit.summary(from: from, to: to, jobID: job)
                    Self.emit(AccessAudit.render(summary: report, format: format))
                    if report.flagged { throw CommandExit.drift }
                    return
                }
                let opens = try await audit.opens(from: from, to: to, jobID: job)
                guard cloudtrail, let trail = loaded.spec.audit?.cloudtrail else {
                    Self.emit(AccessAudit.render(opens: opens, format: format))
                    return
                }
                let records = try await wiring.trailRecords(trail: trail.trail, logBucket: trail.logBucket, from: from, to: to)
                let prefix = String(loaded.spec.recordings?.key.prefix { $0 != "{" } ?? "")
                let reads = AccessAudit.join(records, opens: opens, bucket: wiring.configuration.bucket, prefix: prefix,
                                             window: TimeInterval(wiring.configuration.links.redirectTTL) + 300)
                Self.emit(AccessAudit.render(trail: reads, format: format))
            } catch let exit as ExitCode {
                throw exit
            } catch {
                Wiring.writeError("audit access: could not report: \(Redaction.message(error))")
                throw CommandExit.failure
            }
        }
    }
}

extension AuditCommand.Access {
    /// CSV ends its own last line (CRLF); nothing is added after it.
    static func emit(_ report: String) {
        print(report, terminator: report.unicodeScalars.last == "\n" ? "" : "\n")
    }
}

extension AccessAudit.Format: ExpressibleByArgument {}

extension ReconcileCommand {
    /// The start (00:00 UTC) of a day written YYYY-MM-DD.
    static func day(_ text: String) -> Date? {
        guard text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.date(from: text)
    }
}
