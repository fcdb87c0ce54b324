import ArgumentParser
import AWS
import Foundation
import Logging
import Provision
import Spec
import Transport
import Twilio
import Airtable
import PipelineAssembly
import RecopsBase

/// Composition-root helpers: the one place that turns the process's environment, clock and
/// output into the values the libraries take.
enum Wiring {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Logs go to standard error; `RECOPS_LOG_LEVEL` (trace … critical) sets the level.
    static func bootstrapLogging(defaultLevel: Logger.Level = .warning) {
        let level = environment["RECOPS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Loads the spec or prints every error (file:line:column) and exits 1.
    static func loadSpec(path: String, parts: Set<SpecPart>?) throws -> SpecLoader.Loaded {
        let result = SpecLoader(environment: environment).validate(path: path, parts: parts)
        guard let loaded = result.loaded else {
            writeError(result.diagnostics.map(\.description).joined(separator: "\n"))
            writeError("\(path): invalid; run `recops validate` for details")
            throw CommandExit.failure
        }
        return loaded
    }

    /// The AWS client for the spec's region, counting the requests it sends.
    static func awsClient(region: String, transport: any HTTPTransport, retry: RetryPolicy = RetryPolicy()) throws -> AWSClient {
        do {
            let configuration = try AWSConfiguration.fromEnvironment(environment, region: region)
            return AWSClient(configuration: configuration, transport: transport, retry: retry, now: { Date() }, logger: Logger(label: "recops.aws"))
        } catch {
            writeError("could not check (credentials): \(error)")
            throw CommandExit.failure
        }
    }

    /// A client that is never used to send: `iam-policy` only asks resources what they would call.
    static func unsignedAWSClient(region: String) -> AWSClient {
        AWSClient(configuration: AWSConfiguration(credentials: AWSCredentials(accessKeyID: "", secretAccessKey: ""), region: region),
                  transport: AsyncHTTPClientTransport(), now: { Date() }, logger: Logger(label: "recops.aws"))
    }

    static func twilioClient(transport: any HTTPTransport, retry: RetryPolicy = RetryPolicy(maxAttempts: 4)) throws -> TwilioClient {
        guard let credentials = TwilioClient.Credentials.fromEnvironment(environment) else {
            writeError("could not check (credentials): set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)")
            throw CommandExit.failure
        }
        let base = environment["TWILIO_API_BASE_URL"].flatMap(URL.init(string:)) ?? TwilioClient.defaultBaseURL
        return TwilioClient(credentials: credentials, baseURL: base, transport: transport, retry: retry, logger: Logger(label: "recops.twilio"))
    }

    /// The account and the auth token that signs webhooks (an API key cannot sign them).
    static func twilioSigningSecret() throws -> (account: String, token: String) {
        guard let account = environment["TWILIO_ACCOUNT_SID"], !account.isEmpty,
              let token = environment["TWILIO_AUTH_TOKEN"], !token.isEmpty else {
            writeError("could not check (credentials): set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN: Twilio signs webhooks with the auth token")
            throw CommandExit.failure
        }
        return (account, token)
    }

    /// One limiter for the whole process: every Airtable request of recops shares the base's
    /// budget, at the spec's `airtable.requests_per_second` (the first caller's rate; one
    /// process works with one spec).
    static func airtableLimiter(requestsPerSecond: Int = 5) -> RateLimiter {
        processLimiter.withLock { limiter in
            if let limiter { return limiter }
            let made = RateLimiter(requestsPerSecond: requestsPerSecond,
                                   pauseAfterThrottle: .seconds(Int64(environment["RECOPS_AIRTABLE_THROTTLE_PAUSE_SECONDS"].flatMap(Int.init) ?? 30)))
            limiter = made
            return made
        }
    }

    private static let processLimiter = Locked<RateLimiter?>(nil)

    /// Set by `serve` once its pipeline is built: the budget the pipeline draws on (shared by the
    /// replicas, with PostgreSQL), so the start-up check's requests count against it too.
    static let airtableBudget = Locked<(any RequestBudget)?>(nil)

    static func airtableClient(transport: any HTTPTransport, retry: RetryPolicy = RetryPolicy(maxAttempts: 4)) throws -> AirtableClient {
        guard let token = environment["AIRTABLE_TOKEN"], !token.isEmpty else {
            writeError("could not check (credentials): set AIRTABLE_TOKEN (a personal access token)")
            throw CommandExit.failure
        }
        let base = environment["AIRTABLE_API_BASE_URL"].flatMap(URL.init(string:)) ?? AirtableClient.defaultBaseURL
        return AirtableClient(token: token, baseURL: base, transport: transport, limiter: airtableBudget.value ?? airtableLimiter(), retry: retry,
                              logger: Logger(label: "recops.airtable"))
    }

    /// The resources of the selected parts (see `ResourceSelection`), with clients from the environment.
    static func resources(for loaded: SpecLoader.Loaded, parts: Set<SpecPart>?, transport: any HTTPTransport) throws -> [AnyResource] {
        try resources(for: loaded, parts: parts, transport: transport,
                      aws: { try awsClient(region: loaded.spec.aws?.region ?? "us-east-1", transport: transport) },
                      twilio: { try twilioClient(transport: transport) })
    }

    /// With the clients given (made when first asked for), so verify's audits share them.
    static func resources(for loaded: SpecLoader.Loaded, parts: Set<SpecPart>?, transport: any HTTPTransport,
                          aws: () throws -> AWSClient, twilio: () throws -> TwilioClient) throws -> [AnyResource] {
        try ResourceSelection.resources(
            for: loaded.spec, parts: parts,
            aws: aws,
            twilio: twilio,
            airtable: { try airtableClient(transport: transport) },
            webhook: {
                let (account, token) = try twilioSigningSecret()
                return VoiceWebhookResource(spec: loaded.spec, accountSID: account, authToken: token, transport: transport)
            },
            now: { Date() })
    }

    /// How the pipeline reaches AWS, Twilio and Airtable, from the environment (as `apply` does).
    /// `refreshBefore`: temporary AWS credentials are replaced this long before they expire (the
    /// service makes it outlast a presigned URL, so no link dies before its time).
    static func connections(region: String, airtableRate: Int, refreshBefore: TimeInterval = 300, transport: any HTTPTransport) throws -> PipelineBuilder.Connections {
        let aws: AWSConfiguration
        do {
            aws = try AWSConfiguration.fromEnvironment(environment, region: region, refreshBefore: refreshBefore)
        } catch {
            writeError("could not check (credentials): \(error)")
            throw CommandExit.failure
        }
        guard let twilio = TwilioClient.Credentials.fromEnvironment(environment) else {
            writeError("could not check (credentials): set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)")
            throw CommandExit.failure
        }
        guard let token = environment["AIRTABLE_TOKEN"], !token.isEmpty else {
            writeError("could not check (credentials): set AIRTABLE_TOKEN (a personal access token)")
            throw CommandExit.failure
        }
        return PipelineBuilder.Connections(
            aws: aws, twilio: twilio, twilioBaseURL: environment["TWILIO_API_BASE_URL"].flatMap(URL.init(string:)) ?? TwilioClient.defaultBaseURL,
            airtableToken: token, airtableBaseURL: environment["AIRTABLE_API_BASE_URL"].flatMap(URL.init(string:)) ?? AirtableClient.defaultBaseURL,
            limiter: airtableLimiter(requestsPerSecond: airtableRate), transport: transport)
    }
}

/// Exit codes, decided only here: 0 success or in sync, 1 error or could not check, 2 changes
/// pending, drift or failed checks.
enum CommandExit {
    static let failure = ExitCode(1)
    static let drift = ExitCode(2)
}
