import Foundation

/// What every client (AWS, Twilio, Airtable) sends its requests through.
///
/// Small on purpose, like soto-core's `AWSHTTPClient`: the real one is AsyncHTTPClient; decorators
/// count requests (benchmarks) or log them, and tests use real local servers, not fakes.
public protocol HTTPTransport: Sendable {
    /// Sends the request and buffers the answer. Throws `TransportError` when no answer came.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse

    /// Streams a successful answer's body into `file` (memory stays flat whatever the size) and
    /// returns the response without a body. Other answers come back buffered, file untouched.
    func download(_ request: HTTPRequest, to file: URL) async throws -> HTTPResponse
}
