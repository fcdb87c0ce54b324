import Foundation
import RecopsTesting
import Testing

/// The repository stands alone: every fixture the tests read is inside it, and a missing one is
/// an error that names it (a crash would end the whole test run).
@Suite struct TestFixturesTests {
    @Test func everyFixtureTheTestsReadIsInTheRepository() throws {
        for relative in [TestFixtures.twilioSignatures, TestFixtures.sampleCall, "vectors/sigv4/get-vanilla/context.json", "README.md"] {
            #expect(try TestFixtures.data(relative).count > 0, "\(relative)")
        }
        #expect(!TestFixtures.directory.path.contains("/shared/"))
    }

    @Test func aMissingFixtureIsAnErrorNamingIt() {
        do {
            _ = try TestFixtures.url("vectors/no-such-file.json")
            Issue.record("a missing fixture was found")
        } catch let missing as TestFixtures.Missing {
            #expect(missing.description.contains("Tests/Fixtures/vectors/no-such-file.json"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
