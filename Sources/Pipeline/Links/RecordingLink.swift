import Foundation

/// A recording's stable link, `{app.url}/r/{id}`: what a history line holds with `links: stable`.
/// The id is a bearer secret of 144 random bits; it is kept as is (a retried history step must
/// write the same line, and `relink` must rebuild it), in the store that is private anyway.
public struct RecordingLink: Sendable, Equatable {
    public var id: String
    public var recordingSid: String
    public var objectKey: String
    public var jobID: String?
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, recordingSid: String, objectKey: String, jobID: String?, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.recordingSid = recordingSid
        self.objectKey = objectKey
        self.jobID = jobID
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// `/r/{id}` under the service's public URL.
    public func url(appURL: String) -> String {
        appURL + Self.pathPrefix + id
    }

    public static let pathPrefix = "/r/"

    /// 18 random bytes: 144 bits, 24 characters of base64url.
    public static let idBytes = 18
    public static let idLength = 24

    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<idBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// Whether `text` has an id's form, judged by Unicode scalar (a lookalike letter is no id).
    public static func isWellFormed(_ text: Substring) -> Bool {
        text.unicodeScalars.count == idLength && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
        }
    }

    /// The id in a URL or a path that holds a stable link (`…/r/{id}`), if any.
    public static func id(in text: String) -> String? {
        guard let range = text.range(of: pathPrefix, options: .backwards) else { return nil }
        let tail = text[range.upperBound...].prefix { !$0.isWhitespace && $0 != "?" && $0 != "#" }
        return isWellFormed(tail) ? String(tail) : nil
    }
}

/// One open of a stable link, as the access audit keeps it.
public struct LinkOpen: Sendable, Equatable, Codable {
    /// What the service answered.
    public enum Answer: String, Sendable, CaseIterable, Codable {
        /// 302 to a fresh presigned URL.
        case redirected
        /// 410: revoked (`recops recordings revoke`), or the recording was erased.
        case revoked
        /// 410: older than `recordings.link_max_age`.
        case expired
        /// 410: no link has this id (the answer is the revoked one: it never says which).
        case unknown
        /// 429: the client opened too many links this minute.
        case throttled
        /// 302 to the sign-in page (`link_access: login`).
        case loginRequired = "login_required"
        /// 503: the link exists, but no URL could be signed (credentials, the store).
        case failed
    }

    public var at: Date
    /// nil for an id no link has (a guess is not kept).
    public var linkID: String?
    public var recordingSid: String?
    public var objectKey: String?
    public var jobID: String?
    /// The client's address (`LinkClient`), and its network (/24 or /48) for the new-network check.
    public var client: String
    public var network: String
    public var userAgent: String
    /// A short digest of the sign-in session, never the cookie.
    public var session: String?
    public var answer: Answer

    public init(at: Date, linkID: String?, recordingSid: String?, objectKey: String?, jobID: String?, client: String, network: String,
                userAgent: String, session: String?, answer: Answer) {
        self.at = at
        self.linkID = linkID
        self.recordingSid = recordingSid
        self.objectKey = objectKey
        self.jobID = jobID
        self.client = client
        self.network = network
        self.userAgent = userAgent
        self.session = session
        self.answer = answer
    }
}

/// The store's part for stable links and their audit (both engines implement it; `JobStore`
/// refines it). Links are not pruned with the jobs (`store.retention`): a link in a year-old
/// history must still open. Every error thrown is a `JobStoreError`.
public protocol LinkStore: Sendable {
    /// The recording's link, made with a new random id when it has none: a retried history step
    /// gets the same one, so it writes the same line.
    func link(recordingSid: String, objectKey: String, jobID: String?, at now: Date) async throws -> RecordingLink
    func link(id: String) async throws -> RecordingLink?
    /// The links of these recordings, those that have one.
    func links(recordingSids: [String]) async throws -> [RecordingLink]
    /// The links of a job's recordings, those pruned from the store's jobs included.
    func links(jobID: String) async throws -> [RecordingLink]
    /// Revokes the recordings' links (a revoked one stays revoked); returns how many were newly revoked.
    func revokeLinks(recordingSids: [String], at now: Date) async throws -> Int
    func recordOpen(_ open: LinkOpen) async throws
    /// Opens between `from` and `to`, optionally of one job or one client, oldest first, at most `limit`.
    func opens(from: Date, to: Date, jobID: String?, client: String?, limit: Int) async throws -> [LinkOpen]
    /// How many distinct recordings `client` opened (answered with the recording) in `from`…`to`:
    /// one indexed count, cheap enough to run after every open.
    func distinctRecordingsOpened(client: String, from: Date, to: Date) async throws -> Int
    /// Whether any open from `network` happened before `date` (and whether any open at all did).
    func networkSeen(_ network: String, before date: Date) async throws -> (network: Bool, any: Bool)
    /// Deletes opens older than `date` (`audit.retention`); returns how many.
    func pruneOpens(before date: Date) async throws -> Int
}
