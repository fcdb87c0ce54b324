import Foundation
import RecopsBase

extension PipelineStatus {
    static func seconds(_ value: Double?) -> String {
        guard let value else { return "n/a" }
        return value < 10 ? String(format: "%.2f s", value) : String(format: "%.0f s", value)
    }

    static func age(_ seconds: Int) -> String {
        seconds < 120 ? "\(seconds) s" : (seconds < 7200 ? "\(seconds / 60) min" : "\(seconds / 3600) h")
    }

    public var text: String {
        var lines: [String] = []
        let states = RecordingJob.State.allCases.map { "\($0.rawValue) \(queue[$0] ?? 0)" }.joined(separator: ", ")
        lines.append("Queue: \(states)")
        let rate = successRate.map { String(format: "%.1f %%", $0 * 100) } ?? "n/a"
        lines.append("Last \(windowHours) h: \(received) recordings, \(linked) linked (success rate \(rate)); callback → history p50 \(Self.seconds(latency(percentile: 50))), p95 \(Self.seconds(latency(percentile: 95)))")
        switch storage {
        case .success(let value): lines.append("Storage under recordings/: \(value.objects) objects, \(value.bytes) bytes")
        case .failure(let error): lines.append("Storage under recordings/: unknown (\(error))")
        }
        switch keys {
        case .success(let keys):
            lines.append("Access keys: " + (keys.isEmpty ? "none" : keys.map { "\($0.id) \($0.active ? "active" : "inactive"), \($0.ageDays) days old" }.joined(separator: "; ")))
        case .failure(let error): lines.append("Access keys: unknown (\(error))")
        }
        let granted = latestOpens.filter { $0.answer == .redirected }.count
        lines.append("Stable-link opens: latest \(latestOpens.count) in 24 h (\(granted) answered with the recording)"
            + (busiestRecordings.first.map { "; opened most in 7 days: \($0.recordingSid) (\($0.opens) opens by \($0.clients) clients)" } ?? ""))
        lines.append("Signing with: " + (signingKeys.isEmpty ? "no replica has reported" : signingKeys.map {
            "\($0.owner): \($0.accessKeyID) from \($0.source), seen \(Self.age(Int($0.age))) ago"
                + ($0.expiration.map { " (expires \(ISO8601DateFormatter().string(from: $0)))" } ?? "")
        }.joined(separator: "; ")))
        lines.append("Pending (\(pending.count)):")
        lines += pending.map { "  \($0.job.recordingSid) call \($0.job.callSid) job \($0.job.jobID ?? "?") \($0.job.state.rawValue) for \(Self.age($0.ageSeconds)), attempts \($0.job.attempts): \($0.job.lastError ?? "")" }
        lines.append("In progress: " + claimsText)
        lines.append("History steps stalled (\(stalledHistory.count))" + (stalledHistory.isEmpty ? "" : ":"))
        lines += stalledHistory.map { "  job \($0.jobID) held by \($0.owner) for \(Self.age(Int(generatedAt.timeIntervalSince($0.since)))) with no progress" }
        lines.append("Unmatched recordings (\(unmatchedRecordings.count)):")
        lines += unmatchedRecordings.map { "  \($0.recordingSid) call \($0.callSid) at \($0.objectKey ?? "?"): \($0.note ?? $0.lastError ?? "")" }
        lines.append("History full (\(historyFull.count))" + (historyFull.isEmpty ? "" : ": make room in the job's history field; they are linked on their next look"))
        lines += historyFull.map { "  \($0.recordingSid) job \($0.jobID ?? "?") at \($0.objectKey ?? "?"): \($0.note ?? "")" }
        lines.append("Legal hold (\(held.count))" + (held.isEmpty ? "" : ": never erased or expired until released (recops recordings hold --release)"))
        lines += held.map { "  \($0.recordingSid) call \($0.callSid) job \($0.jobID ?? "-") at \($0.objectKey ?? "?")" }
        lines.append("Airtable requests: " + airtableMonthText)
        lines.append("Calls without a job (\(unmatchedCalls.count)):")
        lines += unmatchedCalls.map { "  \($0.callSid) from \($0.from ?? "(number not kept after the call)") (\($0.status.rawValue))" }
        lines.append("Quality problems (\(qualityProblems.count)):")
        lines += qualityProblems.map { "  \($0.recordingSid) job \($0.jobID ?? "?"): \($0.qualityProblem ?? "")" }
        return lines.joined(separator: "\n")
    }

    static func job(_ job: RecordingJob) -> JSONValue {
        var object: [String: JSONValue] = [
            "recording_sid": .string(job.recordingSid), "call_sid": .string(job.callSid), "state": .string(job.state.rawValue),
            "attempts": .number(Double(job.attempts)), "received_at": .string(ISO8601DateFormatter().string(from: job.receivedAt)),
        ]
        if let value = job.jobID { object["job_id"] = .string(value) }
        if let value = job.objectKey { object["key"] = .string(value) }
        if let value = job.lastError { object["last_error"] = .string(value) }
        if let value = job.note { object["note"] = .string(value) }
        if let value = job.qualityProblem { object["quality_problem"] = .string(value) }
        return .object(object)
    }

    /// "replica-0: 2, replica-1: 1", or "nothing".
    var claimsText: String {
        claims.isEmpty ? "nothing" : claims.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "generated_at": .string(ISO8601DateFormatter().string(from: generatedAt)),
            "queue": .object(Dictionary(uniqueKeysWithValues: RecordingJob.State.allCases.map { ($0.rawValue, JSONValue.number(Double(queue[$0] ?? 0))) })),
            "window_hours": .number(Double(windowHours)), "received": .number(Double(received)), "linked": .number(Double(linked)),
            "success_rate": successRate.map(JSONValue.number) ?? .null,
            "latency_seconds": .object(["p50": latency(percentile: 50).map(JSONValue.number) ?? .null, "p95": latency(percentile: 95).map(JSONValue.number) ?? .null]),
            "claims": .object(claims.mapValues { .number(Double($0)) }),
            "stalled_history": .array(stalledHistory.map { .object(["job_id": .string($0.jobID), "owner": .string($0.owner),
                                                                    "since": .string(ISO8601DateFormatter().string(from: $0.since))]) }),
            "pending": .array(pending.map { entry in
                var value = Self.job(entry.job)
                if case .object(var fields) = value { fields["age_seconds"] = .number(Double(entry.ageSeconds)); value = .object(fields) }
                return value
            }),
            "unmatched_recordings": .array(unmatchedRecordings.map(Self.job)),
            "history_full": .array(historyFull.map(Self.job)),
            "held": .array(held.map(Self.job)),
            "unmatched_calls": .array(unmatchedCalls.map { .object(["call_sid": .string($0.callSid), "from": $0.from.map(JSONValue.string) ?? .null, "status": .string($0.status.rawValue)]) }),
            "quality_problems": .array(qualityProblems.map(Self.job)),
            "hours": .array(hours.map { .object(["start": .string(ISO8601DateFormatter().string(from: $0.start)), "recordings": .number(Double($0.recordings)), "failures": .number(Double($0.failures))]) }),
        ]
        if let (month, used, budget) = airtableMonth {
            object["airtable_requests"] = .object(["month": .string(month), "used": .number(Double(used)), "budget": budget.map { .number(Double($0)) } ?? .null])
        }
        switch storage {
        case .success(let value): object["storage"] = .object(["objects": .number(Double(value.objects)), "bytes": .number(Double(value.bytes))])
        case .failure(let error): object["storage"] = .object(["error": .string(error.description)])
        }
        switch keys {
        case .success(let keys):
            object["access_keys"] = .array(keys.map { .object(["id": .string($0.id), "active": .bool($0.active), "age_days": .number(Double($0.ageDays))]) })
        case .failure(let error): object["access_keys"] = .object(["error": .string(error.description)])
        }
        object["signing_keys"] = .array(signingKeys.map { key in
            var entry: [String: JSONValue] = ["replica": .string(key.owner), "access_key_id": .string(key.accessKeyID), "source": .string(key.source),
                                              "seen_at": .string(ISO8601DateFormatter().string(from: key.seenAt))]
            if let expiration = key.expiration { entry["expires_at"] = .string(ISO8601DateFormatter().string(from: expiration)) }
            return .object(entry)
        })
        return .object(object)
    }
}
