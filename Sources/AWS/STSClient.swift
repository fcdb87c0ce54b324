import Foundation
import Transport

/// STS GetCallerIdentity: which account and principal the credentials belong to.
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
        let call = AWSClient.Call(
            service: "sts", operation: "GetCallerIdentity", method: "POST",
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
            body: Data("Action=GetCallerIdentity&Version=2011-06-15".utf8))
        let response = try await aws.send(call)
        let result = XMLNode.parse(response.body)?.child("GetCallerIdentityResult")
        return Identity(account: result?["Account"] ?? "", arn: result?["Arn"] ?? "")
    }
}
