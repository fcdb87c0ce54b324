/// An error answer from Airtable: `{"error": {"type", "message"}}` (or `"error": "TYPE"`).
/// Never carries the token.
public struct AirtableError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var message: String
    public var status: Int
    public var operation: String

    public init(type: String, message: String, status: Int, operation: String) {
        self.type = type
        self.message = message
        self.status = status
        self.operation = operation
    }

    public var description: String {
        "Airtable \(operation) failed: \(type) (HTTP \(status))" + (message.isEmpty ? "" : ": \(message)")
    }

    public var isRetryable: Bool { status == 429 || status >= 500 }
}
