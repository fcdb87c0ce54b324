/// A length of time written as `90s`, `15m`, `12h`, `7d` or a sum such as `1h30m`.
public struct SpecDuration: Sendable, Hashable, Codable, CustomStringConvertible {
    public var seconds: Int
    public let text: String

    public init?(_ text: String) {
        var total = 0
        var digits = ""
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            guard let value = Int(digits), value <= 10_000_000 else { return nil }
            total += value * unit
            digits = ""
        }
        guard digits.isEmpty, !text.isEmpty else { return nil }
        self.seconds = total
        self.text = text
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let duration = SpecDuration(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a duration"))
        }
        self = duration
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    public var description: String { text }
}
