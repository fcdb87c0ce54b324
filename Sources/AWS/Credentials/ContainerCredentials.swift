import Foundation
import Transport

/// ECS (and EKS Pod Identity) container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
/// below 169.254.170.2, or `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with the
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` header (or the token in `…_TOKEN_FILE`, read at each fetch).
public struct ContainerCredentials: CredentialSource {
    public static let relativeHost = URL(string: "http://169.254.170.2")!
    let url: URL
    let token: String?
    let tokenFile: String?
    let transport: any HTTPTransport

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// Over plain HTTP only the hosts the SDKs allow: loopback and the container agents' own.
    public static func allowedOverHTTP(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        // 127.0.0.0/8 as an IPv4 literal only: "127.0.0.1.example.com" is somebody's host name.
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        let loopbackIPv4 = octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        return bare == "localhost" || bare == "::1" || loopbackIPv4 || ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"].contains(bare)
    }

    public init(environment: [String: String], transport: any HTTPTransport = AsyncHTTPClientTransport.timingOut(after: 2),
                relativeHost: URL = ContainerCredentials.relativeHost) throws {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            guard let url = URL(string: relativeHost.absoluteString + (relative.hasPrefix("/") ? relative : "/" + relative)) else {
                throw Refused(description: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a path")
            }
            self.url = url
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], let url = URL(string: full), let scheme = url.scheme, let host = url.host {
            guard scheme == "https" || (scheme == "http" && Self.allowedOverHTTP(host)) else {
                throw Refused(description: "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to loopback or the container agent (169.254.170.2, 169.254.170.23), not \(scheme)://\(host)")
            }
            self.url = url
        } else {
            throw Refused(description: "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor a usable AWS_CONTAINER_CREDENTIALS_FULL_URI is set")
        }
        token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        self.transport = transport
    }

    public var name: String { "container credentials (\(url.scheme ?? "http")://\(url.host ?? "")\(url.port.map { ":\($0)" } ?? "")\(url.path))" }

    public func fetch() async throws -> AWSCredentials {
        var headers: [(name: String, value: String)] = [(name: "Accept", value: "application/json")]
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CredentialsError(source: name, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(tokenFile)")
            }
            headers.append((name: "Authorization", value: text.trimmingCharacters(in: .whitespacesAndNewlines)))
        } else if let token {
            headers.append((name: "Authorization", value: token))
        }
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(method: "GET", url: url, headers: headers))
        } catch {
            throw CredentialsError(source: name, "no answer: \(error)")
        }
        guard response.status == 200 else {
            throw CredentialsError(source: name, "answered HTTP \(response.status)")
        }
        return try TemporaryCredentialsDocument.decode(response.body, source: name)
    }
}

/// The JSON the container agents, IMDS and `credential_process` answer with.
enum TemporaryCredentialsDocument {
    static func decode(_ body: Data, source: String, tokenKey: String = "Token") throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw CredentialsError(source: source, "the answer is not a JSON object")
        }
        if let code = object["Code"] as? String, code != "Success" {
            throw CredentialsError(source: source, "answered Code \(code)\((object["Message"] as? String).map { ": \($0)" } ?? "")")
        }
        guard let key = object["AccessKeyId"] as? String, !key.isEmpty, let secret = object["SecretAccessKey"] as? String, !secret.isEmpty else {
            throw CredentialsError(source: source, "the answer has no AccessKeyId and SecretAccessKey")
        }
        var expiration: Date?
        if let text = object["Expiration"] as? String {
            guard let date = AWSTimestamp.parse(text) else { throw CredentialsError(source: source, "Expiration '\(text)' is not an ISO 8601 time") }
            expiration = date
        }
        let token = (object[tokenKey] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }
}
