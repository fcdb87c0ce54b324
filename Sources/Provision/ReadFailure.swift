import Airtable
import AWS
import Twilio
import Transport

/// Why a resource could not be observed, in the terms verify's "could not check" uses.
public struct ReadFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Codable {
        case credentials
        case permissions
        case network
        case service
    }

    public var reason: Reason
    public var message: String

    public init(_ error: any Error) {
        message = "\(error)"
        switch error {
        case is CredentialsError, is NoCredentials:
            reason = .credentials
        case let error as AWSError where error.isCredentialProblem:
            reason = .credentials
        case let error as AWSError where error.isAccessProblem:
            reason = .permissions
        case _ where Self.serviceStatus(error) == 401:
            reason = .credentials
        case _ where Self.serviceStatus(error) == 403:
            reason = .permissions
        case is TransportError:
            reason = .network
        default:
            reason = .service
        }
    }

    private static func serviceStatus(_ error: any Error) -> Int? {
        (error as? TwilioError)?.status ?? (error as? AirtableError)?.status
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
