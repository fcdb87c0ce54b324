/// Keeps secrets out of logs and stored errors: a URL's query (presigned signatures, tokens) is
/// cut, whatever the text around it.
public enum Redaction {
    /// `https://host/path?X-Amz-Signature=…` becomes `https://host/path?…`.
    public static func text(_ text: String) -> String {
        var output = ""
        var inQuery = false
        var inURL = false
        var previous: Character = " "
        for character in text {
            if character.isWhitespace || character == "\"" || character == "'" || character == ")" || character == ">" {
                inURL = false
                inQuery = false
            } else if !inURL, character == "/", previous == "/" {
                inURL = true
            }
            if inURL, character == "?", !inQuery {
                inQuery = true
                output += "?…"
            } else if !inQuery {
                output.append(character)
            }
            previous = character
        }
        return output
    }

    public static func message(_ error: any Error) -> String {
        String(text("\(error)").prefix(500))
    }
}
