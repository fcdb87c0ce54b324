import Foundation

/// Finds the first YAML anchor (`&name`) in a text, before Yams composes it.
///
/// The spec supports no anchors or aliases, and they must be refused before Yams sees them:
/// Yams hands an alias back as the anchored node itself and hashes mapping keys to find
/// duplicates, so an alias used as a key (`*h: 1`, found by libFuzzer) hashes the whole expanded
/// tree: nine aliases of nine, eight deep, is minutes of work from 700 bytes. Without an anchor
/// no alias can resolve (Yams refuses it at once), so anchors are what is looked for.
///
/// A small scanner, not a parser: it skips comments, quoted scalars (across lines) and block
/// scalars (`|`, `>`), and takes `&` followed by a name as an anchor where a node may start (line
/// start, after whitespace, `[`, `{` or `,`). Plain text such as "Tom &Jerry" is taken as an
/// anchor too; the message says to quote it.
enum YAMLAnchors {
    static func first(in text: String) -> (line: Int, column: Int)? {
        var quote: Character?  // inside a quoted scalar, across lines
        var blockIndent: Int?  // inside a block scalar: lines indented more than this
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let characters = Array(line)
            let indent = characters.prefix { $0 == " " }.count
            if let parent = blockIndent {
                if characters.allSatisfy({ $0 == " " || $0 == "\r" }) || indent > parent { continue }
                blockIndent = nil
            }
            var previous: Character = " "
            var position = 0
            var lastSignificant: Character?
            while position < characters.count {
                let character = characters[position]
                if let open = quote {
                    if open == "\"", character == "\\" {
                        position += 2
                        continue
                    }
                    if character == open {
                        if open == "'", position + 1 < characters.count, characters[position + 1] == "'" {
                            position += 2
                            continue
                        }
                        quote = nil
                    }
                } else if character == "#", previous == " " || previous == "\t" {
                    break
                } else if (character == "\"" || character == "'"), " \t[{,:-?".contains(previous) {
                    quote = character
                } else if character == "&", " \t[{,".contains(previous), position + 1 < characters.count,
                          !" \t[]{},".contains(characters[position + 1]) {
                    return (index + 1, position + 1)
                }
                if character != " ", character != "\t", character != "\r" { lastSignificant = character }
                previous = character
                position += 1
            }
            // `key: |`, `- >-`, `key: |2`: the lines after it, indented more, are text.
            if quote == nil, lastSignificant != nil {
                let trimmed = String(characters).trimmingTrailingComment()
                if trimmed.range(of: #"(^|[\s:-])[|>][-+0-9]*$"#, options: .regularExpression) != nil {
                    blockIndent = indent
                }
            }
        }
        return nil
    }
}

private extension String {
    /// The line without a trailing ` # comment` and trailing blanks (quotes are not considered:
    /// used only on lines that end outside any quote).
    func trimmingTrailingComment() -> String {
        var text = self
        if let range = text.range(of: #"(^|\s)#.*$"#, options: .regularExpression) { text.removeSubrange(range) }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return text
    }
}
