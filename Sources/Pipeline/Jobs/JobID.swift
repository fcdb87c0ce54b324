import Foundation

/// A job id from outside (a `JobId` webhook parameter, `recordings link --job`): it ends up in
/// Airtable formulas, S3 metadata, alerts and log lines, so it is bounded and plain.
///
/// Counted in UTF-8 bytes, never in `Character`s: "J" followed by 5,000 combining marks is one
/// grapheme. Refused: control characters, line and paragraph separators (U+2028, U+2029, which
/// break log lines and JSON consumers) and format characters (bidi overrides, zero-width
/// characters), which make one id look like another.
public enum JobID {
    public static let maxBytes = 64

    /// The trimmed id, or nil when it is empty, too long, or carries a refused scalar.
    public static func validated(_ raw: String) -> String? {
        problem(raw) == nil ? raw.trimmingCharacters(in: .whitespaces) : nil
    }

    /// Why `raw` is refused, for a command's error message (nil: it is fine).
    public static func problem(_ raw: String) -> String? {
        let value = raw.trimmingCharacters(in: .whitespaces)
        if value.isEmpty { return "the job id is empty" }
        if value.utf8.count > maxBytes { return "the job id is \(value.utf8.count) bytes long (at most \(maxBytes) bytes of UTF-8)" }
        if let scalar = value.unicodeScalars.first(where: { !isAllowed($0) }) {
            return "the job id contains U+\(String(scalar.value, radix: 16, uppercase: true)), a control, separator or format character"
        }
        return nil
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: false
        default: true
        }
    }
}
