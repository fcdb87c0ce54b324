/// A declared thing, named as plan and verify print it: `s3.bucket/acme-recordings`.
public struct ResourceID: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public var kind: String
    public var name: String

    public init(_ kind: String, _ name: String) {
        self.kind = kind
        self.name = name
    }

    public var description: String { "\(kind)/\(name)" }

    public static func < (a: ResourceID, b: ResourceID) -> Bool { a.description < b.description }
}
