import Hummingbird

/// Starts a Hummingbird application in this process and waits until it listens: the one way the
/// test servers (sandbox, pipeline, proxy, alert receiver) come up. `build` gets the callback
/// to pass as the application's `onRunning`; the returned task runs it until cancelled.
public func startInProcess<App: ApplicationProtocol>(
    _ name: String, build: (@escaping @Sendable (Int) async -> Void) -> App
) async throws -> (port: Int, task: Task<Void, any Error>) {
    let (stream, continuation) = AsyncStream<Int>.makeStream()
    let app = build { port in
        continuation.yield(port)
        continuation.finish()
    }
    let task = Task { try await app.runService(gracefulShutdownSignals: []) }
    var iterator = stream.makeAsyncIterator()
    guard let port = await iterator.next() else {
        task.cancel()
        throw LocalProcess.StartFailure(name: name, log: "did not start")
    }
    return (port, task)
}
