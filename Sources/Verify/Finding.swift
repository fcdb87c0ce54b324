import Provision
import Spec

/// One difference between the spec and what is there, as verify reports it.
public struct Finding: Sendable, Equatable {
    public enum Severity: String, Sendable, Codable {
        case drift
        case failedCheck = "failed_check"
        /// Fine today, needs a person soon: reported, never changes the exit code.
        case warning
        /// A figure worth knowing (how much of the bucket is small objects): never changes the exit code.
        case note
    }

    public var resource: ResourceID
    public var property: String
    public var expected: JSONValue
    /// nil: absent.
    public var actual: JSONValue?
    public var severity: Severity
    public var fixableByApply: Bool
    public var message: String
    /// Where in the spec the expected value is declared.
    public var location: SourceLocation

    public init(resource: ResourceID, property: String, expected: JSONValue, actual: JSONValue?, severity: Severity,
                fixableByApply: Bool, message: String, location: SourceLocation) {
        self.resource = resource
        self.property = property
        self.expected = expected
        self.actual = actual
        self.severity = severity
        self.fixableByApply = fixableByApply
        self.message = message
        self.location = location
    }
}
