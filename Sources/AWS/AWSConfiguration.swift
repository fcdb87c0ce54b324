import Foundation
import Logging
import Transport

/// Where and as whom to call AWS: credentials, region and endpoints, from the environment.
///
/// Read at the composition root from the variables the AWS CLI and SDKs use, so the same
/// environment drives recops and `aws`. The credentials are a provider: found by the SDKs' chain
/// and refreshed before they expire (`CredentialChain`).
public struct AWSConfiguration: Sendable {
    public var credentials: any CredentialProvider
    public var region: String
    /// Per service (`s3`, `iam`, `cloudtrail`, `sts`): an endpoint override, e.g. moto_server.
    public var endpointOverrides: [String: URL]

    public init(credentials: any CredentialProvider, region: String, endpointOverrides: [String: URL] = [:]) {
        self.credentials = credentials
        self.region = region
        self.endpointOverrides = endpointOverrides
    }

    /// The chain's credentials (`CredentialChain`: environment, web identity, the shared files at
    /// `AWS_PROFILE`, container credentials, IMDSv2). Endpoints: `AWS_ENDPOINT_URL_<SERVICE>`,
    /// then `AWS_ENDPOINT_URL`. `refreshBefore`: how long before their expiry temporary
    /// credentials are replaced (the service makes it outlast a presigned URL's lifetime).
    public static func fromEnvironment(_ environment: [String: String], region: String, transport: any HTTPTransport = AsyncHTTPClientTransport(),
                                       now: @escaping @Sendable () -> Date = { Date() }, refreshBefore: TimeInterval = 300,
                                       logger: Logger = Logger(label: "recops.aws.credentials")) throws -> AWSConfiguration {
        var overrides: [String: URL] = [:]
        for service in ["s3", "iam", "cloudtrail", "sts"] {
            let value = environment["AWS_ENDPOINT_URL_\(service.uppercased())"] ?? environment["AWS_ENDPOINT_URL"]
            if let value, !value.isEmpty, let url = URL(string: value) { overrides[service] = url }
        }
        let anonymous = AWSConfiguration(credentials: StaticCredentials(AWSCredentials(accessKeyID: "", secretAccessKey: ""), source: "none"),
                                         region: region, endpointOverrides: overrides)
        let sts = STSClient(aws: AWSClient(configuration: anonymous, transport: transport, retry: RetryPolicy(maxAttempts: 2), now: now, logger: logger))
        let chain = CredentialChain(environment: environment, sts: sts, now: now, refreshBefore: refreshBefore, logger: logger)
        return AWSConfiguration(credentials: try chain.provider(), region: region, endpointOverrides: overrides)
    }

    /// The DNS suffix of the region's partition.
    var dnsSuffix: String { region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com" }

    /// Base URL of a regional service, and whether S3 must use path-style addressing.
    func endpoint(for service: String) -> (url: URL, custom: Bool) {
        if let url = endpointOverrides[service] { return (url, true) }
        switch service {
        case "iam":
            if region.hasPrefix("cn-") { return (URL(string: "https://iam.cn-north-1.amazonaws.com.cn")!, false) }
            if region.hasPrefix("us-gov-") { return (URL(string: "https://iam.us-gov.amazonaws.com")!, false) }
            return (URL(string: "https://iam.amazonaws.com")!, false)
        default:
            return (URL(string: "https://\(service).\(region).\(dnsSuffix)")!, false)
        }
    }

    /// IAM is global: it signs with its partition's home region.
    func signingRegion(for service: String) -> String {
        guard service == "iam" else { return region }
        if region.hasPrefix("cn-") { return "cn-north-1" }
        if region.hasPrefix("us-gov-") { return "us-gov-west-1" }
        return "us-east-1"
    }
}
