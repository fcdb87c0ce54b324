import Transport

/// An error answer from an AWS service, with what a person needs to act on it.
///
/// Never carries the request's signature, credentials or presigned query.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    public var service: String
    public var operation: String
    /// The service's code (`NoSuchBucket`, `AccessDenied`, `Throttling`); for a bodiless answer
    /// (HEAD), derived from the status.
    public var code: String
    public var message: String
    public var status: Int
    public var requestID: String?

    public init(service: String, operation: String, code: String, message: String, status: Int, requestID: String?) {
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.status = status
        self.requestID = requestID
    }

    public var description: String {
        var text = "\(service) \(operation) failed: \(code) (HTTP \(status))"
        if !message.isEmpty { text += ": \(message)" }
        if let requestID { text += " [request id \(requestID)]" }
        return text
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    ]

    /// Throttling and server-side failures are worth another try; nothing else is.
    public var isRetryable: Bool {
        status >= 500 || status == 429 || Self.throttlingCodes.contains(code) || code == "RequestTimeout"
    }

    static let credentialCodes: Set<String> = [
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken",
        "ExpiredTokenException", "InvalidToken", "MissingAuthenticationToken",
    ]

    /// The credentials themselves are refused: unknown key, wrong secret, expired or invalid
    /// session token. The one list of these codes (verify, readiness and the pipeline ask here).
    public var isCredentialProblem: Bool { Self.credentialCodes.contains(code) }

    /// Credentials refused, or valid but not allowed: verify says it "could not check".
    public var isAccessProblem: Bool {
        isCredentialProblem || status == 403 || ["AccessDenied", "AccessDeniedException"].contains(code)
    }
}

extension RetryPolicy {
    /// AWS's rule: retry throttling, 5xx and lost connections.
    public static func isRetryableAWS(_ error: any Error) -> Bool {
        if let error = error as? AWSError { return error.isRetryable }
        return error is TransportError
    }
}
