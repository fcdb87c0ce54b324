/// A position in a spec file: what every diagnostic points at, so a person can jump to it.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    /// 1-based, as editors count.
    public var line: Int
    /// 1-based, counted in Unicode scalars (as libyaml does).
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    /// The same line, `offset` scalars further right (a `${VAR}` inside a scalar).
    func advanced(by offset: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + offset)
    }
}
