/// An error answer from Twilio's REST API: `{"code", "message", "more_info", "status"}`.
/// Never carries the auth token or the Authorization header.
public struct TwilioError: Error, Sendable, CustomStringConvertible {
    public var code: Int?
    public var message: String
    public var moreInfo: String?
    public var status: Int
    public var operation: String

    public init(code: Int?, message: String, moreInfo: String?, status: Int, operation: String) {
        self.code = code
        self.message = message
        self.moreInfo = moreInfo
        self.status = status
        self.operation = operation
    }

    public var description: String {
        var text = "Twilio \(operation) failed: HTTP \(status)"
        if let code { text += ", error \(code)" }
        if !message.isEmpty { text += ": \(message)" }
        if let moreInfo { text += " (\(moreInfo))" }
        return text
    }

    public var isRetryable: Bool { status == 429 || status >= 500 }
}
