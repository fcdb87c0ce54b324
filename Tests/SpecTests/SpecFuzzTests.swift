import Foundation
import RecopsTesting
@testable import Spec
import Testing

/// Property tests beside the libFuzzer target (Fuzz/SpecFuzzer, run by scripts/fuzz), in every
/// test run: whatever the bytes, the loader answers, in bounded time, either a spec or errors that
/// each name the file, a line and a column. The corpus of hand-made breakage is kept in
/// Tests/Fixtures/fuzz/spec; the mutations of the real spec are seeded, so a failure replays.
@Suite struct SpecFuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let corpus = root.appendingPathComponent("Tests/Fixtures/fuzz/spec")
    static let environment = ["APP_URL": "https://rec.example.com", "S3_BUCKET": "acme-call-recordings", "TWILIO_PHONE_NUMBER": "+15005550006",
                              "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN"]

    /// Fails the test instead of hanging it.
    static func withinAMinute<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { body() }
            group.addTask {
                try await Task.sleep(for: .seconds(60))  // generous: on two loaded cores the timer and the loader share threads
                return nil
            }
            guard let first = try await group.next(), let value = first else {
                group.cancelAll()
                throw HangError(description: "\(name) did not finish within 60 s")
            }
            group.cancelAll()
            return value
        }
    }

    struct HangError: Error, CustomStringConvertible { var description: String }

    static func check(_ result: (loaded: SpecLoader.Loaded?, diagnostics: [Diagnostic]), file: String) {
        #expect(result.loaded != nil || result.diagnostics.hasErrors, "\(file): neither a spec nor an error")
        for diagnostic in result.diagnostics {
            #expect(diagnostic.location.file == file)
            #expect(diagnostic.location.line >= 1 && diagnostic.location.column >= 1, "\(diagnostic)")
            #expect(!diagnostic.message.isEmpty)
        }
    }

    @Test(arguments: try! FileManager.default.contentsOfDirectory(atPath: SpecFuzzTests.corpus.path).sorted())
    func theCorpus(_ name: String) async throws {
        let path = Self.corpus.appendingPathComponent(name).path
        let result = try await Self.withinAMinute(name) { SpecLoader(environment: Self.environment).validate(path: path) }
        Self.check(result, file: path)
        #expect(result.diagnostics.hasErrors, "\(name) is broken on purpose")
    }

    @Test func theAliasBombIsRefusedWithItsPosition() async throws {
        let path = Self.corpus.appendingPathComponent("alias-bomb.yaml").path
        let result = try await Self.withinAMinute("alias-bomb") { SpecLoader(environment: Self.environment).validate(path: path) }
        #expect(result.diagnostics.map(\.message).contains { $0.hasPrefix("YAML anchors (&name) and aliases are not supported") })
        #expect(result.diagnostics.first.map { ($0.location.line, $0.location.column) } ?? (0, 0) == (2, 4))
    }

    /// What libFuzzer found: an alias used as a mapping key, which Yams hashes expanded (37 s).
    @Test func anAliasBombUsedAsAKeyIsRefusedBeforeYamsExpandsIt() async throws {
        let path = Self.corpus.appendingPathComponent("alias-bomb-as-key.yaml").path
        let result = try await Self.withinAMinute("alias-bomb-as-key") { SpecLoader(environment: Self.environment).validate(path: path) }
        #expect(result.diagnostics.map(\.message).contains { $0.hasPrefix("YAML anchors (&name) and aliases are not supported") })
    }

    @Test(arguments: [
        ("url: \"https://x.example.com/?a=1&b=2\"\n", false),
        ("url: https://x.example.com/?a=1&b=2\n", false),
        ("name: 'R &D'\n", false),
        ("note: |\n  &anchor-looking text\nnext: 1\n", false),
        ("a: 1  # &not-an-anchor\n", false),
        ("a: &x 1\n", true),
        ("- &x [1]\n", true),
        ("a: [1, &x 2]\n", true),
        ("a: !!str &x b\n", true),
        ("note: |\n  text\nb: &x 1\n", true),
    ])
    func anchorsAreFoundWhereANodeStartsOnly(text: String, isAnchor: Bool) {
        #expect((YAMLAnchors.first(in: text) != nil) == isAnchor, "\(text)")
    }

    static let yamlPieces = [":", " ", "\n", "-", "[", "]", "{", "}", "\"", "'", "&a", "*a", "#", "!!str", "${", "}", "\t", "? ", "|", ">", ",", "\u{0}", "é", "%"]

    @Test func thousandsOfMutationsOfTheRealSpec() async throws {
        let original = Array(try String(contentsOf: Self.root.appendingPathComponent("infra/policy.yaml"), encoding: .utf8))
        var generator = SeededGenerator(state: 20261125)
        var loaded = 0
        for round in 0..<1500 {
            var text = original
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let at = Int.random(in: 0..<max(1, text.count), using: &generator)
                switch Int.random(in: 0..<5, using: &generator) {
                case 0: text.remove(at: min(at, text.count - 1))
                case 1: text.insert(contentsOf: Self.yamlPieces.randomElement(using: &generator)!, at: at)
                case 2: text = Array(text.prefix(at))
                case 3: text.insert(contentsOf: text[at..<min(text.count, at + 40)], at: at)
                default: text[min(at, text.count - 1)] = Self.yamlPieces.randomElement(using: &generator)!.first!
                }
                if text.isEmpty { text = ["x"] }
            }
            let yaml = String(text)
            let name = "mutation-\(round).yaml"
            let result = try await Self.withinAMinute(name) { SpecLoader(environment: Self.environment).validate(yaml: yaml, file: name) }
            Self.check(result, file: name)
            if result.loaded != nil { loaded += 1 }
        }
        // Some mutations only touch comments or spaces: the loader must still accept those.
        #expect(loaded > 0)
    }
}
