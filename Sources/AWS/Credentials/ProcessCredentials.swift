import Foundation

/// `credential_process`: a command whose standard output is the SDKs' JSON (`Version: 1`,
/// `AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration`). Run by `/bin/sh -c`, with a
/// time limit; its standard error is not shown (it may print what it was given).
struct ProcessCredentials {
    let command: String
    let source: String
    let timeout: Duration

    func fetch() async throws -> AWSCredentials {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
        do { try process.run() } catch {
            throw CredentialsError(source: source, "credential_process could not start: \(error.localizedDescription)")
        }
        // Read while it runs (a full pipe would stall it), on a thread of its own: a blocking read
        // must not hold one of the few threads every task shares.
        let read = AsyncStream<Data>.makeStream()
        let reader = output.fileHandleForReading
        Thread.detachNewThread {
            read.continuation.yield(reader.readDataToEndOfFile())
            read.continuation.finish()
        }
        let timeout = timeout
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await exited.stream.first { _ in true } }
            group.addTask { try? await Task.sleep(for: timeout); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let status else {
            kill(process.processIdentifier, SIGKILL)
            throw CredentialsError(source: source, "credential_process did not finish within \(timeout)")
        }
        let data = await read.stream.first { _ in true } ?? Data()
        guard status == 0 else { throw CredentialsError(source: source, "credential_process exited with status \(status)") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], (object["Version"] as? Int) == 1 else {
            throw CredentialsError(source: source, "credential_process did not print a JSON object with \"Version\": 1")
        }
        return try TemporaryCredentialsDocument.decode(data, source: source, tokenKey: "SessionToken")
    }
}
