import Foundation
import Testing
@testable import Spec

/// One case per rule: a broken variant of the real spec, the message it must produce, and where.
@Suite struct SpecValidationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var environment: [String: String] = [:]
        var edits: [(String, String)] = []
        /// A fragment of the expected message.
        var message: String
        /// Text in the varied file where the diagnostic must point (its first occurrence).
        var at: String
        var severity: Diagnostic.Severity = .error
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // YAML and structure
        Case(name: "malformed YAML", edits: [("encryption: { algorithm: AES256 }", "encryption: { algorithm: AES256")],
             message: "malformed YAML", at: "object_ownership"),
        Case(name: "duplicate key", edits: [("  versioning: false", "  versioning: false\n  versioning: true")],
             message: "duplicate key 'versioning': written here and again later", at: "versioning: false"),
        Case(name: "unknown key, close to a known one", edits: [("object_ownership:", "object_ownershp:")],
             message: "unknown setting 'object_ownershp' in 'bucket'; did you mean 'object_ownership'?", at: "object_ownershp"),
        Case(name: "unknown key, nothing close", edits: [("  versioning: false", "  colour: blue")],
             message: "unknown setting 'colour' in 'bucket'; allowed here: name, encryption", at: "colour"),
        Case(name: "wrong type: boolean", edits: [("versioning: false", "versioning: maybe")],
             message: "'bucket.versioning' must be true or false, found the value 'maybe'", at: "maybe"),
        Case(name: "wrong type: number", edits: [("access_key_max_age_days: 90", "access_key_max_age_days: ninety")],
             message: "'iam.access_key_max_age_days' must be a whole number", at: "ninety"),
        Case(name: "wrong type: list", edits: [("actions: [s3:PutObject, s3:GetObject]", "actions: s3:PutObject")],
             message: "'iam.actions' must be a list", at: "s3:PutObject"),
        Case(name: "wrong type: mapping", edits: [("  cloudtrail: { trail: recordings-access, s3_data_events: true }", "  cloudtrail: recordings-access")],
             message: "'audit.cloudtrail' must be a mapping of settings", at: "recordings-access"),
        Case(name: "missing required key", edits: [("  policy_name: recording-pipeline-s3\n", "")],
             message: "'iam' is missing the required setting 'policy_name'", at: "user: recording-pipeline"),
        Case(name: "value not allowed", edits: [("algorithm: AES256", "algorithm: AES265")],
             message: "'bucket.encryption.algorithm' must be one of AES256, aws:kms, aws:kms:dsse, not 'AES265'; did you mean 'AES256'?", at: "AES265"),
        Case(name: "unsupported version", edits: [("version: 1", "version: 2")],
             message: "'version' must be at most 1, not 2", at: "2\n"),
        Case(name: "unset variable", environment: ["S3_BUCKET": ""],
             message: "bucket.name: environment variable S3_BUCKET is not set", at: "${S3_BUCKET}"),
        Case(name: "unset variable inside a quoted value", environment: ["S3_BUCKET": ""],
             message: "iam.resources[0]: environment variable S3_BUCKET is not set", at: "${S3_BUCKET}/recordings"),
        Case(name: "malformed variable reference", edits: [("${S3_REGION:-us-east-1}", "${S3 REGION}")],
             message: "'${S3 REGION}' is not a variable reference", at: "${S3 REGION}"),

        // Store: the URL is checked, and its password never echoed.
        Case(name: "store URL not postgres", edits: [("version: 1\n", "version: 1\nstore:\n  url: mysql://u:s3cret@db.internal/recops\n")],
             message: "'store.url' is 'mysql://u:***@db.internal/recops', which is not a postgres:// URL", at: "mysql://"),
        Case(name: "store URL from an unset variable", edits: [("version: 1\n", "version: 1\nstore:\n  url: ${RECOPS_DATABASE_URL}\n")],
             message: "store.url: environment variable RECOPS_DATABASE_URL is not set", at: "${RECOPS_DATABASE_URL}"),
        Case(name: "store pool too large", edits: [("version: 1\n", "version: 1\nstore:\n  url: postgres://u@db/recops\n  max_connections: 1000\n")],
             message: "'store.max_connections' must be at most 200, not 1000", at: "1000"),

        // Bucket
        Case(name: "bucket name: characters", environment: ["S3_BUCKET": "Acme_Recordings"],
             message: "contains 'A'; S3 allows only lowercase letters, digits, hyphens and dots", at: "${S3_BUCKET}"),
        Case(name: "bucket name: length", environment: ["S3_BUCKET": "ab"],
             message: "bucket name 'ab' is 2 characters long; S3 needs 3 to 63", at: "${S3_BUCKET}"),
        Case(name: "bucket name: IP address", environment: ["S3_BUCKET": "192.168.5.4"],
             message: "formatted as an IP address", at: "${S3_BUCKET}"),
        Case(name: "bucket name: reserved prefix", environment: ["S3_BUCKET": "xn--recordings"],
             message: "reserved prefix 'xn--'", at: "${S3_BUCKET}"),
        Case(name: "bucket name: dots warn", environment: ["S3_BUCKET": "acme.recordings"],
             message: "contains dots", at: "${S3_BUCKET}", severity: .warning),
        Case(name: "KMS key with AES256", edits: [("{ algorithm: AES256 }", "{ algorithm: AES256, kms_key_id: alias/rec }")],
             message: "kms_key_id is only used with algorithm aws:kms", at: "alias/rec"),

        // Lifecycle
        Case(name: "lifecycle: IA before 30 days", edits: [("days: 90, storage_class: STANDARD_IA", "days: 10, storage_class: STANDARD_IA")],
             message: "at least 30 days old before moving to STANDARD_IA", at: "10, storage_class"),
        Case(name: "lifecycle: expiration not after the last transition", environment: ["RECORDING_RETENTION_DAYS": "60"],
             message: "expiration after 60 days is not later than the last transition (STANDARD_IA at 90 days)", at: "${RECORDING_RETENTION_DAYS:-365}"),
        Case(name: "lifecycle: IA for recordings of any size",
             edits: [("      min_object_size: 131072           # recordings under 128 KiB (about 33 s) stay: STANDARD_IA bills them as 128 KiB\n", "")],
             message: "STANDARD_IA bills every object as at least 128 KiB (and 30 days)", at: "STANDARD_IA", severity: .warning),
        Case(name: "lifecycle: a size filter too small for IA",
             edits: [("min_object_size: 131072 ", "min_object_size: 4096 ")],
             message: "Add min_object_size: 131072 to rule 'RecordingRetention', or move to INTELLIGENT_TIERING", at: "STANDARD_IA }", severity: .warning),
        Case(name: "twilio: keep_in_twilio_days made moot by delete_from_twilio_after_upload",
             edits: [("    delete_from_twilio_after_upload: false ", "    keep_in_twilio_days: 30\n    delete_from_twilio_after_upload: true ")],
             message: "delete_from_twilio_after_upload already deletes Twilio's copy as soon as it is stored and linked, so keep_in_twilio_days: 30 never applies",
             at: "30\n    delete_from_twilio", severity: .warning),
        Case(name: "bucket: object lock without versioning",
             edits: [("  versioning: false ", "  versioning: false\n  object_lock: true ")],
             message: "object_lock needs versioning: true. A legal hold protects one version of an object", at: "true                     # optional in the runbook"),
        Case(name: "lifecycle: unknown storage class", edits: [("storage_class: STANDARD_IA", "storage_class: GLACIER_DEEP")],
             message: "must be one of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, not 'GLACIER_DEEP'", at: "GLACIER_DEEP"),
        Case(name: "lifecycle: days not above zero", edits: [("days: 90, storage_class: STANDARD_IA", "days: 0, storage_class: GLACIER")],
             message: "transition days must be greater than 0, not 0", at: "0, storage_class"),
        Case(name: "lifecycle: expiration not above zero", environment: ["RECORDING_RETENTION_DAYS": "-1"],
             message: "expiration_days must be greater than 0, not -1", at: "${RECORDING_RETENTION_DAYS:-365}"),
        Case(name: "lifecycle: duplicate rule ids",
             edits: [("      expiration_days: ${RECORDING_RETENTION_DAYS:-365}\n", "      expiration_days: ${RECORDING_RETENTION_DAYS:-365}\n    - id: RecordingRetention\n      expiration_days: 400\n")],
             message: "lifecycle rule id 'RecordingRetention' is already used by rule 1", at: "RecordingRetention\n      expiration_days: 400"),
        Case(name: "lifecycle: rule with no action", edits: [("      transitions: [{ days: 90, storage_class: STANDARD_IA }]\n      expiration_days: ${RECORDING_RETENTION_DAYS:-365}\n", "")],
             message: "has neither transitions nor expiration_days", at: "id: RecordingRetention"),

        // Presigned URLs
        Case(name: "signed URL TTL over 7 days", edits: [("signed_url_ttl: 15m", "signed_url_ttl: 8d")],
             message: "signed_url_ttl 8d is longer than 7 days", at: "8d"),
        Case(name: "signed URL TTL not a duration", edits: [("signed_url_ttl: 15m", "signed_url_ttl: 15 minutes")],
             message: "which is not a duration such as 90s, 15m, 12h or 7d", at: "15 minutes"),

        // IAM
        Case(name: "HeadObject is not an IAM action", edits: [("[s3:PutObject, s3:GetObject]", "[s3:PutObject, s3:GetObject, s3:HeadObject]")],
             message: "'s3:HeadObject' is an S3 API operation, not an IAM action; IAM accepts it but it grants nothing. It is authorised by s3:GetObject", at: "s3:HeadObject]"),
        Case(name: "HeadBucket is not an IAM action", edits: [("[s3:PutObject, s3:GetObject]", "[s3:PutObject, s3:HeadBucket]")],
             message: "It is authorised by s3:ListBucket", at: "s3:HeadBucket"),
        Case(name: "invented action", edits: [("s3:PutObject,", "s3:PutObjekt,")],
             message: "'s3:PutObjekt' is not an S3 IAM action; IAM accepts it but it grants nothing; did you mean 's3:PutObject'?", at: "s3:PutObjekt"),
        Case(name: "wildcard matching nothing", edits: [("s3:PutObject,", "s3:Frob*,")],
             message: "'s3:Frob*' matches no S3 action", at: "s3:Frob*"),
        Case(name: "every action warns", edits: [("s3:PutObject,", "s3:*,")],
             message: "'s3:*' grants every S3 action", at: "s3:*", severity: .warning),
        Case(name: "a pending line with a line break", edits: [("Source: IVR | Recording pending upload\"", "Source: IVR\\nRecording pending upload\"")],
             message: "pending_line must be one line: it contains a line break", at: "\"---- | {timestamp} | Event: Recording | Source: IVR\\nRecording"),
        // The listener's deadlines
        Case(name: "a header timeout Twilio would not wait for", edits: [("# service:                   # how", "service:\n  header_timeout: 20s\n# how")],
             message: "header_timeout is 20s: Twilio gives up on a webhook after 15 s", at: "20s\n# how", severity: .warning),
        Case(name: "a zero body timeout", edits: [("# service:                   # how", "service:\n  body_timeout: 0s\n# how")],
             message: "body_timeout must be longer than 0 seconds", at: "0s\n# how"),
        Case(name: "a connection cap too small", edits: [("# service:                   # how", "service:\n  max_connections: 2\n# how")],
             message: "max_connections", at: "2\n# how"),
        Case(name: "another service", edits: [("s3:PutObject,", "iam:CreateUser,")],
             message: "'iam:CreateUser' is not an S3 action", at: "iam:CreateUser"),
        Case(name: "resource outside the bucket", edits: [("arn:aws:s3:::${S3_BUCKET}/recordings/*", "arn:aws:s3:::other-bucket/recordings/*")],
             message: "is outside the declared bucket 'acme-call-recordings'", at: "\"arn:aws:s3:::other"),
        Case(name: "resource in the wrong partition", environment: ["S3_REGION": "cn-north-1"],
             message: "is in partition 'aws', but region cn-north-1 is in 'aws-cn'", at: "\"arn:aws:s3"),
        Case(name: "resource not an S3 ARN", edits: [("arn:aws:s3:::${S3_BUCKET}/recordings/*", "recordings/*")],
             message: "'recordings/*' is not an S3 ARN", at: "\"recordings/*"),
        Case(name: "key outside the granted resources", edits: [("key: \"recordings/{yyyy}", "key: \"calls/{yyyy}")],
             message: "keys like 'calls/x/x/x/x-x.mp3' are outside iam.resources", at: "\"calls/"),

        // Twilio
        Case(name: "phone number not E.164", environment: ["TWILIO_PHONE_NUMBER": "555-123-4567"],
             message: "'555-123-4567' is not an E.164 number", at: "${TWILIO_PHONE_NUMBER}"),
        Case(name: "webhook over http", environment: ["APP_URL": "http://rec.example.com"],
             message: "'http://rec.example.com' uses http: Twilio webhooks must use https", at: "${APP_URL}"),
        Case(name: "webhook outside app.url", edits: [("\"${APP_URL}/api/twilio/status\"", "\"https://elsewhere.example.com/status\"")],
             message: "'https://elsewhere.example.com/status' is not under app.url (https://rec.example.com)", at: "\"https://elsewhere"),
        Case(name: "webhook method", edits: [("/api/twilio/voice\", method: POST", "/api/twilio/voice\", method: PUT")],
             message: "'twilio.numbers[0].voice.method' must be one of GET, POST, not 'PUT'", at: "PUT"),
        Case(name: "recording channels", edits: [("channels: mono", "channels: stereo")],
             message: "must be one of mono, dual, not 'stereo'", at: "stereo"),

        // Airtable
        Case(name: "Airtable base id", environment: ["AIRTABLE_BASE_ID": "base123"],
             message: "which is not an Airtable base id", at: "${AIRTABLE_BASE_ID}"),

        // Recordings
        Case(name: "public URLs under a public access block", environment: ["RECORDING_PUBLIC_URL": "true"],
             message: "links are public, but the bucket's public access block", at: "${RECORDING_PUBLIC_URL:-false}"),
        Case(name: "public URLs allowed by the bucket still warn", environment: ["RECORDING_PUBLIC_URL": "true"],
             edits: [("block_public_policy: true", "block_public_policy: false"), ("restrict_public_buckets: true", "restrict_public_buckets: false")],
             message: "recordings of customer calls would be readable by anyone with the link", at: "${RECORDING_PUBLIC_URL:-false}", severity: .warning),
        Case(name: "links and public_url disagree", environment: ["RECORDING_PUBLIC_URL": "true"],
             edits: [("  signed_url_ttl: 15m\n", "  signed_url_ttl: 15m\n  links: stable\n")],
             message: "links is stable but public_url is true: public_url is the older spelling of links: public", at: "stable\n"),
        Case(name: "an unknown kind of link", edits: [("  signed_url_ttl: 15m\n", "  signed_url_ttl: 15m\n  links: permanent\n")],
             message: "must be one of presigned, public, stable, not 'permanent'", at: "permanent"),
        Case(name: "link access without stable links", edits: [("  signed_url_ttl: 15m\n", "  signed_url_ttl: 15m\n  link_access: login\n")],
             message: "link_access: login applies to stable links only", at: "login\n", severity: .warning),
        Case(name: "a link age of nothing", edits: [("  signed_url_ttl: 15m\n", "  signed_url_ttl: 15m\n  links: stable\n  link_max_age: 0d\n")],
             message: "link_max_age must be longer than 0 seconds", at: "0d"),
        Case(name: "an audit kept for no time", edits: [("s3_data_events: true }", "s3_data_events: true }\n  retention: 0s")],
             message: "retention must be longer than 0 seconds", at: "0s"),
        Case(name: "key without the call SID", edits: [("{call_sid}-{job_id}.mp3", "{job_id}.mp3")],
             message: "the template must contain {call_sid}: without it two calls on the same day and job would write the same object", at: "\"recordings/{yyyy}"),
        Case(name: "unknown key placeholder", edits: [("{call_sid}-{job_id}.mp3", "{call_sid}-{jobid}.mp3")],
             message: "unknown placeholder {jobid}", at: "\"recordings/{yyyy}"),
        Case(name: "history line without the URL", edits: [("Source: IVR | URL: {url}", "Source: IVR")],
             message: "the template must contain {url}", at: "\"---- | {timestamp} | Event: Recording | Source: IVR\""),
        Case(name: "time zone", edits: [("time_zone: UTC", "time_zone: Mars/Olympus")],
             message: "'Mars/Olympus' is not an IANA time zone", at: "Mars/Olympus"),
    ]

    @Test(arguments: cases) func reportsTheRuleAtItsPosition(_ test: Case) throws {
        var text = try SpecFixture.policyText
        for (old, new) in test.edits {
            #expect(text.contains(old), "edit target missing: \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        let environment = SpecFixture.environment.merging(test.environment) { $1 }
        let result = SpecLoader(environment: environment).validate(yaml: text, file: "infra/policy.yaml")
        let expected = try #require(SpecFixture.position(of: test.at, in: text), "marker missing: \(test.at)")

        let matching = result.diagnostics.filter { $0.message.contains(test.message) }
        let diagnostic = try #require(matching.first, "no diagnostic with '\(test.message)' in \(result.diagnostics)")
        #expect(diagnostic.severity == test.severity)
        #expect(diagnostic.location == SourceLocation(file: "infra/policy.yaml", line: expected.line, column: expected.column))
        #expect((result.loaded == nil) == (test.severity == .error))
    }

    @Test func loopbackWebhooksMayUseHTTP() {
        var environment = SpecFixture.environment
        environment["APP_URL"] = "http://127.0.0.1:8080"
        let result = SpecLoader(environment: environment).validate(path: SpecFixture.policyPath)
        #expect(result.diagnostics == [])
    }

    @Test func theEmptyFileIsAnError() {
        let result = SpecLoader(environment: [:]).validate(yaml: "# nothing\n", file: "p.yaml")
        #expect(result.diagnostics.map(\.description) == ["p.yaml:1:1: error: the spec is empty: expected a mapping with 'version', 'app', 'bucket', …"])
    }

    @Test func everyErrorIsReportedAtOnce() throws {
        let text = try SpecFixture.policyText
            .replacingOccurrences(of: "versioning: false", with: "versioning: 3")
            .replacingOccurrences(of: "channels: mono", with: "channels: quad")
        let result = SpecLoader(environment: SpecFixture.environment).validate(yaml: text, file: "p.yaml")
        #expect(result.diagnostics.errors.count == 2)
        // In file order.
        #expect(result.diagnostics.map(\.location.line) == result.diagnostics.map(\.location.line).sorted())
    }
}
