import Spec

/// One declared thing: its desired state, how to observe the real one, and how to change it.
///
/// States are compared by `StateDiff`: only what the desired state declares (nil is "not
/// managed"), so defaults a service adds over time never show as drift.
public protocol Resource: Sendable {
    associatedtype State: Equatable & Codable & Sendable

    var id: ResourceID { get }
    /// The part of the spec it belongs to (`--only aws`).
    var part: SpecPart { get }
    /// Where it is declared, for messages and annotations (`bucket`).
    var specPath: String { get }
    /// Resources that must exist before this one is applied.
    var dependencies: [ResourceID] { get }
    var desired: State { get }

    /// The real state, or nil when the resource does not exist.
    func observe() async throws -> State?
    /// Makes the real state match the desired one.
    func apply(_ change: Change<State>) async throws
    /// Problems apply cannot fix (an old access key, a bucket in another region).
    func checks(observed: State?) -> [CheckFailure]
    /// What is fine today but will not be for long (a history field nearly at its cap): reported,
    /// never drift, so verify's exit code does not change.
    func warnings(observed: State?) -> [CheckFailure]
    /// IAM permissions `observe` needs, and those `apply` adds (for `recops iam-policy`).
    var permissions: Permissions { get }
    /// False for things recops must never create (a phone number is bought by a person): when
    /// absent, `checks` says so and apply leaves it alone.
    var canCreate: Bool { get }
}

extension Resource {
    public var dependencies: [ResourceID] { [] }
    public var canCreate: Bool { true }
    public var permissions: Permissions { Permissions(read: [], write: []) }
    public func checks(observed: State?) -> [CheckFailure] { [] }
    public func warnings(observed: State?) -> [CheckFailure] { [] }
}

/// What apply is asked to do.
public enum Change<State: Sendable>: Sendable {
    case create(State)
    /// `fields` are the differing fields, as `StateDiff` names them.
    case update(from: State, to: State, fields: Set<String>)
}

/// A failed check: what should be, what is, and what a person should do.
public struct CheckFailure: Sendable, Equatable, Codable {
    public var property: String
    public var expected: JSONValue
    public var actual: JSONValue
    public var message: String

    public init(property: String, expected: JSONValue, actual: JSONValue, message: String) {
        self.property = property
        self.expected = expected
        self.actual = actual
        self.message = message
    }
}

/// IAM actions on resources, split by what reading and what changing needs.
public struct Permissions: Sendable, Equatable {
    public struct Grant: Sendable, Hashable {
        public var actions: [String]
        public var resources: [String]

        public init(_ actions: [String], on resources: [String]) {
            self.actions = actions
            self.resources = resources
        }
    }

    public var read: [Grant]
    public var write: [Grant]

    public init(read: [Grant], write: [Grant]) {
        self.read = read
        self.write = write
    }
}
