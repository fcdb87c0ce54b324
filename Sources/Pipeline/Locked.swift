import Synchronization

/// A value shared between tasks behind a lock (a `Mutex` cannot be captured by escaping closures).
/// `package`: the test helpers share it.
package final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: Value) {
        mutex = Mutex(value)
    }

    package var value: Value { mutex.withLock { $0 } }

    package func withLock<T: Sendable>(_ body: (inout sending Value) -> T) -> T {
        mutex.withLock { body(&$0) }
    }

    /// Sets the new value and returns the old one.
    @discardableResult
    package func exchange(_ new: Value) -> Value {
        mutex.withLock { old in
            defer { old = new }
            return old
        }
    }
}
