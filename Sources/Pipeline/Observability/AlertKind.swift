/// The alerts the service raises (the `alert` field of the webhook's JSON, the `kind` label of
/// `recops_alerts_total`).
public enum AlertKind: String, Sendable, CaseIterable, Codable {
    /// A transfer used up its attempts; the pending line is written, the transfer goes on.
    case uploadPending = "upload_pending"
    /// Stored, linked nowhere: the call named no job, or the job has no record.
    case unmatched
    /// More recordings wait for their line than `alerts.history_queue_threshold`.
    case historyQueue = "history_queue"
    /// Stored recordings still without their line after `history_retry_within`.
    case historyOverdue = "history_overdue"
    /// A history step held its job's claim past the stall bound without finishing.
    case historyStalled = "history_stalled"
    /// A completed call whose recording never called back.
    case missingRecording = "missing_recording"
    /// A recording's line does not fit in its job's history field (Airtable's 100,000 characters).
    case historyFull = "history_full"
    /// recops's Airtable requests this month reached 80% or 100% of `airtable.monthly_request_budget`.
    case airtableBudget = "airtable_budget"
    /// A client opened more distinct recordings through stable links in an hour than `audit.distinct_recordings_per_hour`.
    case linkBurst = "link_burst"
    /// A stable link was opened from a network (/24, /48) no earlier open came from.
    case linkNewNetwork = "link_new_network"
}

/// Label values of the service's counters, one type per label, so a typo cannot make a new series.
public enum WebhookKind: String, Sendable, CaseIterable {
    case voice, voiceJob = "voice_job", recording, status
}

public enum WebhookResult: String, Sendable, CaseIterable {
    /// `probe`: a voice webhook Twilio sends to check the URL (no call behind it).
    case accepted, duplicate, rejected, probe
}

public enum UploadResult: String, Sendable, CaseIterable {
    case stored, failed, pending
}

public enum AirtableRequestResult: String, Sendable, CaseIterable {
    /// `refused`: a 4xx other than 429 (a bad request, a missing record, a value over a limit).
    case ok, throttled, refused, error, network
}

public enum HistoryResult: String, Sendable, CaseIterable {
    case linked, pendingLine = "pending_line", failed, throttled, unmatched, full
}

/// The request phase whose deadline closed a connection.
public enum TimeoutPhase: String, Sendable, CaseIterable {
    case header, body, idle
}
