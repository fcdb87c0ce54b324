import Airtable
import Foundation

/// `recops recordings relink`: the URL part of recops's own lines in past histories, moved to
/// the recordings' stable links.
///
/// A line is recops's line for a recording only when, scalar for scalar, it is the spec's
/// `history_line` with that recording's timestamp, and its URL (no spaces) points at that
/// recording's object (the key as it shows in any presigned or public URL to it, ending there).
/// Only that URL is replaced; every other character of the history, office notes, line breaks
/// (`\r\n` too) and lines in any other form, is kept byte for byte. Idempotent: a line already
/// holding the stable link is left. Each job is rewritten under its history claim, as the
/// history step writes it, so a running service never writes the same record meanwhile.
public struct HistoryRelink: Sendable {
    let configuration: PipelineConfiguration
    let store: any JobStore
    let writer: HistoryWriter
    let now: @Sendable () -> Date

    public init(configuration: PipelineConfiguration, store: any JobStore, writer: HistoryWriter, now: @escaping @Sendable () -> Date) {
        self.configuration = configuration
        self.store = store
        self.writer = writer
        self.now = now
    }

    /// One job's result.
    public struct Result: Sendable, Equatable {
        public var jobID: String
        /// Lines whose URL was replaced (or would be, in a dry run).
        public var rewritten: Int
        /// Lines already holding the stable link.
        public var alreadyStable: Int
        /// Recordings of the job with no line of recops's form in the history (left alone).
        public var notFound: [String]
        /// False when no record has the job id.
        public var recordFound: Bool

        public init(jobID: String, rewritten: Int, alreadyStable: Int, notFound: [String], recordFound: Bool) {
            self.jobID = jobID
            self.rewritten = rewritten
            self.alreadyStable = alreadyStable
            self.notFound = notFound
            self.recordFound = recordFound
        }
    }

    /// A recording whose line may change: its job row, the URL part it gets (the stable link,
    /// or an erasure's `<erased …>`), and other URLs known to be the recording's (its stable
    /// link, which holds no object key) that are replaced too.
    public struct Target: Sendable {
        public var job: RecordingJob
        public var url: String
        public var replaces: [String]

        public init(job: RecordingJob, url: String, replaces: [String] = []) {
            self.job = job
            self.url = url
            self.replaces = replaces
        }
    }

    /// The stored recordings of `jobIDs`, or of every job received since `since`, by job.
    public func targets(jobIDs: [String], since: Date?) async throws -> [String: [Target]] {
        var jobs: [RecordingJob] = []
        for id in jobIDs { jobs += try await store.jobs(matching: id).filter { $0.jobID == id } }
        if let since { jobs += try await store.jobs(receivedSince: since) }
        var seen: Set<String> = []
        var targets: [String: [Target]] = [:]
        for job in jobs where seen.insert(job.recordingSid).inserted {
            guard let jobID = job.jobID, let key = job.objectKey, [.stored, .linked, .historyFull].contains(job.state) else { continue }
            let link = try await store.link(recordingSid: job.recordingSid, objectKey: key, jobID: jobID, at: now())
            targets[jobID, default: []].append(Target(job: job, url: link.url(appURL: configuration.appURL)))
        }
        return targets
    }

    /// Rewrites one job's history (nothing is sent when `dryRun`).
    public func relink(jobID: String, targets: [Target], dryRun: Bool, wait: Duration = .seconds(60)) async throws -> Result {
        let layout = RecordingLayout(settings: configuration.history)
        return try await HistoryClaimHolder(store: store, owner: configuration.owner).holding(jobID: jobID, wait: wait) {
            let known = targets.compactMap(\.job.recordID).first
            let done = try await writer.rewrite(jobID: jobID, knownRecordID: known, dryRun: dryRun) { history in
                Self.rewrite(history, targets: targets, layout: layout).text
            }
            guard done.outcome != .missing else { return Result(jobID: jobID, rewritten: 0, alreadyStable: 0, notFound: targets.map(\.job.recordingSid), recordFound: false) }
            let counted = Self.rewrite(done.before, targets: targets, layout: layout)
            return Result(jobID: jobID, rewritten: counted.rewritten, alreadyStable: counted.alreadyStable, notFound: counted.notFound, recordFound: true)
        }
    }

    /// The pure rewrite: `history` with each target's recops line pointing at its stable URL.
    public static func rewrite(_ history: String, targets: [Target], layout: RecordingLayout) -> (text: String, rewritten: Int, alreadyStable: Int, notFound: [String]) {
        let template = Array(layout.settings.line.unicodeScalars)
        let placeholder = Array("{url}".unicodeScalars)
        guard let at = (0...(template.count - placeholder.count)).first(where: { Array(template[$0..<($0 + placeholder.count)]) == placeholder }) else {
            return (history, 0, 0, targets.map(\.job.recordingSid))
        }
        func filled(_ part: ArraySlice<Unicode.Scalar>, _ job: RecordingJob) -> [Unicode.Scalar] {
            Array(String(String.UnicodeScalarView(part)).replacingOccurrences(of: "{timestamp}", with: layout.timestamp(job.startTime)).unicodeScalars)
        }
        let forms = targets.map { target in
            (prefix: filled(template[..<at], target.job), suffix: filled(template[(at + placeholder.count)...], target.job),
             marker: Array(RecordingLayout.marker(forKey: target.job.objectKey ?? "").unicodeScalars), stable: Array(target.url.unicodeScalars),
             others: target.replaces.map { Array($0.unicodeScalars) })
        }
        var found = Set<Int>()
        var rewritten = 0, alreadyStable = 0
        // By scalar, keeping every separator: "\r\n" stays "\r\n", an empty line stays empty.
        let lines = history.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        var output: [[Unicode.Scalar]] = []
        for raw in lines {
            let carriage = raw.last == "\r"
            let line = Array(carriage ? raw.dropLast() : raw[...])
            var replaced: [Unicode.Scalar]?
            for (index, form) in forms.enumerated() where line.count >= form.prefix.count + form.suffix.count {
                guard line.starts(with: form.prefix), Array(line.suffix(form.suffix.count)) == form.suffix else { continue }
                let url = Array(line[form.prefix.count..<(line.count - form.suffix.count)])
                guard !url.isEmpty, !url.contains(where: { $0.properties.isWhitespace }) else { continue }
                if url == form.stable {
                    found.insert(index)
                    alreadyStable += 1
                    break
                }
                if Self.points(url, at: form.marker) || form.others.contains(url) {
                    found.insert(index)
                    rewritten += 1
                    replaced = form.prefix + form.stable + form.suffix
                    break
                }
            }
            output.append((replaced ?? line) + (carriage ? ["\r"] : []))
        }
        var text = String.UnicodeScalarView()
        for (index, line) in output.enumerated() {
            if index > 0 { text.append("\n") }
            text.append(contentsOf: line)
        }
        let notFound = targets.indices.filter { !found.contains($0) }.map { targets[$0].job.recordingSid }
        return (String(text), rewritten, alreadyStable, notFound)
    }

    /// Whether `url` holds `marker` as its path's end (followed by nothing, `?` or `#`).
    static func points(_ url: [Unicode.Scalar], at marker: [Unicode.Scalar]) -> Bool {
        guard !marker.isEmpty, url.count >= marker.count else { return false }
        for start in 0...(url.count - marker.count) where Array(url[start..<(start + marker.count)]) == marker {
            let end = start + marker.count
            if end == url.count || url[end] == "?" || url[end] == "#" { return true }
        }
        return false
    }
}

/// Takes a job's history claim for one piece of work and always gives it back, even when the
/// task is cancelled meanwhile (the release runs in a task of its own): a command that gives up
/// never keeps the job's history held. Waits up to `wait` for a claim someone else holds.
struct HistoryClaimHolder: Sendable {
    let store: any JobStore
    let owner: String

    struct Busy: Error, CustomStringConvertible {
        var description: String
    }

    func holding<T: Sendable>(jobID: String, wait: Duration, lease: TimeInterval = 120, _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + wait
        var held = try await store.takeHistory(jobID: jobID, owner: owner, lease: lease)
        while held == nil {
            guard ContinuousClock.now < deadline else { throw Busy(description: "\(jobID)'s history stayed busy for \(wait): try again") }
            try await Task.sleep(for: .milliseconds(200))
            held = try await store.takeHistory(jobID: jobID, owner: owner, lease: lease)
        }
        let claim = held!
        let release = { await Task { try await store.releaseHistory(claim) }.result }
        let value: T
        do {
            value = try await body()
        } catch {
            _ = await release()
            throw error
        }
        try await release().get()
        return value
    }
}
