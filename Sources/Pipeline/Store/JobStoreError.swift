/// A store operation that failed, with the engine's error kept as its cause. The description
/// names the operation and the cause's own text (an engine's errors carry SQL, never secrets: no
/// value is ever interpolated into a statement).
public struct JobStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The database cannot be reached or is busy past its timeout: try again.
        case unavailable
        /// A row the store cannot read back (an unknown state): the data needs a person.
        case corrupt
        /// Opening or migrating the store failed.
        case setup
        /// Anything else the engine refused.
        case failed
    }

    public var kind: Kind
    /// What the store was doing: "claim", "commit", "accept"…
    public var operation: String
    public var cause: (any Error & Sendable)?

    public init(_ kind: Kind, operation: String, cause: (any Error & Sendable)? = nil) {
        self.kind = kind
        self.operation = operation
        self.cause = cause
    }

    public var description: String {
        "job store: \(operation) failed (\(kind.rawValue))" + (cause.map { ": \($0)" } ?? "")
    }
}
