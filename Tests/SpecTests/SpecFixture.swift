import Foundation

/// The project's real spec and the environment the runbook sets, as the base every case varies.
enum SpecFixture {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let policyPath = repositoryRoot.appendingPathComponent("infra/policy.yaml").path

    static var policyText: String {
        get throws { try String(contentsOfFile: policyPath, encoding: .utf8) }
    }

    static let environment: [String: String] = [
        "APP_URL": "https://rec.example.com",
        "S3_BUCKET": "acme-call-recordings",
        "TWILIO_PHONE_NUMBER": "+15005550006",
        "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN",
    ]

    /// 1-based line and column of the first occurrence of `marker` in `text`, counted
    /// independently of the YAML parser, in Unicode scalars as libyaml counts.
    static func position(of marker: String, in text: String) -> (line: Int, column: Int)? {
        guard let range = text.range(of: marker) else { return nil }
        let before = text[..<range.lowerBound]
        let line = before.filter { $0 == "\n" }.count + 1
        let lineStart = before.lastIndex(of: "\n").map { before.index(after: $0) } ?? before.startIndex
        return (line, before[lineStart...].unicodeScalars.count + 1)
    }
}
