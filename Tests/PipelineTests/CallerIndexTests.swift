import Foundation
import Pipeline
import Testing

@Suite struct CallerIndexTests {
    static let key = try! CallerIndex.Key("a-test-privacy-key-of-enough-bytes-0123")

    @Test func aNumberHashesTheSameHoweverItIsWritten() {
        let index = CallerIndex(current: Self.key)
        let hash = index.hash("+14155550111")
        for written in ["+1 415 555 0111", "+1 (415) 555-0111", " +1.415.555.0111\n"] { #expect(index.hash(written) == hash) }
        #expect(index.hash("+14155550112") != hash)
        #expect(hash.hasPrefix(Self.key.id + ":") && Self.key.id.count == 8)
        #expect(!hash.contains("4155550111"))
        // By scalar: full-width digits are no digits of a number, and "client:" addresses stay as given.
        #expect(CallerIndex.normalized("+１４１５５５５０１１１") == "+１４１５５５５０１１１")
        #expect(index.hash("+１４１５５５５０１１１") != hash)
        #expect(CallerIndex.normalized("client:alice") == "client:alice")
    }

    @Test func anotherKeyGivesAnotherHashAndLookupsTryEveryKey() throws {
        let other = try CallerIndex.Key("another-test-privacy-key-of-enough-bytes")
        let rotated = CallerIndex(current: other, previous: [Self.key])
        let old = CallerIndex(current: Self.key).hash("+14155550111")
        #expect(rotated.hash("+14155550111") != old)
        #expect(rotated.hashes("+14155550111") == [rotated.hash("+14155550111"), old])
        #expect(rotated.isStale(old) && !rotated.isStale(rotated.hash("+1")))
    }

    @Test func theEnvironmentGivesTheKeyAndAShortKeyIsRefused() throws {
        #expect(try CallerIndex(environment: [:]) == nil)
        #expect(try CallerIndex(environment: ["RECOPS_PRIVACY_KEY": ""]) == nil)
        let index = try #require(try CallerIndex(environment: ["RECOPS_PRIVACY_KEY": "a-test-privacy-key-of-enough-bytes-0123",
                                                               "RECOPS_PRIVACY_PREVIOUS_KEYS": "another-test-privacy-key-of-enough-bytes,"]))
        #expect(index.current.id == Self.key.id && index.previous.count == 1)
        do {
            _ = try CallerIndex(environment: ["RECOPS_PRIVACY_KEY": "short"])
            Issue.record("a 5-byte key was taken")
        } catch {
            #expect(error.description.contains("at least 32") && !error.description.contains("short"))
        }
        #expect(CallerIndex.problem("+1\u{202E}4155550111") != nil && CallerIndex.problem("  ") != nil && CallerIndex.problem("+14155550111") == nil)
    }
}
