import Foundation
import Hummingbird
import Logging
import RecopsTesting
import Testing
import Transport
import Twilio

/// Twilio may redirect a media URL to another host (its CDN): the download follows it without
/// the Authorization header, so the account's credentials never leave Twilio.
@Suite struct RecordingRedirectTests {

    final class LockedList: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String?] = []
        func append(_ item: String?) { lock.lock(); items.append(item); lock.unlock() }
        var all: [String?] { lock.lock(); defer { lock.unlock() }; return items }
    }

    @Test func aRedirectToAnotherHostDropsTheCredentials() async throws {
        let seen = LockedList()
        let media = Data(repeating: 0xAB, count: 5000)
        let router = Router(context: BasicRequestContext.self)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let portBox = LockedList()
        router.get("/2010-04-01/Accounts/:account/Recordings/:file") { request, _ in
            seen.append(request.headers[.authorization])
            // "localhost" and "127.0.0.1" are different hosts to the client.
            let port = portBox.all.first.flatMap { $0 } ?? "0"
            return Response(status: .found, headers: [.location: "http://localhost:\(port)/cdn/RE1.mp3"])
        }
        router.get("/cdn/RE1.mp3") { request, _ in
            seen.append(request.headers[.authorization])
            return Response(status: .ok, headers: [.contentType: "audio/mpeg"], body: .init(byteBuffer: ByteBuffer(bytes: media)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0); continuation.finish() },
                              logger: quietServerLogger("test.redirect"))
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { task.cancel() }
        var iterator = stream.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        portBox.append(String(port))

        let base = URL(string: "http://127.0.0.1:\(port)")!
        let twilio = TwilioClient(credentials: .init(accountSID: "AC1", username: "AC1", password: "secret-token"), baseURL: base,
                                  transport: AsyncHTTPClientTransport(), logger: Logger(label: "test"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("redirect-\(UUID()).mp3")
        defer { try? FileManager.default.removeItem(at: file) }
        let bytes = try await twilio.downloadRecording(mediaURL: base.appendingPathComponent("2010-04-01/Accounts/AC1/Recordings/RE1.mp3"), to: file)
        #expect(bytes == media.count)
        #expect(try Data(contentsOf: file) == media)
        let headers = seen.all
        #expect(headers.count == 2)
        #expect(headers.first??.hasPrefix("Basic ") == true)
        #expect(headers.last! == nil)
    }
}
