import Foundation

/// `application/x-www-form-urlencoded`, as Twilio sends webhooks and takes updates, and the
/// percent-encoding every client shares.
public enum FormEncoding {
    public static func encode(_ parameters: [(name: String, value: String)]) -> String {
        parameters.map { "\(escape($0.name))=\(escape($0.value))" }.joined(separator: "&")
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    /// RFC 3986 percent-encoding: every byte but `A-Z a-z 0-9 - . _ ~`. The one encoder for form
    /// bodies, query strings, path segments and SigV4's canonical forms.
    public static func escape(_ text: String) -> String {
        // Bytes, not `String(format:)` per byte: SigV4 and the webhooks encode on every request.
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                output.append(byte)
            } else {
                output += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: output, as: UTF8.self)
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
