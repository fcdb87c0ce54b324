import Crypto
import Foundation
import Transport

/// The operations page: one server-rendered HTML document with inline CSS and SVG, no script and
/// no external asset (the machine reaching it may be offline). Real headings, table markup and
/// labelled buttons, so a screen reader reads it as well as anyone.
enum OpsPage {
    static func escape(_ text: String) -> String { XMLNode.escape(text) }

    static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:72rem}
        h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
        dl{display:grid;grid-template-columns:max-content auto;gap:.25rem 1rem}dt{font-weight:600}
        table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;padding:.25rem 0}
        th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#eee}
        .bad{color:#a00000}.ok{color:#005a00}button{font:inherit;padding:.2rem .8rem}
        .sr{position:absolute;left:-9999px}
        """

    /// The CSP source that allows exactly this style sheet.
    static let styleHash = "sha256-" + Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()

    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title><style>\(style)</style></head>
        <body><main>\(body)</main></body></html>
        """
    }

    /// `next`: where a successful sign-in goes (a stable link; default the page).
    static func login(error: String?, next: String? = nil) -> String {
        document(title: "recops operations: sign in", body: """
            <h1>recops operations</h1>
            <h2>Sign in</h2>
            \(error.map { "<p class=\"bad\" role=\"alert\">\(escape($0))</p>" } ?? "")
            <form method="post" action="/ops/login">
            \(next.map { "<input type=\"hidden\" name=\"next\" value=\"\(escape($0))\">" } ?? "")
            <label for="token">Admin token (RECOPS_ADMIN_TOKEN)</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form>
            """)
    }

    static func page(_ status: PipelineStatus, notice: String?) -> String {
        var body = "<h1>recops operations</h1>"
        if let notice { body += "<p role=\"status\">\(escape(notice))</p>" }
        body += "<p>As of \(escape(ISO8601DateFormatter().string(from: status.generatedAt))).</p><form method=\"post\" action=\"/ops/logout\"><button type=\"submit\">Sign out</button></form>"
        body += "<h2>Status</h2>" + summary(status)
        body += "<h2 id=\"hourly\">Recordings and failures per hour, last 24 hours</h2>" + hourlyChart(status)
        body += "<h2 id=\"latency\">Callback to history latency, last 24 hours</h2>" + latencyChart(status)
        body += "<h2>Pending and failed recordings</h2>" + pendingTable(status)
        body += "<h2>Calls without a job</h2>" + callsTable(status)
        body += "<h2>Quality problems</h2>" + qualityTable(status)
        body += "<h2>Legal hold</h2>" + heldTable(status)
        body += "<h2>Recording links opened</h2>" + opensTable(status) + busiestTable(status)
        return document(title: "recops operations", body: body)
    }

    static func summary(_ status: PipelineStatus) -> String {
        var rows: [(String, String)] = []
        rows.append(("Queue", RecordingJob.State.allCases.map { "\($0.rawValue) \(status.queue[$0] ?? 0)" }.joined(separator: ", ")))
        rows.append(("Recordings, last 24 h", "\(status.received) received, \(status.linked) linked"))
        rows.append(("Success rate", status.successRate.map { String(format: "%.1f %%", $0 * 100) } ?? "no recordings yet"))
        rows.append(("Callback to history", "p50 \(PipelineStatus.seconds(status.latency(percentile: 50))), p95 \(PipelineStatus.seconds(status.latency(percentile: 95)))"))
        rows.append(("Pending", "\(status.pending.count)"))
        rows.append(("In progress, by replica", status.claimsText))
        rows.append(("History full", status.historyFull.isEmpty ? "none" : "\(status.historyFull.count): their jobs' history fields have no room"))
        rows.append(("Legal hold", status.held.isEmpty ? "none" : "\(status.held.count) recording(s): never erased or expired until released"))
        rows.append(("Airtable requests this month", status.airtableMonthText))
        rows.append(("History steps stalled", status.stalledHistory.isEmpty ? "none"
            : status.stalledHistory.map { "job \($0.jobID) held by \($0.owner) for \(PipelineStatus.age(Int(status.generatedAt.timeIntervalSince($0.since)))) with no progress" }.joined(separator: "; ")))
        switch status.storage {
        case .success(let value): rows.append(("Storage under recordings/", "\(value.objects) objects, \(value.bytes) bytes"))
        case .failure(let error): rows.append(("Storage under recordings/", "unknown (\(error))"))
        }
        switch status.keys {
        case .success(let keys): rows.append(("Access keys", keys.isEmpty ? "none" : keys.map { "\($0.id) \($0.active ? "active" : "inactive"), \($0.ageDays) days old" }.joined(separator: "; ")))
        case .failure(let error): rows.append(("Access keys", "unknown (\(error))"))
        }
        return "<dl>" + rows.map { "<dt>\(escape($0.0))</dt><dd>\(escape($0.1))</dd>" }.joined() + "</dl>"
    }

    /// Bars per hour: recordings (grey) with failures (red) over them. The numbers are also in the
    /// figure's description for screen readers.
    static func hourlyChart(_ status: PipelineStatus) -> String {
        let width = 720.0, height = 160.0, bar = width / 24
        let peak = max(1, status.hours.map(\.recordings).max() ?? 1)
        var shapes = ""
        for (index, hour) in status.hours.enumerated() {
            let x = Double(index) * bar
            let total = Double(hour.recordings) / Double(peak) * (height - 20)
            let failed = Double(hour.failures) / Double(peak) * (height - 20)
            shapes += "<rect x=\"\(x + 2)\" y=\"\(height - 20 - total)\" width=\"\(bar - 4)\" height=\"\(total)\" fill=\"#9a9a9a\"/>"
            shapes += "<rect x=\"\(x + 2)\" y=\"\(height - 20 - failed)\" width=\"\(bar - 4)\" height=\"\(failed)\" fill=\"#c00000\"/>"
            if index % 3 == 0 {
                let label = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: hour.start).hour ?? 0
                shapes += "<text x=\"\(x + 2)\" y=\"\(height - 4)\" font-size=\"11\">\(String(format: "%02d:00", label))</text>"
            }
        }
        let described = status.hours.filter { $0.recordings > 0 }.map { hour in
            let label = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: hour.start).hour ?? 0
            return String(format: "%02d:00 UTC: %d recordings, %d failures", label, hour.recordings, hour.failures)
        }
        let summary = described.isEmpty ? "No recordings in the last 24 hours." : described.joined(separator: "; ") + "."
        return """
            <figure><svg role="img" aria-labelledby="hourly hourly-desc" viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))">\
            <desc id="hourly-desc">\(escape(summary))</desc>\(shapes)</svg>
            <figcaption>Grey: recordings received per hour (UTC); red: those pending, unmatched or failing a check. \(escape(summary))</figcaption></figure>
            """
    }

    static let latencyBuckets: [(String, Double)] = [("under 1 s", 1), ("1–5 s", 5), ("5–30 s", 30), ("30 s–2 min", 120), ("2–15 min", 900), ("over 15 min", .infinity)]

    static func latencyChart(_ status: PipelineStatus) -> String {
        var counts = Array(repeating: 0, count: latencyBuckets.count)
        for value in status.latencies {
            counts[latencyBuckets.firstIndex { value < $0.1 } ?? latencyBuckets.count - 1] += 1
        }
        let width = 720.0, rowHeight = 24.0
        let peak = Double(max(1, counts.max() ?? 1))
        var shapes = ""
        for (index, bucket) in latencyBuckets.enumerated() {
            let y = Double(index) * rowHeight
            let length = Double(counts[index]) / peak * (width - 200)
            shapes += "<text x=\"0\" y=\"\(y + 16)\" font-size=\"12\">\(escape(bucket.0))</text>"
            shapes += "<rect x=\"110\" y=\"\(y + 4)\" width=\"\(length)\" height=\"\(rowHeight - 8)\" fill=\"#3a6ea5\"/>"
            shapes += "<text x=\"\(116 + length)\" y=\"\(y + 16)\" font-size=\"12\">\(counts[index])</text>"
        }
        let summary = zip(latencyBuckets, counts).map { "\($0.0): \($1)" }.joined(separator: "; ")
        return """
            <figure><svg role="img" aria-labelledby="latency latency-desc" viewBox="0 0 \(Int(width)) \(Int(rowHeight) * latencyBuckets.count)" \
            width="\(Int(width))" height="\(Int(rowHeight) * latencyBuckets.count)"><desc id="latency-desc">\(escape(summary))</desc>\(shapes)</svg>
            <figcaption>Recordings by time from the stored callback to the confirmed history line. \(escape(summary)).</figcaption></figure>
            """
    }

    static func table(caption: String, headers: [String], rows: [[String]], empty: String) -> String {
        guard !rows.isEmpty else { return "<p>\(escape(empty))</p>" }
        return "<table><caption>\(escape(caption))</caption><thead><tr>" + headers.map { "<th scope=\"col\">\(escape($0))</th>" }.joined()
            + "</tr></thead><tbody>" + rows.map { "<tr>" + $0.map { "<td>\($0)</td>" }.joined() + "</tr>" }.joined() + "</tbody></table>"
    }

    static func pendingTable(_ status: PipelineStatus) -> String {
        let jobs = status.pending.map { ($0.job, $0.ageSeconds) } + status.unmatchedRecordings.map { ($0, Int(status.generatedAt.timeIntervalSince($0.receivedAt))) }
            + status.historyFull.map { ($0, Int(status.generatedAt.timeIntervalSince($0.receivedAt))) }
        let rows = jobs.map { job, age -> [String] in
            let sid = escape(job.recordingSid)
            let retry = job.state == .unmatched ? "needs a job: <code>recops recordings link \(sid) --job …</code>"
                : job.state == .erasing ? "erasing: it resumes by itself (a legal hold must be released first)"
                : job.state == .historyFull ? "make room in the job's history field, then: <form method=\"post\" action=\"/ops/retry/\(sid)\"><button type=\"submit\" aria-label=\"Retry recording \(sid) now\">Retry</button></form>"
                : "<form method=\"post\" action=\"/ops/retry/\(sid)\"><button type=\"submit\" aria-label=\"Retry recording \(sid) now\">Retry</button></form>"
            return [sid, escape(job.callSid), escape(job.jobID ?? "none"), escape(job.state.rawValue), escape(PipelineStatus.age(age)),
                    String(job.attempts), "<span class=\"bad\">\(escape(job.lastError ?? job.note ?? ""))</span>", retry]
        }
        return table(caption: "Recordings not yet linked, oldest first", headers: ["Recording", "Call", "Job", "State", "Age", "Attempts", "Last error", "Action"],
                     rows: rows, empty: "None: every recording is linked.")
    }

    static func callsTable(_ status: PipelineStatus) -> String {
        table(caption: "Calls whose caller gave no known job, last 24 h", headers: ["Call", "From", "Status"],
              rows: status.unmatchedCalls.map { [escape($0.callSid), escape($0.from ?? "not kept after the call"), escape($0.status.rawValue)] }, empty: "None.")
    }

    static func heldTable(_ status: PipelineStatus) -> String {
        table(caption: "Recordings under legal hold (recops recordings hold): S3 refuses to delete them", headers: ["Recording", "Call", "Job", "Object"],
              rows: status.held.map { [escape($0.recordingSid), escape($0.callSid), escape($0.jobID ?? "none"), escape($0.objectKey ?? "")] }, empty: "None.")
    }

    static func qualityTable(_ status: PipelineStatus) -> String {
        table(caption: "Recordings that failed the quality check (stored all the same)", headers: ["Recording", "Job", "Problem"],
              rows: status.qualityProblems.map { [escape($0.recordingSid), escape($0.jobID ?? "none"), escape($0.qualityProblem ?? "")] }, empty: "None.")
    }

    static func opensTable(_ status: PipelineStatus) -> String {
        let format = ISO8601DateFormatter()
        return table(caption: "Latest opens of stable links, last 24 hours, newest first", headers: ["Time", "Recording", "Job", "Client", "Answer", "User agent"],
                     rows: status.latestOpens.map { open in
                         [escape(format.string(from: open.at)), escape(open.recordingSid ?? "unknown link"), escape(open.jobID ?? "-"), escape(open.client),
                          escape(open.answer.rawValue), escape(String(String.UnicodeScalarView(open.userAgent.unicodeScalars.prefix(80))))]
                     }, empty: "No link opened in the last 24 hours.")
    }

    static func busiestTable(_ status: PipelineStatus) -> String {
        table(caption: "Recordings opened most, last 7 days", headers: ["Recording", "Job", "Opens", "Clients"],
              rows: status.busiestRecordings.map { [escape($0.recordingSid), escape($0.jobID ?? "-"), String($0.opens), String($0.clients)] },
              empty: "None.")
    }
}
