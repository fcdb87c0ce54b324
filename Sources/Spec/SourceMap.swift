/// Where each value of the spec stands in its file, by path (`bucket.lifecycle[0].id`).
///
/// Semantic checks, plan and verify report against paths; this turns them back into positions.
public struct SourceMap: Sendable {
    public let file: String
    private var locations: [String: SourceLocation] = [:]

    public init(file: String) {
        self.file = file
    }

    mutating func record(_ path: String, _ location: SourceLocation) {
        locations[path] = location
    }

    /// The value's position; for a value the file leaves out (a default), its nearest written parent.
    public func location(of path: String) -> SourceLocation {
        var path = path
        while !path.isEmpty {
            if let location = locations[path] { return location }
            path = Self.parent(of: path)
        }
        return locations[""] ?? SourceLocation(file: file, line: 1, column: 1)
    }

    static func parent(of path: String) -> String {
        if path.hasSuffix("]"), let open = path.lastIndex(of: "[") { return String(path[..<open]) }
        if let dot = path.lastIndex(of: ".") { return String(path[..<dot]) }
        return ""
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
