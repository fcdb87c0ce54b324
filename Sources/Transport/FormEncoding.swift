import Foundation

/// `application/x-www-form-urlencoded`, as Twilio sends webhooks and takes updates, and the
/// percent-encoding every client shares.
public enum FormEncoding {
    public static func encode(_ parameters: [(name: String, value: String)]) -> String {
        parameters.map { "\(escape($0.name))=\(escape($0.value))" }.joined(separator: "&")
    }

    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    /// RFC 3986 percent-encoding: every byte but `A-Z a-z 0-9 - . _ ~`. The one encoder for form
    /// bodies, query strings, path segments and SigV4's canonical forms.
    public static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                output += String(format: "%%%02X", byte)
            }
        }
        return output
    }

    /// Parses a form body: `+` is a space, `%XX` a byte. Malformed escapes are an error, not a guess.
    public static func decode(_ body: String) -> [(name: String, value: String)]? {
        guard !body.isEmpty else { return [] }
        var result: [(name: String, value: String)] = []
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = unescape(String(parts[0])), let value = unescape(parts.count > 1 ? String(parts[1]) : "") else { return nil }
            result.append((name, value))
        }
        return result
    }

    static func unescape(_ text: String) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? (text.contains("%") ? nil : text)
    }
}
