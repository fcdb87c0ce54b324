import Testing
@testable import Spec

@Suite struct InterpolationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var environment: [String: String]
        var expected: Result<String, Interpolation.Failure>
        var testDescription: String { input }
    }

    static let cases: [Case] = [
        Case(input: "plain", environment: [:], expected: .success("plain")),
        Case(input: "${A}", environment: ["A": "x"], expected: .success("x")),
        Case(input: "a-${A}-${B}", environment: ["A": "1", "B": "2"], expected: .success("a-1-2")),
        Case(input: "${A:-d}", environment: [:], expected: .success("d")),
        Case(input: "${A:-d}", environment: ["A": ""], expected: .success("d")),
        Case(input: "${A:-}", environment: [:], expected: .success("")),
        Case(input: "${A:-x:-y}", environment: [:], expected: .success("x:-y")),
        Case(input: "cost $5", environment: [:], expected: .success("cost $5")),
        Case(input: "$${A}", environment: ["A": "x"], expected: .success("${A}")),
        Case(input: "ab${A}", environment: [:], expected: .failure(.init(message: "environment variable A is not set; export it, or give a default as ${A:-value}", offset: 2))),
        Case(input: "${A", environment: [:], expected: .failure(.init(message: "'${' is not closed by '}'", offset: 0))),
        Case(input: "x${1A}", environment: [:], expected: .failure(.init(message: "'${1A}' is not a variable reference: use ${NAME} or ${NAME:-default} (letters, digits, underscore)", offset: 1))),
    ]

    @Test(arguments: cases) func expands(_ test: Case) {
        #expect(Interpolation.expand(test.input, environment: test.environment) == test.expected)
    }

}
