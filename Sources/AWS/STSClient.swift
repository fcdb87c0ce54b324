import Foundation
import Transport

/// STS: which principal the credentials are (GetCallerIdentity), and temporary credentials for a
/// role (AssumeRole, signed by the source's credentials; AssumeRoleWithWebIdentity, unsigned).
public struct STSClient: Sendable {
    public let aws: AWSClient

    public init(aws: AWSClient) {
        self.aws = aws
    }

    public struct Identity: Sendable, Equatable {
        public var account: String
        public var arn: String
    }

    public func callerIdentity() async throws -> Identity {
        let response = try await aws.send(Self.call("GetCallerIdentity", []))
        let result = XMLNode.parse(response.body)?.child("GetCallerIdentityResult")
        return Identity(account: result?["Account"] ?? "", arn: result?["Arn"] ?? "")
    }

    public func assumeRole(roleARN: String, sessionName: String, externalID: String? = nil, durationSeconds: Int? = nil,
                           signedWith source: AWSCredentials) async throws -> AWSCredentials {
        var parameters = [("RoleArn", roleARN), ("RoleSessionName", sessionName)]
        if let externalID { parameters.append(("ExternalId", externalID)) }
        if let durationSeconds { parameters.append(("DurationSeconds", "\(durationSeconds)")) }
        let response = try await aws.with(credentials: source).send(Self.call("AssumeRole", parameters))
        return try Self.credentials(in: response.body, result: "AssumeRoleResult")
    }

    public func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: String, durationSeconds: Int? = nil) async throws -> AWSCredentials {
        var parameters = [("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", token)]
        if let durationSeconds { parameters.append(("DurationSeconds", "\(durationSeconds)")) }
        var call = Self.call("AssumeRoleWithWebIdentity", parameters)
        call.unsigned = true
        let response = try await aws.send(call)
        return try Self.credentials(in: response.body, result: "AssumeRoleWithWebIdentityResult")
    }

    static func call(_ action: String, _ parameters: [(String, String)]) -> AWSClient.Call {
        let form = ([("Action", action), ("Version", "2011-06-15")] + parameters)
            .map { "\(FormEncoding.escape($0.0))=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
        return AWSClient.Call(service: "sts", operation: action, method: "POST",
                              headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")], body: Data(form.utf8))
    }

    struct MalformedAnswer: Error, CustomStringConvertible {
        var description: String
    }

    static func credentials(in body: Data, result: String) throws -> AWSCredentials {
        guard let credentials = XMLNode.parse(body)?.child(result)?.child("Credentials"),
              let key = credentials["AccessKeyId"], let secret = credentials["SecretAccessKey"], let token = credentials["SessionToken"] else {
            throw MalformedAnswer(description: "\(result) has no Credentials with a SessionToken")
        }
        // Temporary credentials without an expiry would never be refreshed: refuse them.
        guard let expiration = credentials["Expiration"].flatMap(AWSTimestamp.parse) else {
            throw MalformedAnswer(description: "\(result) has no readable Expiration")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }
}
