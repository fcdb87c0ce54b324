/// `${VAR}` and `${VAR:-default}` substitution from the environment, inside one scalar.
///
/// It runs on scalars after YAML parsing, not on the file text, so positions stay exact and a
/// value can never inject YAML structure. `$${` writes a literal `${`.
enum Interpolation {
    struct Failure: Error, Equatable {
        var message: String
        /// Scalars into the value where the `${` stands.
        var offset: Int
    }

    /// Replaces every reference; the first unset variable without a default fails.
    static func expand(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "$", index + 2 < scalars.count, scalars[index + 1] == "$", scalars[index + 2] == "{" {
                output.append(contentsOf: "${".unicodeScalars)
                index += 3
                continue
            }
            guard scalar == "$", index + 1 < scalars.count, scalars[index + 1] == "{" else {
                output.append(scalar)
                index += 1
                continue
            }
            guard let close = scalars[(index + 2)...].firstIndex(of: "}") else {
                return .failure(Failure(message: "'${' is not closed by '}'", offset: index))
            }
            let body = String(String.UnicodeScalarView(scalars[(index + 2)..<close]))
            let name: String
            let fallback: String?
            if let range = body.range(of: ":-") {
                name = String(body[..<range.lowerBound])
                fallback = String(body[range.upperBound...])
            } else {
                name = body
                fallback = nil
            }
            guard isVariableName(name) else {
                return .failure(Failure(
                    message: "'${\(body)}' is not a variable reference: use ${NAME} or ${NAME:-default} (letters, digits, underscore)",
                    offset: index))
            }
            // As in the shell's `:-`, an empty variable counts as unset.
            if let value = environment[name], !value.isEmpty {
                output.append(contentsOf: value.unicodeScalars)
            } else if let fallback {
                output.append(contentsOf: fallback.unicodeScalars)
            } else {
                return .failure(Failure(
                    message: "environment variable \(name) is not set; export it, or give a default as ${\(name):-value}",
                    offset: index))
            }
            index = close + 1
        }
        return .success(String(output))
    }

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic && first.isASCII else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }
}
