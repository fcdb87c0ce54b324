/// Airtable's published limits (../shared/contracts/README.md), in one place: the client keeps
/// to them and the sandbox enforces them.
public enum AirtableLimits {
    /// Records in one batch update (more: 422).
    public static let batchSize = 10
    /// A long text (`multilineText`) field's capacity (more: 422 `INVALID_VALUE_FOR_COLUMN`).
    public static let longTextCharacters = 100_000
    /// The longest URL Airtable serves; a longer list request goes as `POST …/listRecords`.
    public static let urlCharacters = 16_000
    /// Where the client switches to `POST …/listRecords`, with room to spare (Airtable's own
    /// JavaScript client switches at 15,000).
    public static let urlCharactersForGET = 15_000
    /// Requests per second per base, and per personal access token over all its bases.
    public static let requestsPerSecondPerBase = 5
    public static let requestsPerSecondPerToken = 50

    /// A text's length as Airtable counts it. Airtable runs on JavaScript, whose string length
    /// counts UTF-16 code units: an emoji outside the Basic Multilingual Plane counts two. Never
    /// fewer than the Unicode scalars, so a text this measure lets through cannot be over the cap
    /// whichever of the two Airtable uses.
    public static func length(_ text: String) -> Int { text.utf16.count }
}
