import Foundation
import Logging
import Transport

/// The AWS SDKs' credential chain, in their order: environment; web identity; the shared files
/// at `AWS_PROFILE`; ECS container credentials; EC2 instance metadata (IMDSv2). The first source
/// that is configured is used, and its failures are its own (a broken profile is an error, not a
/// reason to try the instance's role); only IMDS is tried without configuration, last.
public struct CredentialChain: Sendable {
    let environment: [String: String]
    /// STS on the configuration's endpoints, with no credentials (web identity needs none; a
    /// role's source signs AssumeRole).
    let sts: STSClient
    let now: @Sendable () -> Date
    let refreshBefore: TimeInterval
    let logger: Logger

    public init(environment: [String: String], sts: STSClient, now: @escaping @Sendable () -> Date,
                refreshBefore: TimeInterval = 300, logger: Logger = Logger(label: "recops.aws.credentials")) {
        self.environment = environment
        self.sts = sts
        self.now = now
        self.refreshBefore = refreshBefore
        self.logger = logger
    }

    func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// How long the role sessions the chain would use last, when that is known without a request
    /// (for `validate`): web identity's STS default hour, a profile role's `duration_seconds`.
    /// Long-term keys and metadata credentials: nil.
    public static func sessionLength(_ environment: [String: String]) -> (source: String, seconds: Int)? {
        let chain = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if chain("AWS_ACCESS_KEY_ID") != nil { return nil }
        if chain("AWS_WEB_IDENTITY_TOKEN_FILE") != nil, let role = chain("AWS_ROLE_ARN") { return ("web identity (\(role))", 3600) }
        let profile = chain("AWS_PROFILE") ?? "default"
        return ProfileCredentials.sessionSeconds(profile: profile, files: SharedConfigFiles(environment: environment)).map { ("profile \(profile)'s role", $0) }
    }

    /// The provider for the first configured source, or why none is.
    public func provider() throws -> any CredentialProvider {
        var tried: [(source: String, why: String)] = []
        // 1. Environment.
        switch (value("AWS_ACCESS_KEY_ID"), value("AWS_SECRET_ACCESS_KEY")) {
        case let (key?, secret?):
            return StaticCredentials(AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN")), source: "environment")
        case (.some, nil):
            throw CredentialsError(source: "environment", "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, .some):
            throw CredentialsError(source: "environment", "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (nil, nil):
            tried.append(("environment", "AWS_ACCESS_KEY_ID is not set"))
        }
        // 2. Web identity.
        switch (value("AWS_WEB_IDENTITY_TOKEN_FILE"), value("AWS_ROLE_ARN")) {
        case let (file?, role?):
            return refreshing(WebIdentityCredentials(tokenFile: file, roleARN: role, sessionName: value("AWS_ROLE_SESSION_NAME"), sts: sts))
        case (.some, nil):
            throw CredentialsError(source: "web identity", "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
        case (nil, _):
            // AWS_ROLE_ARN alone is skipped, as the SDKs do (a profile may use it).
            tried.append(("web identity", "AWS_WEB_IDENTITY_TOKEN_FILE is not set"))
        }
        // 3. The shared files: a named profile must exist; the default one is used only when it
        // holds credentials (on EC2 `[default]` often holds just a region).
        let files = SharedConfigFiles(environment: environment)
        let named = value("AWS_PROFILE")
        let profile = named ?? "default"
        let holdsCredentials = files.profiles()[profile].map { values in
            ["aws_access_key_id", "role_arn", "credential_process", "web_identity_token_file"].contains { values[$0] != nil }
        } ?? false
        if named != nil || holdsCredentials {
            return refreshing(ProfileCredentials(profile: profile, files: files, environment: environment, sts: sts))
        }
        tried.append(("profile default", "no credentials in \(files.credentialsPath) or \(files.configPath)"))
        // 4. Container credentials.
        if value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != nil || value("AWS_CONTAINER_CREDENTIALS_FULL_URI") != nil {
            do {
                return refreshing(try ContainerCredentials(environment: environment))
            } catch {
                throw CredentialsError(source: "container credentials", "\(error)")
            }
        }
        tried.append(("container credentials", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not set"))
        // 5. Instance metadata, unless turned off.
        guard !InstanceMetadataCredentials.isDisabled(environment) else {
            tried.append(("EC2 instance metadata", "AWS_EC2_METADATA_DISABLED=true"))
            throw NoCredentials(tried: tried)
        }
        return refreshing(LastResort(InstanceMetadataCredentials(environment: environment, now: now), tried: tried))
    }

    private func refreshing(_ source: any CredentialSource) -> RefreshingCredentials {
        RefreshingCredentials(source, now: now, refreshBefore: refreshBefore, logger: logger)
    }

    /// IMDS tried because nothing else was configured: its failure says what else was looked for.
    struct LastResort: CredentialSource {
        let inner: InstanceMetadataCredentials
        let tried: [(source: String, why: String)]

        init(_ inner: InstanceMetadataCredentials, tried: [(source: String, why: String)]) {
            self.inner = inner
            self.tried = tried
        }

        var name: String { inner.name }

        func fetch() async throws -> AWSCredentials {
            do {
                return try await inner.fetch()
            } catch let error as CredentialsError {
                throw CredentialsError(source: error.source, error.reason + "; before it: " + tried.map { "\($0.source) (\($0.why))" }.joined(separator: ", "))
            }
        }
    }
}

/// Credentials that never change, with where they came from.
public struct StaticCredentials: CredentialProvider {
    let value: AWSCredentials
    public let source: String

    public init(_ value: AWSCredentials, source: String) {
        self.value = value
        self.source = source
    }

    public func credentials() async throws -> AWSCredentials { value }
}
