import AWS
import Foundation

/// What the service needs, in its own types: made from the spec and the environment at the edge
/// (`PipelineAssembly`), checked once at start-up. Nothing here reads a file or the environment.
public struct PipelineConfiguration: Sendable, CustomStringConvertible {
    /// The public base URL Twilio calls; signatures are checked against it, never the Host header.
    public var appURL: String
    public var recording: RecordingSettings
    public var bucket: String
    public var encryption: S3.Encryption
    public var airtable: AirtableSettings
    public var history: HistorySettings
    public var ivr: IVRSettings
    public var alerts: AlertSettings
    /// The Twilio account whose callbacks are accepted, and the auth token that signs them.
    public var accountSID: String
    public var authToken: String
    /// The service's IAM user (its key ages show on the operations page).
    public var iamUser: String?
    public var links = LinkSettings()
    /// The caller index's key (`RECOPS_PRIVACY_KEY`); nil: calls are not indexed by caller.
    public var callers: CallerIndex?

    /// Names this replica's claims; a restarted replica releases its own claims at once.
    public var owner: String
    public var dataDirectory: URL
    /// Steps run at once.
    public var concurrency = 4
    /// Jobs whose history lines go out in one batched read and write (Airtable's 10 at most).
    public var historyJobs = Scheduler.historyJobs
    /// History steps run at once, of `concurrency`. Airtable's 5/s is the bound, not the slots:
    /// more steps in flight would each take one job as it comes due (2 requests a line) and keep
    /// the transfers that make jobs due from running. Two overlap one step's answer with the next
    /// one's requests; a backlog then goes out 10 jobs a step (measured: 2.5 lines/s at 4).
    public var historyInFlight = PipelineConfiguration.defaultHistoryInFlight
    public static let defaultHistoryInFlight = 2
    /// How long a claim holds before another worker may take the step over.
    public var lease: TimeInterval = 300
    /// How failed steps are retried (attempts and backoff come from the spec).
    public var retry = JobStateMachine.Policy()
    public var pollInterval: Duration = .milliseconds(100)
    public var sweepInterval: Duration = .seconds(15)
    /// A history step holding its claim longer than this is reported stalled (`history_stalled`):
    /// a healthy one takes a few requests, at worst one 30 s pause after a 429 and a timeout.
    public var historyStallAfter: TimeInterval = 180
    /// Webhook bodies above this are refused (413); Twilio's are a few kilobytes.
    public var maxBodyBytes = 64 << 10
    /// The listener's deadlines, connection cap and shutdown bound (the spec's `service:`).
    public var limits = ServiceLimits()
    /// How long the job-number lookup may take inside a voice webhook (Twilio waits 15 s).
    public var lookupTimeout: Duration = .seconds(6)

    public init(appURL: String, recording: RecordingSettings, bucket: String, encryption: S3.Encryption, airtable: AirtableSettings,
                history: HistorySettings, ivr: IVRSettings, alerts: AlertSettings, accountSID: String, authToken: String, iamUser: String?,
                owner: String, dataDirectory: URL) {
        self.appURL = Self.trimmed(appURL)
        self.recording = recording
        self.bucket = bucket
        self.encryption = encryption
        self.airtable = airtable
        self.history = history
        self.ivr = ivr
        self.alerts = alerts
        self.accountSID = accountSID
        self.authToken = authToken
        self.iamUser = iamUser
        self.owner = owner
        self.dataDirectory = dataDirectory
    }

    /// The public base URL without its trailing `/` (links and signatures append paths to it).
    public static func trimmed(_ appURL: String) -> String {
        appURL.hasSuffix("/") ? String(appURL.dropLast()) : appURL
    }

    /// Never the auth token.
    public var description: String {
        "PipelineConfiguration(app: \(appURL), bucket: \(bucket), account: \(accountSID), auth token redacted, owner: \(owner))"
    }
}

/// How Twilio records a call (the spec's `twilio.recording`).
public struct RecordingSettings: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case mp3, wav
    }

    public enum Channels: String, Sendable, CaseIterable {
        case mono, dual
    }

    public var enabled: Bool
    public var channels: Channels
    public var format: Format
    /// Twilio's `trim` value (`trim-silence`, `do-not-trim`), passed through.
    public var trim: String
    public var statusCallbackURL: String
    public var statusCallbackMethod: String
    public var deleteFromTwilioAfterUpload: Bool
    /// Twilio's copies older than this are deleted by `reconcile --repair`, once stored and linked.
    public var keepInTwilioDays: Int?

    public init(enabled: Bool, channels: Channels, format: Format, trim: String, statusCallbackURL: String, statusCallbackMethod: String,
                deleteFromTwilioAfterUpload: Bool, keepInTwilioDays: Int? = nil) {
        self.keepInTwilioDays = keepInTwilioDays
        self.enabled = enabled
        self.channels = channels
        self.format = format
        self.trim = trim
        self.statusCallbackURL = statusCallbackURL
        self.statusCallbackMethod = statusCallbackMethod
        self.deleteFromTwilioAfterUpload = deleteFromTwilioAfterUpload
    }
}

/// Where the history lives (the spec's `airtable`).
public struct AirtableSettings: Sendable, Equatable {
    public var base: String
    public var table: String
    public var jobIdField: String
    public var historyField: String
    /// recops's share of the base's 5 requests a second.
    public var requestsPerSecond: Int
    /// Requests recops may send in a calendar month (UTC), counted in the store; nil: no budget.
    public var monthlyRequestBudget: Int?
    /// Once the budget is spent: hold the work queued (true), or go on and only alert.
    public var holdWhenBudgetSpent: Bool

    public init(base: String, table: String, jobIdField: String, historyField: String, requestsPerSecond: Int = 5,
                monthlyRequestBudget: Int? = nil, holdWhenBudgetSpent: Bool = true) {
        self.requestsPerSecond = requestsPerSecond
        self.monthlyRequestBudget = monthlyRequestBudget
        self.holdWhenBudgetSpent = holdWhenBudgetSpent
        self.base = base
        self.table = table
        self.jobIdField = jobIdField
        self.historyField = historyField
    }
}

/// How recordings are stored and linked (the spec's `recordings`).
public struct HistorySettings: Sendable, Equatable {
    /// The object key template (`{yyyy}`, `{call_sid}`, `{job_id}`…).
    public var keyTemplate: String
    /// What a history line links (the spec's `links`).
    public var links: LinkMode
    public var publicURL: Bool {
        get { links == .public }
        set { links = newValue ? .public : .presigned }
    }
    public var signedURLTTL: Duration
    /// The line template (`{timestamp}`, `{url}`) and the pending line's.
    public var line: String
    public var pendingLine: String
    public var timestampFormat: String
    public var timeZone: String
    /// How long a stored recording may wait for its line before `history_overdue`.
    public var retryWithin: Duration

    public init(keyTemplate: String, links: LinkMode, signedURLTTL: Duration, line: String, pendingLine: String, timestampFormat: String,
                timeZone: String, retryWithin: Duration) {
        self.keyTemplate = keyTemplate
        self.links = links
        self.signedURLTTL = signedURLTTL
        self.line = line
        self.pendingLine = pendingLine
        self.timestampFormat = timestampFormat
        self.timeZone = timeZone
        self.retryWithin = retryWithin
    }
}

/// What a history line links to.
public enum LinkMode: String, Sendable, CaseIterable {
    /// A presigned URL valid for `signed_url_ttl` (it dies with its signer, too).
    case presigned
    /// The object's own URL (the bucket must allow public reads).
    case `public`
    /// `{app.url}/r/{id}`: the service answers each open with a presigned URL of a minute.
    case stable
}

/// How stable links are opened and audited (the spec's `recordings.link_*` and `audit`).
public struct LinkSettings: Sendable, Equatable {
    public enum Access: String, Sendable, CaseIterable {
        /// Whoever holds the link: the people who can read the job in Airtable.
        case anyoneWithLink = "anyone_with_link"
        /// A signed-in session of the operations page.
        case login
    }

    public var access: Access = .anyoneWithLink
    /// A link older than this answers 410; nil: links never expire.
    public var maxAge: TimeInterval?
    /// Opens a minute per client address, then 429.
    public var opensPerMinute = 30
    /// The lifetime of the presigned URL an open redirects to: long enough to start playing, and
    /// a browser that seeks later asks the link again.
    public var redirectTTL = 60
    /// How long opens stay in the audit.
    public var auditRetention: TimeInterval = 365 * 86_400
    /// A client opening more distinct recordings than this in an hour is flagged (`link_burst`).
    public var distinctRecordingsPerHour = 20

    public init() {}
}

/// What the voice webhook says and does (the spec's `ivr`).
public struct IVRSettings: Sendable, Equatable {
    /// TwiML URL of the voice agent the call is handed to once the job is known.
    public var agentURL: String?
    public var jobPrompt: String
    /// How the digits a caller keys in become the job id (`{digits}`).
    public var jobIdFromDigits: String
    public var attempts: Int
    public var goodbye: String

    public init(agentURL: String?, jobPrompt: String, jobIdFromDigits: String, attempts: Int, goodbye: String) {
        self.agentURL = agentURL
        self.jobPrompt = jobPrompt
        self.jobIdFromDigits = jobIdFromDigits
        self.attempts = attempts
        self.goodbye = goodbye
    }
}

/// When alerts fire and where they go (the spec's `alerts`).
public struct AlertSettings: Sendable, Equatable {
    public var webhookURL: URL?
    public var historyQueueThreshold: Int
    public var missingRecordingAfter: Duration

    public init(webhookURL: URL?, historyQueueThreshold: Int, missingRecordingAfter: Duration) {
        self.webhookURL = webhookURL
        self.historyQueueThreshold = historyQueueThreshold
        self.missingRecordingAfter = missingRecordingAfter
    }
}

extension Duration {
    /// Whole and fractional seconds, for date arithmetic.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// "15m", "24h", "7d", "1h30m": in the spec's own units.
    var shortText: String {
        var rest = Int(timeInterval)
        guard rest > 0 else { return "0s" }
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}
