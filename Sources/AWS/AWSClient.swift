import Foundation
import Logging
import Transport

/// Signs, sends and retries requests to one AWS account; the service clients build on it.
///
/// Time comes in as `now` so tests can pin signatures; the logger never sees a URL's query, a
/// header or a body, so no signature or key reaches the logs.
public struct AWSClient: Sendable {
    public let configuration: AWSConfiguration
    let transport: any HTTPTransport
    let retry: RetryPolicy
    let now: @Sendable () -> Date
    let logger: Logger

    public init(
        configuration: AWSConfiguration,
        transport: any HTTPTransport,
        retry: RetryPolicy = RetryPolicy(),
        now: @escaping @Sendable () -> Date,
        logger: Logger
    ) {
        self.configuration = configuration
        self.transport = transport
        self.retry = retry
        self.now = now
        self.logger = logger
    }

    /// The same endpoints, transport and clock, signing with other credentials.
    public func with(credentials: any CredentialProvider, retry: RetryPolicy? = nil) -> AWSClient {
        var configuration = configuration
        configuration.credentials = credentials
        return AWSClient(configuration: configuration, transport: transport, retry: retry ?? self.retry, now: now, logger: logger)
    }

    /// One API call, in decoded parts.
    struct Call {
        var service: String
        var operation: String
        var method: String
        /// S3 only: the bucket, addressed path-style on custom endpoints, virtual-hosted on AWS.
        var bucket: String? = nil
        /// Decoded path below the bucket (or the service root).
        var path: String = "/"
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var body = Data()
        /// Streamed instead of `body`; its SHA-256 (hex) is computed by the caller beforehand.
        var bodyFile: (url: URL, sha256Hex: String)? = nil
        /// S3 statuses that are answers, not errors (404 on a HEAD of a missing object).
        var acceptedStatuses: Set<Int> = []
        /// Sent without a signature (STS AssumeRoleWithWebIdentity: the token is the proof).
        var unsigned = false
    }

    /// Where a call goes: the URL to send and the path and host to sign.
    func address(_ call: Call) -> (url: URL, signedPath: String, host: String) {
        let endpoint = configuration.endpoint(for: call.service)
        let base = endpoint.url
        var host = base.host ?? "localhost"
        var path = base.path == "/" ? "" : base.path
        if let bucket = call.bucket {
            // Virtual-hosted style on AWS; path style on custom endpoints and for dotted names,
            // whose virtual host would not match the TLS certificate.
            if endpoint.custom || bucket.contains(".") {
                path += "/\(bucket)"
            } else {
                host = "\(bucket).\(host)"
            }
        }
        path += call.path == "/" && call.bucket != nil ? "" : call.path
        if path.isEmpty { path = "/" }
        let hostHeader = base.port.map { "\(host):\($0)" } ?? host
        let encodedPath = SigV4Signer.canonicalPath(path, normalize: false)
        let query = SigV4Signer.canonicalQuery(call.query)
        let url = URL(string: "\(base.scheme ?? "https")://\(hostHeader)\(encodedPath)\(query.isEmpty ? "" : "?\(query)")")!
        return (url, path, hostHeader)
    }

    /// Sends a call with retries; an error status becomes `AWSError`.
    func send(_ call: Call) async throws -> HTTPResponse {
        try await retry.run(shouldRetry: RetryPolicy.isRetryableAWS) {
            try await sendOnce(call)
        }
    }

    private func sendOnce(_ call: Call) async throws -> HTTPResponse {
        let (url, signedPath, host) = address(call)
        let isS3 = call.service == "s3"
        let payloadHash = call.bodyFile?.sha256Hex ?? SigV4Signer.hexSHA256(call.body)
        let request = SigV4Signer.Request(
            method: call.method, path: signedPath, query: call.query,
            headers: [(name: "Host", value: host)] + call.headers, payloadHash: payloadHash)
        var headers = request.headers
        if !call.unsigned {
            // Fetched per attempt: a retry after a refresh or a rotation signs with the new key.
            let credentials = try await configuration.credentials.credentials()
            let signer = SigV4Signer(credentials: credentials, region: configuration.signingRegion(for: call.service), service: call.service)
            headers += signer.signHeaders(request, date: now(), options: .init(normalizePath: !isS3, addContentHashHeader: isS3)).headers
        }
        let started = ContinuousClock.now
        let response = try await transport.send(HTTPRequest(method: call.method, url: url, headers: headers, body: call.body, bodyFile: call.bodyFile?.url))
        logger.debug("aws request", metadata: [
            "service": "\(call.service)", "operation": "\(call.operation)", "status": "\(response.status)",
            "duration_ms": "\((ContinuousClock.now - started).milliseconds)",
        ])
        if response.isSuccess || call.acceptedStatuses.contains(response.status) { return response }
        throw Self.error(from: response, service: call.service, operation: call.operation)
    }

    /// Reads the service's error document (XML for S3 and IAM, JSON for CloudTrail).
    static func error(from response: HTTPResponse, service: String, operation: String) -> AWSError {
        var code = ""
        var message = ""
        var requestID = response.header("x-amz-request-id") ?? response.header("x-amzn-RequestId")
        if let xml = XMLNode.parse(response.body) {
            let error = xml.name == "Error" ? xml : xml.descendant("Error")
            code = error?["Code"] ?? ""
            message = error?["Message"] ?? ""
            requestID = requestID ?? xml["RequestId"] ?? error?["RequestId"]
        } else if let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] {
            let type = (json["__type"] as? String) ?? (json["code"] as? String) ?? ""
            code = type.split(separator: "#").last.map(String.init) ?? type
            message = (json["message"] as? String) ?? (json["Message"] as? String) ?? ""
        }
        if code.isEmpty {
            code = [301: "PermanentRedirect", 400: "BadRequest", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests", 503: "ServiceUnavailable"][response.status] ?? "HTTP\(response.status)"
        }
        return AWSError(service: service, operation: operation, code: code, message: message, status: response.status, requestID: requestID)
    }

    /// A presigned URL: anyone holding it may make this one request until it expires.
    func presign(_ call: Call, expires: Int) async throws -> URL {
        presign(call, expires: expires, credentials: try await configuration.credentials.credentials())
    }

    /// Signed with the given credentials, offline (`validate`'s length estimate).
    func presign(_ call: Call, expires: Int, credentials: AWSCredentials) -> URL {
        let (url, signedPath, host) = address(call)
        let signer = SigV4Signer(credentials: credentials, region: configuration.signingRegion(for: call.service), service: call.service)
        let request = SigV4Signer.Request(method: call.method, path: signedPath, query: call.query, headers: [(name: "Host", value: host)], payloadHash: SigV4Signer.unsignedPayload)
        let signature = signer.presign(request, date: now(), expires: expires, options: .init(normalizePath: false))
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = signature.query
        return components.url!
    }
}

extension Duration {
    /// Whole milliseconds, for logs and metrics.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
