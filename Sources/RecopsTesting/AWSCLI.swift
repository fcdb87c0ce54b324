import AWS
import Foundation

/// The AWS CLI (botocore) against a moto_server: an independent client for making drift behind
/// recops's back, so a test never checks recops only against itself.
public struct AWSCLI: Sendable {
    public let moto: MotoServer
    public var credentials: AWSCredentials

    public init(moto: MotoServer, credentials: AWSCredentials = MotoServer.bootstrapCredentials) {
        self.moto = moto
        self.credentials = credentials
    }

    public struct Failure: Error, CustomStringConvertible {
        public var arguments: [String]
        public var output: String
        public var description: String { "aws \(arguments.joined(separator: " ")) failed: \(output)" }
    }

    /// Runs `aws <arguments>` and returns what it printed; throws when it exits non-zero.
    @discardableResult
    public func run(_ arguments: [String]) async throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = credentials.accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = credentials.secretAccessKey
        environment["AWS_SESSION_TOKEN"] = nil
        environment["AWS_PAGER"] = ""
        let result = try await ChildProcess.run("aws", ["--endpoint-url", moto.endpoint.absoluteString, "--region", "us-east-1", "--output", "json"] + arguments,
                                                environment: environment)
        guard result.status == 0 else { throw Failure(arguments: arguments, output: result.stdout + result.stderr) }
        return result.stdout
    }
}
