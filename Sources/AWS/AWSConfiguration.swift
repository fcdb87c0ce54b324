import Foundation

/// Where and as whom to call AWS: credentials, region and endpoints, from the environment.
///
/// Read once at the composition root from the variables the AWS CLI and SDKs use, so the same
/// environment drives recops and `aws`.
public struct AWSConfiguration: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    /// Per service (`s3`, `iam`, `cloudtrail`, `sts`): an endpoint override, e.g. moto_server.
    public var endpointOverrides: [String: URL]

    public init(credentials: AWSCredentials, region: String, endpointOverrides: [String: URL] = [:]) {
        self.credentials = credentials
        self.region = region
        self.endpointOverrides = endpointOverrides
    }

    public struct MissingCredentials: Error, CustomStringConvertible {
        public var detail: String
        public var description: String {
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE for ~/.aws/credentials (\(detail))"
        }
    }

    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else the shared credentials
    /// file (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`) at `AWS_PROFILE`
    /// (default `default`). Endpoints: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`.
    public static func fromEnvironment(_ environment: [String: String], region: String) throws -> AWSConfiguration {
        let credentials: AWSCredentials
        if let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty {
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            let path = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
            let profile = environment["AWS_PROFILE"] ?? "default"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw MissingCredentials(detail: "the environment has none and \(path) is not readable")
            }
            guard let found = sharedCredentials(text, profile: profile) else {
                throw MissingCredentials(detail: "profile '\(profile)' in \(path) has no aws_access_key_id and aws_secret_access_key")
            }
            credentials = found
        }
        var overrides: [String: URL] = [:]
        for service in ["s3", "iam", "cloudtrail", "sts"] {
            let value = environment["AWS_ENDPOINT_URL_\(service.uppercased())"] ?? environment["AWS_ENDPOINT_URL"]
            if let value, !value.isEmpty, let url = URL(string: value) { overrides[service] = url }
        }
        return AWSConfiguration(credentials: credentials, region: region, endpointOverrides: overrides)
    }

    /// Parses the INI-style shared credentials file for one profile.
    static func sharedCredentials(_ text: String, profile: String) -> AWSCredentials? {
        var section = ""
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if section.hasPrefix("profile ") { section = String(section.dropFirst(8)) }
                continue
            }
            guard section == profile, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard let key = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else { return nil }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"])
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
