import Foundation

/// A profile of the shared files, read again whenever they change: static keys, a role
/// (`role_arn` with `source_profile` or `credential_source`, then STS AssumeRole with
/// `external_id`, `duration_seconds`, `role_session_name`), or `credential_process`.
public struct ProfileCredentials: CredentialSource {
    public let profile: String
    let files: SharedConfigFiles
    let environment: [String: String]
    /// STS without credentials of its own; a role's source signs it.
    let sts: STSClient

    public init(profile: String, files: SharedConfigFiles, environment: [String: String], sts: STSClient) {
        self.profile = profile
        self.files = files
        self.environment = environment
        self.sts = sts
    }

    public var name: String { "profile \(profile) (\(files.credentialsPath), \(files.configPath))" }

    public func fingerprint() -> String? { files.fingerprint() }

    public func fetch() async throws -> AWSCredentials {
        try await resolve(profile, profiles: files.profiles(), depth: 0)
    }

    /// How long a role's sessions last (`duration_seconds`, STS's default 3600), for the
    /// presigned-URL warning; nil for static keys.
    public static func sessionSeconds(profile: String, files: SharedConfigFiles) -> Int? {
        guard let values = files.profiles()[profile], values["role_arn"] != nil else { return nil }
        return values["duration_seconds"].flatMap(Int.init) ?? 3600
    }

    private func resolve(_ name: String, profiles: [String: [String: String]], depth: Int) async throws -> AWSCredentials {
        let source = "profile \(name)"
        guard depth < 5 else { throw CredentialsError(source: source, "source_profile chain is longer than 5 (a loop?)") }
        guard let values = profiles[name] else {
            throw CredentialsError(source: source, "no [\(name)] in \(files.credentialsPath) and no [profile \(name)] in \(files.configPath)")
        }
        if let role = values["role_arn"] {
            let from: AWSCredentials
            if let sourceProfile = values["source_profile"] {
                // A profile naming itself holds the keys beside its role_arn.
                if sourceProfile == name {
                    from = try staticKeys(values, source: source)
                } else {
                    from = try await resolve(sourceProfile, profiles: profiles, depth: depth + 1)
                }
            } else if let credentialSource = values["credential_source"] {
                from = try await credentials(from: credentialSource, source: source)
            } else if let tokenFile = values["web_identity_token_file"] {
                return try await WebIdentityCredentials(tokenFile: tokenFile, roleARN: role, sessionName: values["role_session_name"], sts: sts).fetch()
            } else {
                throw CredentialsError(source: source, "role_arn needs source_profile, credential_source or web_identity_token_file")
            }
            let duration = values["duration_seconds"].flatMap(Int.init)
            do {
                return try await sts.assumeRole(roleARN: role, sessionName: values["role_session_name"] ?? "recops-\(Int(Date().timeIntervalSince1970))",
                                                externalID: values["external_id"], durationSeconds: duration, signedWith: from)
            } catch {
                throw CredentialsError(source: source, "AssumeRole \(role) answered \(error)")
            }
        }
        if let command = values["credential_process"] {
            return try await ProcessCredentials(command: command, source: source, timeout: .seconds(60)).fetch()
        }
        return try staticKeys(values, source: source)
    }

    private func staticKeys(_ values: [String: String], source: String) throws -> AWSCredentials {
        guard let key = values["aws_access_key_id"], !key.isEmpty, let secret = values["aws_secret_access_key"], !secret.isEmpty else {
            throw CredentialsError(source: source, "has no aws_access_key_id and aws_secret_access_key, role_arn or credential_process")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 })
    }

    private func credentials(from credentialSource: String, source: String) async throws -> AWSCredentials {
        switch credentialSource {
        case "Environment":
            guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                throw CredentialsError(source: source, "credential_source Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
            }
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        case "EcsContainer":
            do {
                return try await ContainerCredentials(environment: environment).fetch()
            } catch let refused as ContainerCredentials.Refused {
                throw CredentialsError(source: source, "credential_source EcsContainer: \(refused)")
            }
        case "Ec2InstanceMetadata":
            return try await InstanceMetadataCredentials(environment: environment).fetch()
        default:
            throw CredentialsError(source: source, "credential_source '\(credentialSource)' is not Environment, EcsContainer or Ec2InstanceMetadata")
        }
    }
}
