import Spec

/// What moto 5.2.1 cannot hold, removed from the project's spec before it meets moto. Each gap
/// is pinned by a test that fails once moto closes it, so nothing here outlives its reason.
public enum MotoGaps {
    /// moto accepts a lifecycle filter's `ObjectSizeGreaterThan` and forgets it (it keeps only
    /// And's Prefix and Tags), so an apply that sets it could never read it back. Pinned by
    /// S3ClientTests.bucketSettingsRoundTrip; the XML is tested against AWS's shapes instead.
    public static func lifecycle(_ spec: inout Spec) {
        guard let rules = spec.bucket?.lifecycle else { return }
        spec.bucket?.lifecycle = rules.map { var rule = $0; rule.minObjectSize = nil; return rule }
    }

    /// The same in the spec's text, for a test that hands the file to the binary. The line
    /// becomes a comment, so every other line keeps its number. Throws when the wording is gone.
    public static func lifecycle(text: String) throws -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let sizes = lines.indices.filter { lines[$0].trimmingPrefix(while: \.isWhitespace).hasPrefix("min_object_size:") }
        guard !sizes.isEmpty else { throw PipelineFixture.WordingDrifted(description: "the spec no longer sets min_object_size") }
        for index in sizes {
            let indent = lines[index].prefix(while: \.isWhitespace)
            lines[index] = "\(indent)# \(lines[index].dropFirst(indent.count)) (moto forgets the size filter)"
        }
        return lines.joined(separator: "\n")
    }
}
