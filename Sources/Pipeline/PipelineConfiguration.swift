import AWS
import Foundation
import Spec

/// What the service needs from the spec and the environment, checked once at start-up.
public struct PipelineConfiguration: Sendable, CustomStringConvertible {
    public struct Incomplete: Error, CustomStringConvertible {
        public var description: String
    }

    /// The public base URL Twilio calls; signatures are checked against it, never the Host header.
    public var appURL: String
    public var recording: Spec.Twilio.Recording
    public var bucket: String
    public var encryption: S3.Encryption
    public var airtable: Spec.Airtable
    public var recordings: Spec.Recordings
    public var ivr: Spec.IVR
    public var alerts: Spec.Alerts
    /// The Twilio account whose callbacks are accepted, and the auth token that signs them.
    public var accountSID: String
    public var authToken: String
    /// The service's IAM user (its key ages show on the operations page).
    public var iamUser: String?

    /// Names this replica's claims; a restarted replica releases its own claims at once.
    public var owner: String
    public var dataDirectory: URL
    /// Steps run at once.
    public var concurrency = 4
    /// How long a claim holds before another worker may take the step over.
    public var lease: TimeInterval = 300
    /// First delay after a failed transfer; doubled per attempt (`backoff: exponential`).
    public var retryBase: TimeInterval = 2
    public var maxRetryDelay: TimeInterval = 300
    /// Airtable's own back-off after a 429.
    public var throttleDelay: TimeInterval = 30
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

    public init(spec: Spec, accountSID: String, authToken: String, owner: String, dataDirectory: URL) throws {
        guard let app = spec.app, let twilio = spec.twilio, let bucket = spec.bucket, let airtable = spec.airtable, let recordings = spec.recordings,
              let ivr = spec.ivr, let alerts = spec.alerts else {
            throw Incomplete(description: "the spec must declare app, twilio, bucket, airtable and recordings for the pipeline")
        }
        appURL = app.url.hasSuffix("/") ? String(app.url.dropLast()) : app.url
        recording = twilio.recording
        self.bucket = bucket.name
        encryption = S3.Encryption(algorithm: bucket.encryption.algorithm, kmsKeyID: bucket.encryption.kmsKeyId)
        self.airtable = airtable
        self.recordings = recordings
        self.ivr = ivr
        self.alerts = alerts
        self.accountSID = accountSID
        self.authToken = authToken
        iamUser = spec.iam?.user
        self.owner = owner
        self.dataDirectory = dataDirectory
        if let service = spec.service {
            limits.maxConnections = service.maxConnections
            limits.headerTimeout = .seconds(service.headerTimeout.seconds)
            limits.bodyTimeout = .seconds(service.bodyTimeout.seconds)
            limits.idleTimeout = .seconds(service.idleTimeout.seconds)
            limits.shutdownTimeout = .seconds(service.shutdownTimeout.seconds)
        }
    }

    /// Never the auth token.
    public var description: String {
        "PipelineConfiguration(app: \(appURL), bucket: \(bucket), account: \(accountSID), auth token redacted, owner: \(owner))"
    }

    /// Delay before transfer attempt `attempts + 1`.
    func transferDelay(afterAttempts attempts: Int) -> TimeInterval {
        let factor = recordings.upload.backoff == "fixed" ? 1.0 : pow(2.0, Double(max(0, attempts - 1)))
        return min(maxRetryDelay, retryBase * factor)
    }

    /// Delay before the next history attempt: short at first, never longer than a minute, so a
    /// line arrives well within `history_retry_within` once Airtable answers again.
    func historyDelay(afterAttempts attempts: Int, throttled: Bool) -> TimeInterval {
        if throttled { return throttleDelay }
        return min(60, retryBase * pow(2.0, Double(max(0, attempts - 1))))
    }
}
