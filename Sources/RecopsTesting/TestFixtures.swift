import Foundation

/// The vectors and fixtures the tests read, kept inside the repository (`Tests/Fixtures`, see its
/// README for where each came from), so a clone with nothing beside it runs every test.
///
/// A missing file is a thrown error naming the file, never a crash: one test fails with the
/// reason and the rest of the run goes on.
public enum TestFixtures {
    public static let directory = ProvisionFixture.repositoryRoot.appendingPathComponent("Tests/Fixtures")

    public struct Missing: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "test fixture \(path) is missing (see Tests/Fixtures/README.md)" }
    }

    /// `Tests/Fixtures/<relative>`, which must exist.
    public static func url(_ relative: String) throws -> URL {
        let url = directory.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else { throw Missing(path: "Tests/Fixtures/\(relative)") }
        return url
    }

    public static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: url(relative))
    }

    /// AWS's SigV4 suite.
    public static var sigV4Suite: URL { directory.appendingPathComponent("vectors/sigv4") }
    /// Signatures computed with Twilio's own library.
    public static let twilioSignatures = "vectors/twilio-signature.json"
    /// A real MP3 (espeak-ng speech encoded by lame).
    public static let sampleCall = "sample-call.mp3"
}
