/// A bound on how many heavy test servers run at once.
///
/// Swift Testing runs every test in parallel; each live test starts its own moto_server (a Python
/// process), and on two cores forty of them at once starve each other until requests time out.
/// Tests queue for a slot instead: the run takes as long, and nothing times out.
public actor TestSlots {
    public static let motoServers = TestSlots(3)

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(_ count: Int) {
        free = count
    }

    public func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    public func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
