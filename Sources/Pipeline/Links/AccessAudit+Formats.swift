import AWS
import Foundation
import RecopsBase

/// The audit's reports as text, JSON and CSV. Values a client controls (its user agent) are
/// printed as they came, but in CSV a leading `= + - @` is defused (a spreadsheet would run it).
extension AccessAudit {
    public enum Format: String, Sendable, CaseIterable {
        case text, json, csv
    }

    static func time(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    static func csv(_ rows: [[String]]) -> String {
        rows.map { row in
            row.map { field in
                var value = field
                if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { value = "'" + value }
                let quoted = value.unicodeScalars.contains { ",\"\n\r".unicodeScalars.contains($0) }
                return quoted ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
            }.joined(separator: ",")
        }.joined(separator: "\r\n") + "\r\n"
    }

    static let openColumns = ["time", "answer", "recording_sid", "job_id", "link_id", "client", "network", "session", "user_agent"]

    static func fields(_ open: LinkOpen) -> [String] {
        [time(open.at), open.answer.rawValue, open.recordingSid ?? "", open.jobID ?? "", open.linkID ?? "", open.client, open.network,
         open.session ?? "", open.userAgent]
    }

    static func json(_ open: LinkOpen) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: zip(openColumns, fields(open)).map { ($0, $1.isEmpty && $0 != "user_agent" ? JSONValue.null : .string($1)) }))
    }

    public static func render(opens: [LinkOpen], format: Format) -> String {
        switch format {
        case .json: return JSONValue.array(opens.map(json)).encoded(pretty: true)
        case .csv: return csv([openColumns] + opens.map(fields))
        case .text:
            guard !opens.isEmpty else { return "no opens in the period" }
            return opens.map { open in
                "\(time(open.at))  \(open.answer.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(open.recordingSid ?? "-") \(open.jobID ?? "-")  \(open.client)\(open.session.map { " session \($0)" } ?? "")  \(open.userAgent)"
            }.joined(separator: "\n")
        }
    }

    public static func render(summary: Summary, format: Format) -> String {
        switch format {
        case .json:
            return JSONValue.object([
                "from": .string(time(summary.from)), "to": .string(time(summary.to)), "opens": .number(Double(summary.opens)),
                "refused": .number(Double(summary.refused)), "flagged": .bool(summary.flagged),
                "days": .array(summary.days.map { .object(["day": .string($0.day), "opens": .number(Double($0.opens)), "recordings": .number(Double($0.recordings)), "clients": .number(Double($0.clients))]) }),
                "recordings": .array(summary.recordings.map { .object(["recording_sid": .string($0.recordingSid), "job_id": $0.jobID.map(JSONValue.string) ?? .null, "opens": .number(Double($0.opens)), "clients": .number(Double($0.clients))]) }),
                "clients": .array(summary.clients.map { .object(["client": .string($0.client), "opens": .number(Double($0.opens)), "recordings": .number(Double($0.recordings)), "refused": .number(Double($0.refused))]) }),
                "bursts": .array(summary.bursts.map { .object(["client": .string($0.client), "from": .string(time($0.from)), "recordings": .number(Double($0.recordings))]) }),
                "new_networks": .array(summary.newNetworks.map { .object(["network": .string($0.network), "client": .string($0.client), "at": .string(time($0.at))]) }),
                "distinct_recordings_per_hour": .number(Double(summary.threshold)),
            ]).encoded(pretty: true)
        case .csv:
            var rows = [["section", "key", "opens", "recordings", "clients", "detail"]]
            rows += summary.days.map { ["day", $0.day, "\($0.opens)", "\($0.recordings)", "\($0.clients)", ""] }
            rows += summary.recordings.map { ["recording", $0.recordingSid, "\($0.opens)", "1", "\($0.clients)", $0.jobID ?? ""] }
            rows += summary.clients.map { ["client", $0.client, "\($0.opens)", "\($0.recordings)", "1", "refused \($0.refused)"] }
            rows += summary.bursts.map { ["flag_burst", $0.client, "", "\($0.recordings)", "1", "from \(time($0.from))"] }
            rows += summary.newNetworks.map { ["flag_new_network", $0.network, "", "", "1", "\($0.client) at \(time($0.at))"] }
            return csv(rows)
        case .text:
            var lines = ["Opens \(time(summary.from)) to \(time(summary.to)): \(summary.opens) (\(summary.refused) not answered with the recording)"]
            lines.append("By day:")
            lines += summary.days.map { "  \($0.day)  \($0.opens) opens, \($0.recordings) recordings, \($0.clients) clients" }
            lines.append("Busiest recordings:")
            lines += summary.recordings.prefix(20).map { "  \($0.recordingSid) \($0.jobID ?? "-")  \($0.opens) opens by \($0.clients) clients" }
            lines.append("By client:")
            lines += summary.clients.prefix(20).map { "  \($0.client)  \($0.opens) opens, \($0.recordings) recordings, \($0.refused) refused" }
            lines.append("Flagged:")
            if !summary.flagged { lines.append("  nothing") }
            lines += summary.bursts.map { "  burst: \($0.client) opened \($0.recordings) distinct recordings within the hour from \(time($0.from)) (more than \(summary.threshold))" }
            lines += summary.newNetworks.map { "  new network: \($0.network) (\($0.client)) first opened a recording at \(time($0.at))" }
            return lines.joined(separator: "\n")
        }
    }

    static let trailColumns = ["time", "principal", "source_ip", "user_agent", "key", "error", "via_link_open", "link_client"]

    static func fields(_ read: TrailRead) -> [String] {
        [time(read.record.eventTime), read.record.principal, read.record.sourceIPAddress ?? "", read.record.userAgent ?? "", read.record.key ?? "",
         read.record.errorCode ?? "", read.open.map { time($0.at) } ?? "", read.open?.client ?? ""]
    }

    public static func render(trail reads: [TrailRead], format: Format) -> String {
        switch format {
        case .json:
            return JSONValue.array(reads.map { read in
                .object(Dictionary(uniqueKeysWithValues: zip(trailColumns, fields(read)).map { ($0, $1.isEmpty ? JSONValue.null : .string($1)) }))
            }).encoded(pretty: true)
        case .csv: return csv([trailColumns] + reads.map(fields))
        case .text:
            guard !reads.isEmpty else { return "CloudTrail: no GetObject of a recording in the period" }
            let outside = reads.filter { $0.open == nil }.count
            return (["CloudTrail: \(reads.count) reads of recordings, \(outside) not through a recops link"] + reads.map { read in
                "  \(time(read.record.eventTime))  \(read.record.principal)  \(read.record.sourceIPAddress ?? "-")  \(read.record.key ?? "-")"
                    + (read.record.errorCode.map { "  \($0)" } ?? "")
                    + (read.open.map { "  via link open at \(time($0.at)) by \($0.client)" } ?? "  NOT through a recops link")
            }).joined(separator: "\n")
        }
    }
}
