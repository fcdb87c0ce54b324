/// The shape of `infra/policy.yaml`. Summaries double as help text in messages and in the JSON
/// Schema that editors show on hover.
extension Schema {
    public static let spec: Schema = .object("recops spec: the recording runbook as code", [
        .required("version", .integer("spec format version; 1 is the only one", minimum: 1, maximum: 1)),
        .required("app", .object("the pipeline service", [
            .required("url", .string("public base URL of the pipeline service, as Twilio reaches it", pattern: urlPattern, patternHelp: urlHelp)),
        ])),
        .required("aws", .object("AWS account settings", [
            .required("region", .string("AWS region of the bucket, for example us-east-1", pattern: "[a-z]{2}(-[a-z]+)+-[0-9]+", patternHelp: "which is not an AWS region name such as us-east-1")),
        ])),
        .required("bucket", bucket),
        .required("iam", iam),
        .optional("audit", .object("audit trail of access to recordings", [
            .required("cloudtrail", .object("CloudTrail trail recording S3 data events for the bucket", [
                .required("trail", .string("trail name")),
                .optional("s3_data_events", .boolean("log object-level (data) events for the recordings bucket", default: true)),
                .optional("log_bucket", .string("bucket that receives the trail's log files (default: the recordings bucket, under AWSLogs/)")),
            ])),
            .optional("retention", .string("how long the access audit of stable links (who opened which recording) is kept", pattern: durationPattern, patternHelp: durationHelp, default: "365d")),
            .optional("distinct_recordings_per_hour", .integer("a client opening more distinct recordings than this within an hour is flagged, and an alert fires", minimum: 1, default: 20)),
        ])),
        .required("twilio", twilio),
        .required("airtable", .object("the Airtable base holding the Jobs table", [
            .required("base", .string("Airtable base id (app…)", pattern: "app[A-Za-z0-9]{14}", patternHelp: "which is not an Airtable base id (app followed by 14 letters or digits)")),
            .optional("table", .string("table holding the jobs", default: "Jobs")),
            .optional("job_id_field", .string("field holding the job number callers give", default: "Job ID")),
            .optional("history_field", .string("long-text field that receives one line per recording", default: "job_history")),
            .optional("requests_per_second", .integer("requests a second recops sends to the base at most (Airtable allows 5 per base; keep some for other integrations)", minimum: 1, maximum: 5, default: 5)),
            .optional("monthly_request_budget", .integer("Airtable requests recops may send in a calendar month (UTC); alerts at 80% and 100%", minimum: 1)),
            .optional("over_budget", .string("what history writes do once the monthly budget is spent: wait for the next month, or continue (and keep alerting)", values: Spec.Airtable.OverBudget.allCases.map(\.rawValue), default: "wait")),
        ])),
        .required("recordings", recordings),
        .optional("ivr", ivr),
        .optional("alerts", alerts),
        .optional("service", service),
        .optional("store", store),
    ])

    static let urlPattern = "https?://[^\\s/?#]+(/[^\\s]*)?"
    static let urlHelp = "which is not an http(s) URL"

    static func webhook(_ summary: String) -> Schema {
        .object(summary, [
            .required("url", .string("URL Twilio requests", pattern: urlPattern, patternHelp: urlHelp)),
            .optional("method", .string("HTTP method Twilio uses", values: ["GET", "POST"], default: "POST")),
        ])
    }

    static let bucket: Schema = .object("the private S3 bucket holding recordings", [
        .required("name", .string("bucket name (3-63 characters: lowercase letters, digits, hyphens, dots)")),
        .required("encryption", .object("default server-side encryption", [
            .required("algorithm", .string("SSE algorithm", values: ["AES256", "aws:kms", "aws:kms:dsse"])),
            .optional("kms_key_id", .string("KMS key id or ARN (only with aws:kms)")),
            .optional("bucket_key_enabled", .boolean("use an S3 Bucket Key to cut KMS requests (only with aws:kms)")),
        ])),
        .required("object_ownership", .string("object ownership; BucketOwnerEnforced disables ACLs", values: ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"])),
        .required("public_access_block", .object("S3 Block Public Access for the bucket", [
            .required("block_public_acls", .boolean("reject requests that grant public ACLs")),
            .required("ignore_public_acls", .boolean("ignore existing public ACLs")),
            .required("block_public_policy", .boolean("reject bucket policies that grant public access")),
            .required("restrict_public_buckets", .boolean("restrict access to buckets with public policies")),
        ])),
        .optional("versioning", .boolean("object versioning; false keeps it off (never enabled, or suspended)")),
        .optional("object_lock", .boolean("S3 Object Lock, so recordings can be put on legal hold (recops recordings hold); needs versioning: true, and S3 never turns it off again")),
        .required("policy", .object("the bucket policy recops writes", [
            .optional("deny_insecure_transport", .boolean("deny every request made without TLS (aws:SecureTransport false)", default: true)),
            .optional("deny_public_acls", .boolean("deny object writes that ask for a public ACL", default: true)),
        ])),
        .optional("lifecycle", .array("lifecycle rules", of: .object("one lifecycle rule", [
            .required("id", .string("rule id, unique in the bucket (at most 255 characters)")),
            .optional("prefix", .string("key prefix the rule applies to", default: "")),
            .optional("transitions", .array("storage class transitions", of: .object("one transition", [
                .required("days", .integer("days after creation")),
                .required("storage_class", .string("target storage class", values: storageClasses)),
            ]))),
            .optional("expiration_days", .integer("days after creation when objects are deleted")),
            .optional("min_object_size", .integer("the rule applies only to objects larger than this many bytes (S3's ObjectSizeGreaterThan); 131072 keeps recordings under 128 KiB, which STANDARD_IA and ONEZONE_IA bill as 128 KiB, where they are", minimum: 0, maximum: 5_497_558_138_880)),
        ]))),
    ])

    /// Storage classes a lifecycle transition may target.
    public static let storageClasses = ["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]

    static let iam: Schema = .object("the pipeline's IAM user and its least-privilege policy", [
        .required("user", .string("IAM user name", pattern: "[A-Za-z0-9+=,.@_-]{1,64}", patternHelp: "which is not an IAM user name (1-64 letters, digits and +=,.@_-)")),
        .required("policy_name", .string("name of the inline policy recops manages on the user", pattern: "[A-Za-z0-9+=,.@_-]{1,128}", patternHelp: "which is not an IAM policy name (1-128 letters, digits and +=,.@_-)")),
        .required("actions", .array("IAM actions the pipeline needs (s3:Name)", of: .string("an IAM action such as s3:PutObject"), minItems: 1)),
        .required("resources", .array("resource ARNs the actions apply to", of: .string("an S3 ARN such as arn:aws:s3:::bucket/recordings/*"), minItems: 1)),
        .optional("access_key_max_age_days", .integer("an active access key older than this many days fails verify", minimum: 1, default: 90)),
    ])

    static let twilio: Schema = .object("the Twilio numbers and how calls are recorded", [
        .required("numbers", .array("phone numbers whose webhooks recops configures (never bought or released)", of: .object("one phone number", [
            .required("number", .string("the number in E.164 form, for example +15551234567")),
            .required("voice", webhook("webhook for incoming calls")),
            .optional("voice_fallback", webhook("webhook Twilio calls when the voice URL fails")),
            .required("status_callback", webhook("webhook for call status changes")),
        ]), minItems: 1)),
        .required("recording", .object("how calls are recorded (the TwiML <Recording> the voice webhook answers)", [
            .optional("enabled", .boolean("false answers calls without recording (the runbook's emergency switch)", default: true)),
            .optional("channels", .string("recording channels", values: Spec.Twilio.Recording.Channels.allCases.map(\.rawValue), default: "mono")),
            .optional("format", .string("media format downloaded from Twilio", values: Spec.Twilio.Recording.Format.allCases.map(\.rawValue), default: "mp3")),
            .optional("trim", .string("silence trimming", values: ["do-not-trim", "trim-silence"], default: "do-not-trim")),
            .required("status_callback", webhook("recording status callback")),
            .optional("delete_from_twilio_after_upload", .boolean("delete Twilio's copy once the S3 object is confirmed (size and checksum) and the history line is written", default: false)),
            .optional("keep_in_twilio_days", .integer("Twilio's copies older than this many days: verify reports them, `reconcile --repair` deletes those confirmed stored and linked", minimum: 0, maximum: 36_500)),
        ])),
    ])

    static let durationPattern = "([0-9]+[smhd])+"
    static let durationHelp = "which is not a duration such as 90s, 15m, 12h or 7d"

    static let recordings: Schema = .object("how recordings are stored and linked", [
        .required("key", .string("S3 key template; placeholders {yyyy} {mm} {dd} {hh} (recording start, UTC), {call_sid}, {recording_sid}, {job_id}")),
        .optional("public_url", .boolean("true links the object's public URL; false links presigned URLs", default: false)),
        .optional("signed_url_ttl", .string("lifetime of presigned URLs (at most 7d)", pattern: durationPattern, patternHelp: durationHelp, default: "15m")),
        .optional("links", .string("what a history line links: presigned (a URL valid for signed_url_ttl), public (the object's URL), or stable ({app.url}/r/{id}: never stale, redirects to a presigned URL of a minute); absent: public_url decides", values: Spec.Recordings.Links.allCases.map(\.rawValue))),
        .optional("link_access", .string("who may open a stable link: anyone_with_link (whoever can read the job), or login (a signed-in /ops session)", values: Spec.Recordings.LinkAccess.allCases.map(\.rawValue), default: "anyone_with_link")),
        .optional("link_max_age", .string("stable links older than this answer 410 Gone (for example the retention period); absent: they never expire", pattern: durationPattern, patternHelp: durationHelp)),
        .optional("link_opens_per_minute", .integer("stable-link opens a minute allowed per client address; more answer 429", minimum: 1, maximum: 10_000, default: 30)),
        .required("history_line", .string("history line template; placeholders {timestamp}, {url}")),
        .optional("timestamp", .object("how {timestamp} is written", [
            .optional("format", .string("date format (Unicode pattern)", default: "yyyy-MM-dd HH:mm:ss")),
            .optional("time_zone", .string("IANA time zone", default: "UTC")),
        ])),
        .optional("upload", .object("upload retries before the pending line is written", [
            .optional("attempts", .integer("upload attempts", minimum: 1, maximum: 20, default: 3)),
            .optional("backoff", .string("delay between attempts", values: Spec.Recordings.Upload.Backoff.allCases.map(\.rawValue), default: "exponential")),
        ])),
        .required("pending_line", .string("history line written when the upload is still pending; placeholder {timestamp}")),
        .optional("history_retry_within", .string("history updates are retried for this long", pattern: durationPattern, patternHelp: durationHelp, default: "15m")),
    ])

    static let ivr: Schema = .object("what the voice webhook does after starting the recording", [
        .optional("agent_url", .string("TwiML URL of the voice agent the call is handed to (<Redirect>) once the job is known; without it the call ends politely", pattern: urlPattern, patternHelp: urlHelp)),
        .optional("job_prompt", .string("what callers hear when the webhook did not name the job", default: "Please enter your job number, then press the pound key.")),
        .optional("job_id_from_digits", .string("how the keyed-in digits become the job id in Airtable; placeholder {digits}", default: "{digits}")),
        .optional("attempts", .integer("how many times a caller is asked for the job number", minimum: 1, maximum: 5, default: 3)),
        .optional("goodbye", .string("said before hanging up when no voice agent is named", default: "Thank you. Goodbye.")),
    ])

    static let alerts: Schema = .object("when the pipeline raises an alert (always logged at error level and counted in metrics)", [
        .optional("webhook_url", .string("also POST each alert as JSON here", pattern: urlPattern, patternHelp: urlHelp)),
        .optional("history_queue_threshold", .integer("alert when more recordings than this wait for their history line", minimum: 1, default: 20)),
        .optional("missing_recording_after", .string("alert when a completed call has no recording callback after this long", pattern: durationPattern, patternHelp: durationHelp, default: "10m")),
    ])

    static let store: Schema = .object("the job store shared by several replicas of recops serve (absent: SQLite under --data-dir, for one machine)", [
        .required("url", .string("PostgreSQL URL, postgres://user:password@host:5432/database[?sslmode=require]; use ${RECOPS_DATABASE_URL} to keep the password out of the file",
                                 pattern: "postgres(ql)?://[^\\s]+", patternHelp: "which is not a postgres:// URL")),
        .optional("retention", .string("linked recordings older than this are pruned from the store (their objects and lines stay)", pattern: durationPattern, patternHelp: durationHelp, default: "90d")),
        .optional("max_connections", .integer("connections each replica opens at most (one more listens for new work)", minimum: 2, maximum: 200, default: 10)),
    ])

    static let service: Schema = .object("how recops serve guards its HTTP listener (against clients that never finish a request) and how long it takes to stop", [
        .optional("max_connections", .integer("open connections at most; more wait in the listen queue", minimum: 16, maximum: 100_000, default: 512)),
        .optional("header_timeout", .string("a request's headers must be complete this long after its connection opened", pattern: durationPattern, patternHelp: durationHelp, default: "10s")),
        .optional("body_timeout", .string("a request's body must be complete this long after its headers", pattern: durationPattern, patternHelp: durationHelp, default: "20s")),
        .optional("idle_timeout", .string("a kept-alive connection with no request for this long is closed", pattern: durationPattern, patternHelp: durationHelp, default: "60s")),
        .optional("shutdown_timeout", .string("after SIGTERM, steps in flight get this long to finish before they are cancelled (they resume on restart)", pattern: durationPattern, patternHelp: durationHelp, default: "30s")),
    ])
}
