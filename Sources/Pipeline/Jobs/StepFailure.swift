import Airtable
import AWS
import Foundation
import Transport
import Twilio

/// Why a step failed, as far as the schedule cares: whether trying again soon can help.
public enum FailureKind: String, Sendable, CaseIterable, Codable {
    /// The network, a timeout, a 5xx, S3's SlowDown: the next attempt may well succeed.
    case transient
    /// Airtable paused the base (429) for every client: the step waits out the pause.
    case throttled
    /// Credentials refused or access denied: a person must act; retrying soon cannot help.
    case credentials
    /// What the step needs is not there: Twilio has no such recording, the S3 object is gone.
    case missing
    /// What came back is wrong: an empty download, a body S3 refused by its checksum, an object
    /// that does not match, every key taken, a write another writer overwrote. The next answer
    /// may well be right.
    case invalid
    /// recops's own monthly Airtable budget (`airtable.monthly_request_budget`) is spent: the
    /// work stays queued, nothing is sent, until the month turns or the budget is raised.
    case budget

    /// Retried on the usual schedule. The others (a person must act) are retried too, nothing is
    /// dropped, but a transfer uses up its quick attempts at once and raises the alert.
    public var isRetryable: Bool { self != .credentials && self != .missing }

    /// Not a fault of the job: a pause of the base or a spent budget counts no attempt.
    public var isSchedule: Bool { self == .throttled || self == .budget }
}

/// A step's failure: its kind and a message fit for logs, the store and the operations page
/// (redacted: no URL query, no credentials). The cause is kept for the log line that reports it.
public struct StepFailure: Error, Sendable, CustomStringConvertible {
    public var kind: FailureKind
    public var message: String

    public init(_ kind: FailureKind, _ message: String) {
        self.kind = kind
        self.message = Redaction.text(message)
    }

    public var description: String { message }

    /// Sorts a client's error into its kind.
    public static func classify(_ error: any Error) -> StepFailure {
        if let failure = error as? StepFailure { return failure }
        let message = Redaction.message(error)
        switch error {
        case is MonthlyBudgetSpent:
            return StepFailure(.budget, message)
        case is CredentialsError, is NoCredentials:
            return StepFailure(.credentials, message)
        case let error as AWSError:
            if error.isAccessProblem { return StepFailure(.credentials, message) }
            if error.status == 404 || error.code == "NoSuchKey" || error.code == "NoSuchBucket" { return StepFailure(.missing, message) }
            if error.status == 400 && error.code == "BadDigest" { return StepFailure(.invalid, message) }
            return StepFailure(.transient, message)
        case let error as AirtableError:
            switch error.status {
            case 429: return StepFailure(.throttled, message)
            case 401, 403: return StepFailure(.credentials, message)
            case 404: return StepFailure(.missing, message)
            case 422: return StepFailure(.invalid, message)
            default: return StepFailure(.transient, message)
            }
        case let error as TwilioError:
            switch error.status {
            case 401, 403: return StepFailure(.credentials, message)
            case 404: return StepFailure(.missing, message)
            default: return StepFailure(.transient, message)
            }
        default:
            return StepFailure(.transient, message)
        }
    }
}
