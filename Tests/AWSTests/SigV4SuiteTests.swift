import Foundation
import RecopsTesting
import Testing
@testable import AWS

/// AWS's own Signature Version 4 suite (Tests/Fixtures/vectors/sigv4), every case, both variants.
@Suite struct SigV4SuiteTests {
    static let suiteDirectory = TestFixtures.sigV4Suite

    static var caseNames: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: suiteDirectory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    struct Vector {
        var signer: SigV4Signer
        var request: SigV4Signer.Request
        var options: SigV4Signer.Options
        var date: Date
        var expires: Int
        var directory: URL

        func expected(_ file: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        }
    }

    @Test func theSuiteIsThere() {
        #expect(Self.caseNames.count == 38)
    }

    @Test(arguments: caseNames) func headerSigning(_ name: String) throws {
        let vector = try Self.load(name)
        let signature = vector.signer.signHeaders(vector.request, date: vector.date, options: vector.options)
        #expect(signature.canonicalRequest == (try vector.expected("header-canonical-request.txt")))
        #expect(signature.stringToSign == (try vector.expected("header-string-to-sign.txt")))
        #expect(signature.signature == (try vector.expected("header-signature.txt")))
        let signedRequest = try vector.expected("header-signed-request.txt")
        let authorization = try #require(signature.headers.first { $0.name == "Authorization" })
        #expect(signedRequest.contains("Authorization:\(authorization.value)\n"))
    }

    @Test(arguments: caseNames) func querySigning(_ name: String) throws {
        let vector = try Self.load(name)
        let signature = vector.signer.presign(vector.request, date: vector.date, expires: vector.expires, options: vector.options)
        #expect(signature.canonicalRequest == (try vector.expected("query-canonical-request.txt")))
        #expect(signature.stringToSign == (try vector.expected("query-string-to-sign.txt")))
        #expect(signature.signature == (try vector.expected("query-signature.txt")))
        // The suite's URL lists the same items in another order, and leaves UTF-8 unencoded.
        let decoded = { (items: [String]) in Set(items.map { $0.removingPercentEncoding ?? $0 }) }
        let signedLine = try vector.expected("query-signed-request.txt").split(separator: "\n")[0]
        let url = signedLine.split(separator: " ").dropFirst().dropLast().joined(separator: " ")
        let expectedItems = decoded((url.split(separator: "?", maxSplits: 1).last ?? "").split(separator: "&").map(String.init))
        #expect(decoded(signature.query.split(separator: "&").map(String.init)) == expectedItems)
    }

    /// Reads a case folder: context.json and request.txt.
    static func load(_ name: String) throws -> Vector {
        let directory = suiteDirectory.appendingPathComponent(name)
        struct Context: Decodable {
            struct Credentials: Decodable {
                var access_key_id: String
                var secret_access_key: String
                var token: String?
            }
            var credentials: Credentials
            var expiration_in_seconds: Int
            var normalize: Bool
            var region: String
            var service: String
            var sign_body: Bool
            var timestamp: String
            var omit_session_token: Bool?
        }
        let context = try JSONDecoder().decode(Context.self, from: Data(contentsOf: directory.appendingPathComponent("context.json")))
        let raw = try String(contentsOf: directory.appendingPathComponent("request.txt"), encoding: .utf8)

        let (head, body) = raw.range(of: "\n\n").map { (String(raw[..<$0.lowerBound]), String(raw[$0.upperBound...])) } ?? (raw, "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        let pathPart = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query: [(name: String, value: String)] = pathPart.count > 1
            ? pathPart[1].split(separator: "&").map { item in
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
                return (name: pair[0], value: pair.count > 1 ? pair[1] : "")
            }
            : []
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line  // obs-fold continuation
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
            }
        }
        let formatter = ISO8601DateFormatter()
        return Vector(
            signer: SigV4Signer(
                credentials: AWSCredentials(accessKeyID: context.credentials.access_key_id, secretAccessKey: context.credentials.secret_access_key, sessionToken: context.credentials.token),
                region: context.region, service: context.service),
            request: SigV4Signer.Request(method: method, path: String(pathPart[0]), query: query, headers: headers, payloadHash: SigV4Signer.hexSHA256(Data(body.utf8))),
            options: SigV4Signer.Options(normalizePath: context.normalize, addContentHashHeader: context.sign_body, omitSessionTokenFromSignature: context.omit_session_token ?? false),
            date: try #require(formatter.date(from: context.timestamp)),
            expires: context.expiration_in_seconds,
            directory: directory)
    }
}
