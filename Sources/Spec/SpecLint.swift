import Foundation

/// Semantic checks: what AWS, Twilio or Airtable would reject, or what could not work, found
/// before any API call. Each finding points at the value to change.
struct SpecLint {
    let spec: Spec
    let sourceMap: SourceMap
    private(set) var diagnostics: [Diagnostic] = []

    init(spec: Spec, sourceMap: SourceMap) {
        self.spec = spec
        self.sourceMap = sourceMap
    }

    func run() -> [Diagnostic] {
        var lint = self
        lint.checkBucket()
        lint.checkIAM()
        lint.checkAudit()
        lint.checkTwilio()
        lint.checkRecordings()
        return lint.diagnostics
    }

    private mutating func error(_ path: String, _ message: String) {
        diagnostics.append(Diagnostic(.error, message, at: sourceMap.location(of: path)))
    }

    private mutating func warning(_ path: String, _ message: String) {
        diagnostics.append(Diagnostic(.warning, message, at: sourceMap.location(of: path)))
    }

    // MARK: Bucket

    private mutating func checkBucket() {
        guard let bucket = spec.bucket else { return }
        if let problem = BucketName.problem(bucket.name) {
            error("bucket.name", problem)
        } else if bucket.name.contains(".") {
            warning("bucket.name", "bucket name '\(bucket.name)' contains dots: virtual-hosted HTTPS requests fail certificate checks; prefer hyphens")
        }
        let encryption = bucket.encryption
        if encryption.algorithm == "AES256" {
            if encryption.kmsKeyId != nil {
                error("bucket.encryption.kms_key_id", "kms_key_id is only used with algorithm aws:kms or aws:kms:dsse; S3 rejects it with AES256")
            }
            if encryption.bucketKeyEnabled == true {
                error("bucket.encryption.bucket_key_enabled", "bucket_key_enabled applies only to KMS encryption (algorithm aws:kms)")
            }
        }
        if bucket.objectLock == true, bucket.versioning != true {
            error("bucket.object_lock", "object_lock needs versioning: true. A legal hold protects one version of an object, and S3 turns Object Lock on only for a versioned bucket (or at creation, which turns versioning on for good); without versioning a delete would not touch the held version but hide it behind a delete marker, and nothing could be erased for good")
        }
        checkLifecycle(bucket.lifecycle ?? [])
    }

    static let smallObjectClasses = Spec.Bucket.LifecycleRule.smallObjectClasses
    static let smallObjectBytes = Spec.Bucket.LifecycleRule.smallObjectBytes

    private mutating func checkLifecycle(_ rules: [Spec.Bucket.LifecycleRule]) {
        var seen: [String: Int] = [:]
        for (index, rule) in rules.enumerated() {
            let path = "bucket.lifecycle[\(index)]"
            if let first = seen[rule.id] {
                error("\(path).id", "lifecycle rule id '\(rule.id)' is already used by rule \(first + 1); S3 requires unique ids")
            } else {
                seen[rule.id] = index
            }
            if rule.id.isEmpty || rule.id.count > 255 {
                error("\(path).id", "lifecycle rule id must be 1 to 255 characters, not \(rule.id.count)")
            }
            if (rule.transitions ?? []).isEmpty, rule.expirationDays == nil {
                error(path, "lifecycle rule '\(rule.id)' has neither transitions nor expiration_days; S3 rejects a rule with no action")
            }
            var previous: (days: Int, storageClass: String)?
            var classes: Set<String> = []
            for (tIndex, transition) in (rule.transitions ?? []).enumerated() {
                let tPath = "\(path).transitions[\(tIndex)]"
                if transition.days <= 0 {
                    error("\(tPath).days", "transition days must be greater than 0, not \(transition.days)")
                } else if Self.smallObjectClasses.contains(transition.storageClass), transition.days < 30 {
                    error("\(tPath).days", "S3 requires objects to be at least 30 days old before moving to \(transition.storageClass); \(transition.days) would be rejected")
                }
                if Self.smallObjectClasses.contains(transition.storageClass), (rule.minObjectSize ?? 0) < Self.smallObjectBytes {
                    warning("\(tPath).storage_class", "\(transition.storageClass) bills every object as at least 128 KiB (and 30 days): a 32 kbps recording under about 33 s is smaller, so moving it costs more than it saves, and since September 2024 S3 skips objects under 128 KiB by default anyway. Add min_object_size: \(Self.smallObjectBytes) to rule '\(rule.id)', or move to INTELLIGENT_TIERING, which leaves small objects alone")
                }
                if !classes.insert(transition.storageClass).inserted {
                    error("\(tPath).storage_class", "rule '\(rule.id)' transitions to \(transition.storageClass) twice")
                }
                if let previous, transition.days <= previous.days {
                    error("\(tPath).days", "transitions must be in increasing days: \(transition.days) is not after \(previous.days) (\(previous.storageClass))")
                }
                previous = (transition.days, transition.storageClass)
            }
            if let days = rule.expirationDays {
                if days <= 0 {
                    error("\(path).expiration_days", "expiration_days must be greater than 0, not \(days)")
                } else if let last = previous, days <= last.days {
                    error("\(path).expiration_days", "expiration after \(days) days is not later than the last transition (\(last.storageClass) at \(last.days) days); S3 rejects this rule")
                }
            }
        }
    }

    // MARK: IAM

    private mutating func checkIAM() {
        guard let iam = spec.iam else { return }
        for (index, action) in iam.actions.enumerated() {
            let path = "iam.actions[\(index)]"
            let parts = action.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                error(path, "'\(action)' is not an IAM action: write it as s3:ActionName")
                continue
            }
            guard parts[0].lowercased() == "s3" else {
                error(path, "'\(action)' is not an S3 action; the pipeline's policy grants S3 access only")
                continue
            }
            let name = parts[1]
            if name == "*" {
                warning(path, "'\(action)' grants every S3 action; list only the actions the pipeline needs (s3:PutObject, s3:GetObject)")
            } else if name.contains("*") || name.contains("?") {
                let matched = S3Actions.matching(name)
                if matched.isEmpty {
                    error(path, "'\(action)' matches no S3 action, so it grants nothing")
                } else {
                    warning(path, "'\(action)' grants \(matched.count) actions (\(matched.prefix(4).joined(separator: ", "))\(matched.count > 4 ? ", …" : "")); list the ones the pipeline needs")
                }
            } else if let real = S3Actions.authorisedBy.first(where: { $0.key.lowercased() == name.lowercased() }) {
                error(path, "'\(action)' is an S3 API operation, not an IAM action; IAM accepts it but it grants nothing. It is authorised by s3:\(real.value)")
            } else if !S3Actions.all.contains(where: { $0.lowercased() == name.lowercased() }) {
                var message = "'\(action)' is not an S3 IAM action; IAM accepts it but it grants nothing"
                if let close = EditDistance.closest(to: name, among: Array(S3Actions.all)) { message += "; did you mean 's3:\(close)'?" }
                error(path, message)
            }
        }
        checkResources(iam.resources)
    }

    private mutating func checkResources(_ resources: [String]) {
        let partition = spec.aws.map { AWSPartition(region: $0.region) }
        for (index, resource) in resources.enumerated() {
            let path = "iam.resources[\(index)]"
            let fields = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 6, fields[0] == "arn", fields[2] == "s3" else {
                error(path, "'\(resource)' is not an S3 ARN: write arn:\(partition?.rawValue ?? "aws"):s3:::BUCKET/PREFIX*")
                continue
            }
            if let partition, fields[1] != partition.rawValue {
                error(path, "'\(resource)' is in partition '\(fields[1])', but region \(spec.aws?.region ?? "") is in '\(partition.rawValue)': write arn:\(partition.rawValue):s3:::…")
            }
            if !fields[3].isEmpty || !fields[4].isEmpty {
                error(path, "S3 ARNs have no region or account: write arn:\(fields[1]):s3:::\(fields[5])")
            }
            if let bucket = spec.bucket?.name {
                let resourceBucket = fields[5].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
                if resourceBucket != bucket {
                    error(path, "'\(resource)' is outside the declared bucket '\(bucket)'; the pipeline's user may only reach its own bucket")
                }
            }
        }
    }

    // MARK: Audit

    private mutating func checkAudit() {
        guard let trail = spec.audit?.cloudtrail else { return }
        let name = trail.trail
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        if !(3...128).contains(name.count) || !allowed || !(name.first?.isLetter ?? false || name.first?.isNumber ?? false) {
            error("audit.cloudtrail.trail", "trail name '\(name)' must be 3-128 letters, digits, periods, underscores or hyphens, starting with a letter or digit")
        }
        if let logBucket = trail.logBucket, let problem = BucketName.problem(logBucket) {
            error("audit.cloudtrail.log_bucket", problem)
        }
    }

    // MARK: Twilio

    private mutating func checkTwilio() {
        guard let twilio = spec.twilio else { return }
        let appURL = spec.app.flatMap { URLComponents(string: $0.url) }
        if let app = spec.app {
            checkURL(app.url, path: "app.url", underApp: false)
            if appURL?.query != nil || appURL?.fragment != nil {
                error("app.url", "app.url is a base URL: leave out the query and fragment")
            }
        }
        var numbers: [String: Int] = [:]
        for (index, number) in twilio.numbers.enumerated() {
            let path = "twilio.numbers[\(index)]"
            if number.number.range(of: "^\\+[1-9][0-9]{1,14}$", options: .regularExpression) == nil {
                error("\(path).number", "'\(number.number)' is not an E.164 number: + then country code and number, digits only, at most 15 (for example +15551234567)")
            } else if let first = numbers[number.number] {
                error("\(path).number", "\(number.number) is already declared as number \(first + 1)")
            }
            numbers[number.number] = numbers[number.number] ?? index
            checkURL(number.voice.url, path: "\(path).voice.url", underApp: true)
            checkURL(number.statusCallback.url, path: "\(path).status_callback.url", underApp: true)
            if let fallback = number.voiceFallback {
                // The fallback exists for when our service is down: it may live elsewhere.
                checkURL(fallback.url, path: "\(path).voice_fallback.url", underApp: false)
            }
        }
        checkURL(twilio.recording.statusCallback.url, path: "twilio.recording.status_callback.url", underApp: true)
        if twilio.recording.deleteFromTwilioAfterUpload, let days = twilio.recording.keepInTwilioDays {
            warning("twilio.recording.keep_in_twilio_days", "delete_from_twilio_after_upload already deletes Twilio's copy as soon as it is stored and linked, so keep_in_twilio_days: \(days) never applies: drop one of them")
        }
    }

    /// https only (http is allowed for loopback, where the sandbox runs); webhooks under app.url.
    private mutating func checkURL(_ text: String, path: String, underApp: Bool) {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host else {
            error(path, "'\(text)' is not a URL")
            return
        }
        let loopback = host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
        if scheme == "http", !loopback {
            error(path, "'\(text)' uses http: Twilio webhooks must use https (http is allowed only for localhost and 127.0.0.1)")
        }
        if url.user != nil || url.password != nil {
            error(path, "'\(text)' carries credentials in the URL; they would end up in logs. Signatures authenticate webhooks")
        }
        guard underApp, let app = spec.app?.url else { return }
        let base = app.hasSuffix("/") ? String(app.dropLast()) : app
        if !(text == base || text.hasPrefix(base + "/")) {
            error(path, "'\(text)' is not under app.url (\(app)): Twilio would call another service, and signatures are checked against app.url")
        }
    }

    // MARK: Recordings

    private mutating func checkRecordings() {
        guard let recordings = spec.recordings else { return }
        let ttl = recordings.signedUrlTtl.seconds
        if ttl > 7 * 86400 {
            error("recordings.signed_url_ttl", "signed_url_ttl \(recordings.signedUrlTtl) is longer than 7 days, the most S3 allows for a presigned URL")
        } else if ttl <= 0 {
            error("recordings.signed_url_ttl", "signed_url_ttl must be longer than 0 seconds")
        }
        if recordings.historyRetryWithin.seconds <= 0 {
            error("recordings.history_retry_within", "history_retry_within must be longer than 0 seconds")
        }
        checkKeyTemplate(recordings.key)
        checkTemplate(recordings.historyLine, path: "recordings.history_line", allowed: ["timestamp", "url"], required: ["url"])
        checkTemplate(recordings.pendingLine, path: "recordings.pending_line", allowed: ["timestamp"], required: [])
        // Each recording's line is found again by matching lines: a break inside one would make it
        // two lines, never found, and written again on every retry.
        for (template, path) in [(recordings.historyLine, "recordings.history_line"), (recordings.pendingLine, "recordings.pending_line")]
            where template.unicodeScalars.contains(where: { ["\n", "\r", "\u{2028}", "\u{2029}"].contains($0) }) {
            error(path, "\(path.split(separator: ".").last!) must be one line: it contains a line break")
        }
        if TimeZone(identifier: recordings.timestamp.timeZone) == nil {
            error("recordings.timestamp.time_zone", "'\(recordings.timestamp.timeZone)' is not an IANA time zone such as UTC or America/Chicago")
        }
        if let ivr = spec.ivr {
            checkTemplate(ivr.jobIdFromDigits, path: "ivr.job_id_from_digits", allowed: ["digits"], required: ["digits"])
            if let agent = ivr.agentUrl { checkURL(agent, path: "ivr.agent_url", underApp: false) }
        }
        if let service = spec.service {
            for (name, value) in [("header_timeout", service.headerTimeout), ("body_timeout", service.bodyTimeout),
                                  ("idle_timeout", service.idleTimeout), ("shutdown_timeout", service.shutdownTimeout)] where value.seconds <= 0 {
                error("service.\(name)", "\(name) must be longer than 0 seconds")
            }
            if service.headerTimeout.seconds >= 15 {
                warning("service.header_timeout", "header_timeout is \(service.headerTimeout): Twilio gives up on a webhook after 15 s, so a slower client is not Twilio")
            }
        }
        if let alerts = spec.alerts, alerts.missingRecordingAfter.seconds <= 0 {
            error("alerts.missing_recording_after", "missing_recording_after must be longer than 0 seconds")
        }
        checkLinks(recordings)
    }

    private mutating func checkLinks(_ recordings: Spec.Recordings) {
        if let links = recordings.links, recordings.publicUrl, links != .public {
            error("recordings.links", "links is \(links.rawValue) but public_url is true: public_url is the older spelling of links: public; keep one of them")
        }
        let path = recordings.links == nil ? "recordings.public_url" : "recordings.links"
        if recordings.linkMode == .public {
            if let block = spec.bucket?.publicAccessBlock, block.blockPublicPolicy || block.restrictPublicBuckets {
                error(path, "links are public, but the bucket's public access block (block_public_policy/restrict_public_buckets) forbids public reads: the links would answer 403. Use presigned or stable links")
            } else {
                warning(path, "links are public: recordings of customer calls would be readable by anyone with the link, for ever. Stable links (links: stable) never go stale and never go public")
            }
        }
        if let age = recordings.linkMaxAge, age.seconds <= 0 {
            error("recordings.link_max_age", "link_max_age must be longer than 0 seconds")
        }
        if recordings.linkMode != .stable {
            if recordings.linkAccess == .login { warning("recordings.link_access", "link_access: login applies to stable links only (links: stable); these links are \(recordings.linkMode.rawValue)") }
            if recordings.linkMaxAge != nil { warning("recordings.link_max_age", "link_max_age applies to stable links only (links: stable); these links are \(recordings.linkMode.rawValue)") }
        } else if let url = spec.app.flatMap({ URLComponents(string: $0.url) }), url.scheme == "http", !["127.0.0.1", "localhost", "::1"].contains(url.host ?? "") {
            warning("recordings.links", "stable links are served by app.url, which is http: a link (and a sign-in) would travel unencrypted. Put TLS in front of recops serve")
        }
        if let audit = spec.audit, audit.retention.seconds <= 0 {
            error("audit.retention", "retention must be longer than 0 seconds")
        }
    }

    static let keyPlaceholders: Set<String> = ["yyyy", "mm", "dd", "hh", "call_sid", "recording_sid", "job_id"]

    private mutating func checkKeyTemplate(_ key: String) {
        let path = "recordings.key"
        checkTemplate(key, path: path, allowed: Self.keyPlaceholders, required: ["call_sid"])
        if key.hasPrefix("/") {
            error(path, "an S3 key must not begin with '/': it would create an empty folder name")
        }
        if !key.lowercased().hasSuffix(".mp3"), spec.twilio?.recording.format ?? .mp3 == .mp3 {
            warning(path, "recordings are MP3: end the key with .mp3 so downloads open in a player")
        }
        // The pipeline's user must be allowed to write where the key points.
        if let iam = spec.iam, let bucket = spec.bucket?.name {
            let sample = Self.placeholderPattern.stringByReplacingMatches(
                in: key, range: NSRange(key.startIndex..., in: key), withTemplate: "x")
            let granted = iam.resources.contains { resource in
                guard let object = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).last else { return false }
                return WildcardMatch.matches(pattern: String(object), value: "\(bucket)/\(sample)")
            }
            if !granted {
                error(path, "keys like '\(sample)' are outside iam.resources, so the pipeline's user could not write them")
            }
        }
    }

    private static let placeholderPattern = try! NSRegularExpression(pattern: "\\{[a-z_]+\\}")

    private mutating func checkTemplate(_ template: String, path: String, allowed: Set<String>, required: Set<String>) {
        let range = NSRange(template.startIndex..., in: template)
        let used = Set(Self.placeholderPattern.matches(in: template, range: range).compactMap { match in
            Range(match.range, in: template).map { String(template[$0].dropFirst().dropLast()) }
        })
        for unknown in used.subtracting(allowed).sorted() {
            var message = "unknown placeholder {\(unknown)}; allowed: \(allowed.sorted().map { "{\($0)}" }.joined(separator: " "))"
            if let close = EditDistance.closest(to: unknown, among: Array(allowed)) { message += "; did you mean {\(close)}?" }
            error(path, message)
        }
        for missing in required.subtracting(used).sorted() {
            let why = ["call_sid": "without it two calls on the same day and job would write the same object",
                       "url": "without it the line would not link the recording",
                       "digits": "without it every caller would give the same job"][missing] ?? ""
            error(path, "the template must contain {\(missing)}: \(why)")
        }
    }
}
