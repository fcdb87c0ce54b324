/// The typed spec: what `infra/policy.yaml` declares, after interpolation, validation and defaults.
///
/// Sections a command left out (`--only aws`) are nil; everything else is as written or defaulted.
public struct Spec: Sendable, Equatable, Codable {
    public var version: Int
    public var app: App?
    public var aws: AWS?
    public var bucket: Bucket?
    public var iam: IAM?
    public var audit: Audit?
    public var twilio: Twilio?
    public var airtable: Airtable?
    public var recordings: Recordings?
    public var ivr: IVR?
    public var alerts: Alerts?
    public var service: Service?
    public var store: Store?

    public struct App: Sendable, Equatable, Codable {
        public var url: String
    }

    public struct AWS: Sendable, Equatable, Codable {
        public var region: String
    }

    public struct Bucket: Sendable, Equatable, Codable {
        public var name: String
        public var encryption: Encryption
        public var objectOwnership: String
        public var publicAccessBlock: PublicAccessBlock
        public var versioning: Bool?
        /// S3 Object Lock, for legal holds (`recops recordings hold`); needs versioning.
        public var objectLock: Bool?
        public var policy: Policy
        public var lifecycle: [LifecycleRule]?

        public struct Encryption: Sendable, Equatable, Codable {
            public var algorithm: String
            public var kmsKeyId: String?
            public var bucketKeyEnabled: Bool?
        }

        public struct PublicAccessBlock: Sendable, Equatable, Codable {
            public var blockPublicAcls: Bool
            public var ignorePublicAcls: Bool
            public var blockPublicPolicy: Bool
            public var restrictPublicBuckets: Bool
        }

        public struct Policy: Sendable, Equatable, Codable {
            public var denyInsecureTransport: Bool
            public var denyPublicAcls: Bool

            public init(denyInsecureTransport: Bool, denyPublicAcls: Bool) {
                self.denyInsecureTransport = denyInsecureTransport
                self.denyPublicAcls = denyPublicAcls
            }
        }

        public struct LifecycleRule: Sendable, Equatable, Codable {
            public var id: String
            public var prefix: String
            public var transitions: [Transition]?
            public var expirationDays: Int?
            /// Only objects larger than this many bytes (S3's `ObjectSizeGreaterThan`).
            public var minObjectSize: Int?

            /// Storage classes that bill every object as at least `smallObjectBytes` (and 30 days).
            public static let smallObjectClasses: Set<String> = ["STANDARD_IA", "ONEZONE_IA"]
            public static let smallObjectBytes = 128 * 1024

            public struct Transition: Sendable, Equatable, Codable {
                public var days: Int
                public var storageClass: String
            }
        }
    }

    public struct IAM: Sendable, Equatable, Codable {
        public var user: String
        public var policyName: String
        public var actions: [String]
        public var resources: [String]
        public var accessKeyMaxAgeDays: Int
    }

    public struct Audit: Sendable, Equatable, Codable {
        public var cloudtrail: CloudTrail
        /// How long the access audit (each stable link's opens) is kept.
        public var retention: SpecDuration
        /// A client opening more distinct recordings than this in an hour is flagged and alerted.
        public var distinctRecordingsPerHour: Int

        public struct CloudTrail: Sendable, Equatable, Codable {
            public var trail: String
            public var s3DataEvents: Bool
            public var logBucket: String?
        }
    }

    public struct Webhook: Sendable, Equatable, Codable {
        public var url: String
        public var method: String
    }

    public struct Twilio: Sendable, Equatable, Codable {
        public var numbers: [Number]
        public var recording: Recording

        public struct Number: Sendable, Equatable, Codable {
            public var number: String
            public var voice: Webhook
            public var voiceFallback: Webhook?
            public var statusCallback: Webhook
        }

        public struct Recording: Sendable, Equatable, Codable {
            public enum Channels: String, Sendable, Equatable, Codable, CaseIterable {
                case mono, dual
            }

            public enum Format: String, Sendable, Equatable, Codable, CaseIterable {
                case mp3, wav
            }

            public var enabled: Bool
            public var channels: Channels
            public var format: Format
            public var trim: String
            public var statusCallback: Webhook
            public var deleteFromTwilioAfterUpload: Bool
            /// Twilio's copies older than this many days are reported by verify and deleted by
            /// `reconcile --repair` once confirmed stored and linked; nil: kept as long as Twilio keeps them.
            public var keepInTwilioDays: Int?
        }
    }

    public struct Airtable: Sendable, Equatable, Codable {
        public var base: String
        public var table: String
        public var jobIdField: String
        public var historyField: String
        public var requestsPerSecond: Int
        public var monthlyRequestBudget: Int?
        public var overBudget: OverBudget

        public enum OverBudget: String, Sendable, Equatable, Codable, CaseIterable {
            case wait, `continue`
        }
    }

    public struct Recordings: Sendable, Equatable, Codable {
        public var key: String
        public var publicUrl: Bool
        public var signedUrlTtl: SpecDuration
        /// What a history line links: nil when not written (then `public_url` decides).
        public var links: Links?
        public var linkAccess: LinkAccess
        public var linkMaxAge: SpecDuration?
        public var linkOpensPerMinute: Int
        public var historyLine: String
        public var timestamp: Timestamp
        public var upload: Upload
        public var pendingLine: String
        public var historyRetryWithin: SpecDuration

        public enum Links: String, Sendable, Equatable, Codable, CaseIterable {
            case presigned, `public`, stable
        }

        public enum LinkAccess: String, Sendable, Equatable, Codable, CaseIterable {
            case anyoneWithLink = "anyone_with_link", login
        }

        /// `links` as written, else the older `public_url`.
        public var linkMode: Links { links ?? (publicUrl ? .public : .presigned) }

        public struct Timestamp: Sendable, Equatable, Codable {
            public var format: String
            public var timeZone: String
        }

        public struct Upload: Sendable, Equatable, Codable {
            public enum Backoff: String, Sendable, Equatable, Codable, CaseIterable {
                case exponential, fixed
            }

            public var attempts: Int
            public var backoff: Backoff
        }
    }

    /// What the voice webhook says and does once the recording has started.
    public struct IVR: Sendable, Equatable, Codable {
        /// TwiML URL of the voice agent the call is handed to once the job is known.
        public var agentUrl: String?
        public var jobPrompt: String
        /// How the digits a caller keys in become the job id stored in Airtable.
        public var jobIdFromDigits: String
        public var attempts: Int
        public var goodbye: String
    }

    /// When the service raises an alert, and where it sends it besides the log and the metrics.
    public struct Alerts: Sendable, Equatable, Codable {
        public var webhookUrl: String?
        public var historyQueueThreshold: Int
        public var missingRecordingAfter: SpecDuration
    }

    /// How `recops serve` guards its HTTP listener and how long it takes to stop.
    /// Where the job store lives: PostgreSQL for several replicas (absent: SQLite under `--data-dir`).
    public struct Store: Sendable, Equatable, Codable, CustomStringConvertible {
        /// A `postgres://` URL; it may hold a password, so it is never printed (`description`).
        public var url: String
        public var retention: SpecDuration
        public var maxConnections: Int

        public var description: String { "Store(url redacted, retention: \(retention), max_connections: \(maxConnections))" }
    }

    public struct Service: Sendable, Equatable, Codable {
        public var maxConnections: Int
        public var headerTimeout: SpecDuration
        public var bodyTimeout: SpecDuration
        public var idleTimeout: SpecDuration
        public var shutdownTimeout: SpecDuration
    }
}
