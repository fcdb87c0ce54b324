import Foundation

/// `application/x-www-form-urlencoded`, as Twilio sends webhooks and takes updates.
public enum FormEncoding {
    private static let allowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()

    public static func encode(_ parameters: [(name: String, value: String)]) -> String {
        parameters.map { "\(escape($0.name))=\(escape($0.value))" }.joined(separator: "&")
    }

    public static func escape(_ text: String) -> String {
        // CharacterSet.alphanumerics includes non-ASCII letters: encode everything outside ASCII.
        var output = ""
        for scalar in text.unicodeScalars {
            if scalar.isASCII, allowed.contains(scalar) {
                output.unicodeScalars.append(scalar)
            } else {
                for byte in String(scalar).utf8 { output += String(format: "%%%02X", byte) }
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
