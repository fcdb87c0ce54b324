import Foundation

public enum IAM {
    public struct User: Sendable, Equatable {
        public var name: String
        public var arn: String
        public var id: String
    }

    public struct AttachedPolicy: Sendable, Equatable {
        public var name: String
        public var arn: String
    }

    public struct AccessKey: Sendable, Equatable {
        public var id: String
        public var active: Bool
        public var created: Date?
    }

    /// A newly created key: the only time AWS reveals the secret.
    public struct NewAccessKey: Sendable, CustomStringConvertible {
        public var id: String
        public var secret: String
        public var description: String { "NewAccessKey(\(id), secret redacted)" }
    }
}
