import Foundation
import Twilio

/// What the voice and status webhooks learned about a call: which job it is for, how it ended.
public struct CallRecord: Sendable, Equatable {
    public var callSid: String
    /// The caller's number, kept only while the call runs (the store drops it once the call has
    /// ended; `callerHash` stays).
    public var from: String?
    /// The caller index's keyed hash of `from` (`CallerIndex`), or nil without a privacy key.
    public var callerHash: String?
    public var to: String?
    public var jobID: String?
    public var status: CallStatus
    public var startedAt: Date
    public var completedAt: Date?

    public init(callSid: String, from: String?, to: String?, jobID: String?, status: CallStatus, startedAt: Date, completedAt: Date? = nil, callerHash: String? = nil) {
        self.callSid = callSid
        self.from = from
        self.callerHash = callerHash
        self.to = to
        self.jobID = jobID
        self.status = status
        self.startedAt = startedAt
        self.completedAt = completedAt
    }
}
