import Foundation

/// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` → STS AssumeRoleWithWebIdentity (unsigned), as
/// on EKS with a service account. The token file is read again at every fetch: the kubelet
/// rotates it.
public struct WebIdentityCredentials: CredentialSource {
    let tokenFile: String
    let roleARN: String
    let sessionName: String
    let durationSeconds: Int?
    let sts: STSClient

    public init(tokenFile: String, roleARN: String, sessionName: String?, durationSeconds: Int? = nil, sts: STSClient) {
        self.tokenFile = tokenFile
        self.roleARN = roleARN
        self.sessionName = sessionName ?? "recops-\(Int(Date().timeIntervalSince1970))"
        self.durationSeconds = durationSeconds
        self.sts = sts
    }

    public var name: String { "web identity (\(roleARN))" }

    public func fetch() async throws -> AWSCredentials {
        let token: String
        do {
            token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw CredentialsError(source: name, "cannot read the token file \(tokenFile): \(error.localizedDescription)")
        }
        guard !token.isEmpty else { throw CredentialsError(source: name, "the token file \(tokenFile) is empty") }
        do {
            return try await sts.assumeRoleWithWebIdentity(roleARN: roleARN, sessionName: sessionName, token: token, durationSeconds: durationSeconds)
        } catch {
            throw CredentialsError(source: name, "AssumeRoleWithWebIdentity answered \(error)")
        }
    }
}
