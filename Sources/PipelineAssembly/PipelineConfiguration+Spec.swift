import AWS
import Foundation
import Pipeline
import Spec

extension PipelineConfiguration {
    public struct Incomplete: Error, CustomStringConvertible {
        public var description: String
    }

    /// The pipeline's settings from the spec: the one place the spec's types become the
    /// pipeline's own.
    public init(spec: Spec, accountSID: String, authToken: String, owner: String, dataDirectory: URL) throws {
        guard let app = spec.app, let twilio = spec.twilio, let bucket = spec.bucket, let airtable = spec.airtable, let recordings = spec.recordings,
              let ivr = spec.ivr, let alerts = spec.alerts else {
            throw Incomplete(description: "the spec must declare app, twilio, bucket, airtable and recordings for the pipeline")
        }
        let recording = twilio.recording
        self.init(
            appURL: app.url,
            recording: RecordingSettings(enabled: recording.enabled, channels: RecordingSettings.Channels(recording.channels),
                                         format: RecordingSettings.Format(recording.format), trim: recording.trim,
                                         statusCallbackURL: recording.statusCallback.url, statusCallbackMethod: recording.statusCallback.method,
                                         deleteFromTwilioAfterUpload: recording.deleteFromTwilioAfterUpload, keepInTwilioDays: recording.keepInTwilioDays),
            bucket: bucket.name,
            encryption: S3.Encryption(algorithm: bucket.encryption.algorithm, kmsKeyID: bucket.encryption.kmsKeyId),
            airtable: AirtableSettings(base: airtable.base, table: airtable.table, jobIdField: airtable.jobIdField, historyField: airtable.historyField,
                                       requestsPerSecond: airtable.requestsPerSecond, monthlyRequestBudget: airtable.monthlyRequestBudget,
                                       holdWhenBudgetSpent: airtable.overBudget == .wait),
            history: HistorySettings(recordings),
            ivr: IVRSettings(agentURL: ivr.agentUrl, jobPrompt: ivr.jobPrompt, jobIdFromDigits: ivr.jobIdFromDigits, attempts: ivr.attempts, goodbye: ivr.goodbye),
            alerts: AlertSettings(webhookURL: alerts.webhookUrl.flatMap(URL.init(string:)), historyQueueThreshold: alerts.historyQueueThreshold,
                                  missingRecordingAfter: .seconds(alerts.missingRecordingAfter.seconds)),
            accountSID: accountSID, authToken: authToken, iamUser: spec.iam?.user, owner: owner, dataDirectory: dataDirectory)
        links.access = LinkSettings.Access(recordings.linkAccess)
        links.maxAge = recordings.linkMaxAge.map { TimeInterval($0.seconds) }
        links.opensPerMinute = recordings.linkOpensPerMinute
        if let audit = spec.audit {
            links.auditRetention = TimeInterval(audit.retention.seconds)
            links.distinctRecordingsPerHour = audit.distinctRecordingsPerHour
        }
        retry.transferAttempts = recordings.upload.attempts
        retry.backoff = JobStateMachine.Backoff(recordings.upload.backoff)
        if let service = spec.service {
            limits.maxConnections = service.maxConnections
            limits.headerTimeout = .seconds(service.headerTimeout.seconds)
            limits.bodyTimeout = .seconds(service.bodyTimeout.seconds)
            limits.idleTimeout = .seconds(service.idleTimeout.seconds)
            limits.shutdownTimeout = .seconds(service.shutdownTimeout.seconds)
        }
    }
}

extension HistorySettings {
    public init(_ recordings: Spec.Recordings) {
        self.init(keyTemplate: recordings.key, links: LinkMode(recordings.linkMode), signedURLTTL: .seconds(recordings.signedUrlTtl.seconds),
                  line: recordings.historyLine, pendingLine: recordings.pendingLine, timestampFormat: recordings.timestamp.format,
                  timeZone: recordings.timestamp.timeZone, retryWithin: .seconds(recordings.historyRetryWithin.seconds))
    }
}

// One case each way: a choice the spec adds fails to compile here until the pipeline knows it.
extension RecordingSettings.Channels {
    init(_ channels: Spec.Twilio.Recording.Channels) {
        switch channels {
        case .mono: self = .mono
        case .dual: self = .dual
        }
    }
}

extension RecordingSettings.Format {
    init(_ format: Spec.Twilio.Recording.Format) {
        switch format {
        case .mp3: self = .mp3
        case .wav: self = .wav
        }
    }
}

extension LinkMode {
    init(_ links: Spec.Recordings.Links) {
        switch links {
        case .presigned: self = .presigned
        case .public: self = .public
        case .stable: self = .stable
        }
    }
}

extension LinkSettings.Access {
    init(_ access: Spec.Recordings.LinkAccess) {
        switch access {
        case .anyoneWithLink: self = .anyoneWithLink
        case .login: self = .login
        }
    }
}

extension JobStateMachine.Backoff {
    init(_ backoff: Spec.Recordings.Upload.Backoff) {
        switch backoff {
        case .exponential: self = .exponential
        case .fixed: self = .fixed
        }
    }
}
