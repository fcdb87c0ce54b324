import Synchronization

/// A value shared between tasks behind a lock (a `Mutex` cannot be captured by escaping closures).
/// Public: the pipeline, the provisioning code and the test helpers share it.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) {
        mutex = Mutex(value)
    }

    public var value: Value { mutex.withLock { $0 } }

    public func withLock<T: Sendable>(_ body: (inout sending Value) -> T) -> T {
        mutex.withLock { body(&$0) }
    }

    /// Sets the new value and returns the old one.
    @discardableResult
    public func exchange(_ new: Value) -> Value {
        mutex.withLock { old in
            defer { old = new }
            return old
        }
    }
}
