import Crypto
import Foundation
import Transport

/// AWS Signature Version 4: header signing and presigned (query-string) URLs.
///
/// The date is a parameter (as in soto-core's signer), so AWS's own test suite checks exact
/// signatures. Paths and query items come in decoded; the signer encodes them, and the clients put
/// the same encoded forms on the wire (`canonicalPath`, `canonicalQuery`), so what is signed is what
/// is sent.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public struct Options: Sendable {
        /// Remove `.`/`..` segments and repeated slashes. Every service but S3.
        public var normalizePath: Bool = true
        /// Add `x-amz-content-sha256` (header signing). S3 requires it.
        public var addContentHashHeader: Bool = false
        /// Add the session token after signing, unsigned (some services want it so).
        public var omitSessionTokenFromSignature: Bool = false

        public init(normalizePath: Bool = true, addContentHashHeader: Bool = false, omitSessionTokenFromSignature: Bool = false) {
            self.normalizePath = normalizePath
            self.addContentHashHeader = addContentHashHeader
            self.omitSessionTokenFromSignature = omitSessionTokenFromSignature
        }
    }

    /// What to sign: a request in decoded parts.
    public struct Request: Sendable {
        public var method: String
        /// Decoded path, `/` separated (`/recordings/2024/a b.mp3`).
        public var path: String
        /// Decoded query items, in any order.
        public var query: [(name: String, value: String)]
        /// Every header to sign, `host` included.
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The parts of a signature, exposed so tests can compare each step with the suite.
    public struct Signature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        /// Header signing: the headers to add. Presigning: empty.
        public var headers: [(name: String, value: String)]
        /// Presigning: the complete query (encoded, ready for the URL). Header signing: the request's.
        public var query: String
    }

    public static let emptyPayloadHash = hexSHA256(Data())
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    // MARK: Signing

    /// Signs in the `Authorization` header; returns the headers to add.
    public func signHeaders(_ request: Request, date: Date, options: Options = Options()) -> Signature {
        let timestamp = Self.timestamp(date)
        var headers = request.headers
        headers.append((name: "X-Amz-Date", value: timestamp))
        if options.addContentHashHeader {
            headers.append((name: "X-Amz-Content-Sha256", value: request.payloadHash))
        }
        if let token = credentials.sessionToken, !options.omitSessionTokenFromSignature {
            headers.append((name: "X-Amz-Security-Token", value: token))
        }
        let canonicalQuery = Self.canonicalQuery(request.query)
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            request.method, Self.canonicalPath(request.path, normalize: options.normalizePath), canonicalQuery,
            canonicalHeaders, signedHeaders, request.payloadHash,
        ].joined(separator: "\n")
        let (stringToSign, signature) = sign(canonicalRequest, timestamp: timestamp)
        var added = Array(headers.dropFirst(request.headers.count))
        if let token = credentials.sessionToken, options.omitSessionTokenFromSignature {
            added.append((name: "X-Amz-Security-Token", value: token))
        }
        added.append((name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(timestamp)), SignedHeaders=\(signedHeaders), Signature=\(signature)"))
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, headers: added, query: canonicalQuery)
    }

    /// A presigned request: the query carries the signature, valid for `expires` seconds.
    public func presign(_ request: Request, date: Date, expires: Int, options: Options = Options()) -> Signature {
        let timestamp = Self.timestamp(date)
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        var query = request.query
        query.append((name: "X-Amz-Algorithm", value: "AWS4-HMAC-SHA256"))
        query.append((name: "X-Amz-Credential", value: "\(credentials.accessKeyID)/\(scope(timestamp))"))
        query.append((name: "X-Amz-Date", value: timestamp))
        query.append((name: "X-Amz-Expires", value: String(expires)))
        query.append((name: "X-Amz-SignedHeaders", value: signedHeaders))
        if let token = credentials.sessionToken, !options.omitSessionTokenFromSignature {
            query.append((name: "X-Amz-Security-Token", value: token))
        }
        let canonicalQuery = Self.canonicalQuery(query)
        let canonicalRequest = [
            request.method, Self.canonicalPath(request.path, normalize: options.normalizePath), canonicalQuery,
            canonicalHeaders, signedHeaders, request.payloadHash,
        ].joined(separator: "\n")
        let (stringToSign, signature) = sign(canonicalRequest, timestamp: timestamp)
        var final = canonicalQuery
        if let token = credentials.sessionToken, options.omitSessionTokenFromSignature {
            final += "&X-Amz-Security-Token=\(Self.uriEncode(token))"
        }
        final += "&X-Amz-Signature=\(signature)"
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, headers: [], query: final)
    }

    private func scope(_ timestamp: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    private func sign(_ canonicalRequest: String, timestamp: String) -> (stringToSign: String, signature: String) {
        let stringToSign = ["AWS4-HMAC-SHA256", timestamp, scope(timestamp), Self.hexSHA256(Data(canonicalRequest.utf8))].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [String(timestamp.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key)
        return (stringToSign, Data(signature).hexString)
    }

    // MARK: Canonical forms

    /// `/a b/../c` → `/c` (normalised) and each segment percent-encoded once.
    public static func canonicalPath(_ path: String, normalize: Bool) -> String {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if normalize {
            var kept: [String] = []
            for segment in segments.dropFirst() {
                switch segment {
                case "", ".": continue
                case "..": _ = kept.popLast()
                default: kept.append(segment)
                }
            }
            let trailing = path.count > 1 && (path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")) && !kept.isEmpty
            segments = [""] + kept + (trailing ? [""] : [])
            if kept.isEmpty { return "/" }
        }
        let encoded = segments.map { uriEncode($0) }.joined(separator: "/")
        return encoded.isEmpty ? "/" : encoded
    }

    /// Sorted by encoded name, then value; every byte but the unreserved ones encoded.
    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = items.map { (name: uriEncode($0.name), value: uriEncode($0.value)) }
        let sorted = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// Lower-cased names, sorted; values trimmed with inner runs of white space folded; repeated
    /// names joined by commas.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var merged: [String: [String]] = [:]
        for header in headers {
            let words = header.value.split(whereSeparator: { (character: Character) -> Bool in character.isWhitespace })
            let value = words.joined(separator: " ")
            merged[header.name.lowercased(), default: []].append(value)
        }
        let names = merged.keys.sorted()
        let canonical = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    /// RFC 3986 encoding as SigV4 defines it: everything but `A-Z a-z 0-9 - . _ ~`.
    public static func uriEncode(_ text: String) -> String { FormEncoding.escape(text) }

    public static func hexSHA256(_ data: Data) -> String {
        Data(SHA256.hash(data: data)).hexString
    }

    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}

extension Data {
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(count * 2)
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
