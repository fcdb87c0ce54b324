/// The one loop under every escaper of values from outside (formulas, XML, HTML, workflow
/// commands): it walks Unicode scalars, never `Character`s, because a quote or `<` followed by a
/// combining mark is one grapheme, and a loop over graphemes never sees it.
public enum ScalarEscaping {
    /// `text` with each scalar for which `replacement` answers a string replaced by it.
    public static func escape(_ text: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if let replaced = replacement(scalar) {
                output.append(contentsOf: replaced.unicodeScalars)
            } else {
                output.append(scalar)
            }
        }
        return String(output)
    }
}
