import Foundation
import Logging
import Transport

/// Twilio's 2010-04-01 REST API: phone number webhooks and recordings.
public struct TwilioClient: Sendable {
    public struct Credentials: Sendable, CustomStringConvertible {
        public var accountSID: String
        /// Account SID or API key SID.
        public var username: String
        public var password: String

        public init(accountSID: String, username: String, password: String) {
            self.accountSID = accountSID
            self.username = username
            self.password = password
        }

        /// `TWILIO_ACCOUNT_SID` + `TWILIO_AUTH_TOKEN`, or `TWILIO_API_KEY` + `TWILIO_API_SECRET`.
        public static func fromEnvironment(_ environment: [String: String]) -> Credentials? {
            guard let account = environment["TWILIO_ACCOUNT_SID"], !account.isEmpty else { return nil }
            if let key = environment["TWILIO_API_KEY"], let secret = environment["TWILIO_API_SECRET"], !key.isEmpty, !secret.isEmpty {
                return Credentials(accountSID: account, username: key, password: secret)
            }
            guard let token = environment["TWILIO_AUTH_TOKEN"], !token.isEmpty else { return nil }
            return Credentials(accountSID: account, username: account, password: token)
        }

        public var description: String { "TwilioCredentials(\(username), secret redacted)" }

        var authorization: String {
            "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        }
    }

    public static let defaultBaseURL = URL(string: "https://api.twilio.com")!

    public let credentials: Credentials
    public let baseURL: URL
    let transport: any HTTPTransport
    let retry: RetryPolicy
    let logger: Logger

    public init(credentials: Credentials, baseURL: URL = defaultBaseURL, transport: any HTTPTransport,
                retry: RetryPolicy = RetryPolicy(maxAttempts: 4), logger: Logger) {
        self.credentials = credentials
        self.baseURL = baseURL
        self.transport = transport
        self.retry = retry
        self.logger = logger
    }

    var accountPath: String { "/2010-04-01/Accounts/\(credentials.accountSID)" }

    private func url(_ pathAndQuery: String) -> URL {
        URL(string: baseURL.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + pathAndQuery)!
    }

    private func send(_ operation: String, _ method: String, _ pathAndQuery: String, form: [(name: String, value: String)]? = nil) async throws -> HTTPResponse {
        var headers = [(name: "Authorization", value: credentials.authorization), (name: "Accept", value: "application/json")]
        var body = Data()
        if let form {
            headers.append((name: "Content-Type", value: "application/x-www-form-urlencoded"))
            body = Data(FormEncoding.encode(form).utf8)
        }
        let request = HTTPRequest(method: method, url: url(pathAndQuery), headers: headers, body: body)
        return try await retry.run(shouldRetry: Self.isRetryable) {
            let response = try await transport.send(request)
            logger.debug("twilio request", metadata: ["operation": "\(operation)", "status": "\(response.status)"])
            guard response.isSuccess else { throw Self.error(response, operation: operation) }
            return response
        }
    }

    static func isRetryable(_ error: any Error) -> Bool {
        (error as? TwilioError)?.isRetryable ?? (error is TransportError)
    }

    static func error(_ response: HTTPResponse, operation: String) -> TwilioError {
        struct Body: Decodable { var code: Int?; var message: String?; var more_info: String? }
        let body = try? JSONDecoder().decode(Body.self, from: response.body)
        return TwilioError(code: body?.code, message: body?.message ?? "", moreInfo: body?.more_info, status: response.status, operation: operation)
    }

    /// Follows `next_page_uri` (relative to the API host) to the end.
    private func list<Item: Decodable>(_ operation: String, _ firstPage: String, key: String) async throws -> [Item] {
        var items: [Item] = []
        var next: String? = firstPage
        while let path = next {
            let response = try await send(operation, "GET", path)
            let page = try Twilio.Page<Item>.decode(response.body, listKey: key)
            items += page.items
            next = page.nextPageURI
        }
        return items
    }

    // MARK: Phone numbers

    /// The account's number exactly equal to `number`. Twilio's `PhoneNumber` filter matches
    /// partially, so every page is read and compared here.
    public func incomingPhoneNumber(_ number: String, pageSize: Int = 50) async throws -> Twilio.IncomingPhoneNumber? {
        let query = "PhoneNumber=\(FormEncoding.escape(number))&PageSize=\(pageSize)"
        let numbers: [Twilio.IncomingPhoneNumber] = try await list("ListIncomingPhoneNumbers", "\(accountPath)/IncomingPhoneNumbers.json?\(query)", key: "incoming_phone_numbers")
        return numbers.first { $0.phoneNumber == number }
    }

    public func incomingPhoneNumber(sid: String) async throws -> Twilio.IncomingPhoneNumber {
        let response = try await send("FetchIncomingPhoneNumber", "GET", "\(accountPath)/IncomingPhoneNumbers/\(sid).json")
        return try JSONDecoder().decode(Twilio.IncomingPhoneNumber.self, from: response.body)
    }

    /// Updates the fields given (Twilio's names: `VoiceUrl`, `VoiceMethod`, `StatusCallback`, …).
    @discardableResult
    public func updateIncomingPhoneNumber(sid: String, _ fields: [(name: String, value: String)]) async throws -> Twilio.IncomingPhoneNumber {
        let response = try await send("UpdateIncomingPhoneNumber", "POST", "\(accountPath)/IncomingPhoneNumbers/\(sid).json", form: fields)
        return try JSONDecoder().decode(Twilio.IncomingPhoneNumber.self, from: response.body)
    }

    // MARK: Recordings

    public func recording(sid: String) async throws -> Twilio.Recording? {
        do {
            let response = try await send("FetchRecording", "GET", "\(accountPath)/Recordings/\(sid).json")
            return try JSONDecoder().decode(Twilio.Recording.self, from: response.body)
        } catch let error as TwilioError where error.status == 404 {
            return nil
        }
    }

    /// One of the account's calls; nil when Twilio has no such call (or no longer: Twilio keeps
    /// call records for 13 months).
    public func call(sid: String) async throws -> Twilio.Call? {
        do {
            let response = try await send("FetchCall", "GET", "\(accountPath)/Calls/\(sid).json")
            return try JSONDecoder().decode(Twilio.Call.self, from: response.body)
        } catch let error as TwilioError where error.status == 404 {
            return nil
        }
    }

    /// Recordings created in a window (Twilio's `DateCreated>` / `DateCreated<` filters, by day).
    public func recordings(createdAfter: String? = nil, createdBefore: String? = nil, pageSize: Int = 100) async throws -> [Twilio.Recording] {
        var query = ["PageSize=\(pageSize)"]
        if let createdAfter { query.append("DateCreated%3E=\(FormEncoding.escape(createdAfter))") }
        if let createdBefore { query.append("DateCreated%3C=\(FormEncoding.escape(createdBefore))") }
        return try await list("ListRecordings", "\(accountPath)/Recordings.json?\(query.joined(separator: "&"))", key: "recordings")
    }

    /// Recordings created more than `days` days before `now`, judged by their own creation time
    /// (Twilio's day filter is only the first cut). A date that cannot be read is not old.
    public func recordings(olderThanDays days: Int, now: Date) async throws -> [Twilio.Recording] {
        let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone(identifier: "UTC")
        day.dateFormat = "yyyy-MM-dd"
        return try await recordings(createdBefore: day.string(from: cutoff), pageSize: 1000).filter { recording in
            recording.dateCreated.flatMap(Twilio.date).map { $0 < cutoff } ?? false
        }
    }

    public func deleteRecording(sid: String) async throws {
        do {
            _ = try await send("DeleteRecording", "DELETE", "\(accountPath)/Recordings/\(sid).json")
        } catch let error as TwilioError where error.status == 404 {
            return  // already gone: deleting is idempotent
        }
    }

    /// The media URL of one of the account's recordings (`format`: mp3 or wav), built from the
    /// configured API base: never from a callback's `RecordingUrl`, which is not ours to trust.
    public func recordingMediaURL(sid: String, format: String = "mp3") -> URL {
        url("\(accountPath)/Recordings/\(FormEncoding.escape(sid)).\(format)")
    }

    /// Downloads a recording's media (the callback's `RecordingUrl` + `.mp3`) into `file`,
    /// streaming. A redirect to another host is followed without the Authorization header, so
    /// the credentials never leave Twilio. Returns the number of bytes written.
    public func downloadRecording(mediaURL: URL, to file: URL, maxRedirects: Int = 3) async throws -> Int {
        var current = mediaURL
        for _ in 0...maxRedirects {
            let sameHost = current.host == baseURL.host && current.port == baseURL.port
            let headers = sameHost ? [(name: "Authorization", value: credentials.authorization)] : []
            let response = try await retry.run(shouldRetry: Self.isRetryable) {
                let response = try await transport.download(HTTPRequest(method: "GET", url: current, headers: headers), to: file)
                guard response.isSuccess || (300..<400).contains(response.status) else {
                    throw Self.error(response, operation: "DownloadRecording")
                }
                return response
            }
            if (300..<400).contains(response.status) {
                guard let location = response.header("Location"), let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                    throw TwilioError(code: nil, message: "redirect without a Location", moreInfo: nil, status: response.status, operation: "DownloadRecording")
                }
                current = next
                continue
            }
            let written = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            if let declared = response.header("Content-Length").flatMap(Int.init), declared != written {
                throw TwilioError(code: nil, message: "media truncated: \(written) of \(declared) bytes", moreInfo: nil, status: response.status, operation: "DownloadRecording")
            }
            return written
        }
        throw TwilioError(code: nil, message: "more than \(maxRedirects) redirects", moreInfo: nil, status: 310, operation: "DownloadRecording")
    }
}
