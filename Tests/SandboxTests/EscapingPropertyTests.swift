import Airtable
import Foundation
import RecopsTesting
@testable import Sandbox
import Testing
import Transport

/// Every escaper's output parses back to its input, over generated strings rich in what breaks
/// escapers that walk graphemes: quotes, backslashes and `<` fused with combining marks, line
/// breaks (`\r\n` is one `Character`), emoji sequences, zero-width joiners. The parsers on the
/// other side work by scalar too (the sandbox's formula parser once hid the escaping bug).
@Suite struct EscapingPropertyTests {
    static let pieces: [String] = ["\"", "'", "\\", "\n", "\r", "\r\n", "\t", "\u{0301}", "\u{0308}", "\u{20DD}", "a", "J", "-", "1", " ", "{", "}",
                                   "&", "=", ";", "<", ">", "é", "e\u{0301}", "👩‍👩‍👧", "\u{200D}", "\u{FE0F}", "\u{2028}", "%", "+", "#", "ß", "中"]

    static func strings(seed: UInt64, count: Int) -> [String] {
        var generator = SeededGenerator(state: seed)
        return (0..<count).map { _ in
            (0..<Int.random(in: 0...24, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
        }
    }

    /// The case that slipped through: a quote fused with a combining mark.
    static let fused = "J-1003\"\u{0301} & \\\"x"

    @Test func airtableFormulaLiteralsParseBackToTheirValue() {
        for value in Self.strings(seed: 11, count: 2000) + [Self.fused] {
            let formula = AirtableFormula.equals(field: "Job ID", value)
            let parsed = FormulaSubset.parseEquality(formula)
            #expect(parsed?.field == "Job ID", "\(formula.debugDescription)")
            #expect(parsed.map { Array($0.value.unicodeScalars) == Array(value.unicodeScalars) } == true, "\(value.debugDescription) → \(formula.debugDescription)")
        }
        #expect(AirtableFormula.string(Self.fused) == "\"J-1003\\\"\u{0301} & \\\\\\\"x\"")
    }

    @Test func airtableFieldNamesParseBackToTheirName() {
        for name in Self.strings(seed: 12, count: 1000) where !name.isEmpty {
            let parsed = FormulaSubset.parseEquality(AirtableFormula.equals(field: name, "v"))
            #expect(parsed.map { Array($0.field.unicodeScalars) == Array(name.unicodeScalars) } == true, "\(name.debugDescription)")
        }
    }

    /// The sandbox refuses what Airtable would: a literal that a fused quote ended early.
    @Test func theSandboxParserSeesAQuoteFusedWithAMark() {
        #expect(FormulaSubset.parseEquality("{Job ID} = \"J-1003\"\u{0301} & \"x\"") == nil)
    }

    @Test func xmlTextAndAttributesParseBackToTheirValue() throws {
        for value in Self.strings(seed: 13, count: 2000) + [Self.fused, "\u{0}\u{1}\u{FFFE}<"] {
            let escaped = XMLNode.escape(value)
            let document = "<a v=\"\(escaped)\" w='\(escaped)'>\(escaped)</a>"
            let node = try #require(XMLNode.parse(Data(document.utf8)), "\(value.debugDescription) → \(document.debugDescription)")
            let expected = String(String.UnicodeScalarView(value.unicodeScalars.map { XMLNode.isXMLCharacter($0) ? $0 : "\u{FFFD}" }))
            #expect(Array(node.attributes["v", default: ""].unicodeScalars) == Array(expected.unicodeScalars), "\(value.debugDescription)")
            #expect(Array(node.attributes["w", default: ""].unicodeScalars) == Array(expected.unicodeScalars), "\(value.debugDescription)")
            #expect(Array(node.text.unicodeScalars) == Array(expected.unicodeScalars), "\(value.debugDescription)")
        }
    }

    @Test func formsRoundTripAndSplitByByte() {
        for value in Self.strings(seed: 14, count: 1000) {
            let decoded = FormEncoding.decode(FormEncoding.encode([(name: "k\(value)", value: value)]))
            #expect(decoded?.count == 1)
            #expect(decoded.map { Array($0[0].value.unicodeScalars) == Array(value.unicodeScalars) } == true, "\(value.debugDescription)")
        }
        // A raw `&` fused with a combining mark still separates two parameters.
        let split = FormEncoding.decode("a=1&\u{0301}b=2")
        #expect(split?.map(\.name) == ["a", "\u{0301}b"])
    }
}
