/// S3's general-purpose bucket naming rules. A violating name fails only at CreateBucket, after
/// half an apply; checking it first saves that.
enum BucketName {
    /// Why the name is not allowed, or nil when it is.
    static func problem(_ name: String) -> String? {
        guard (3...63).contains(name.count) else {
            return "bucket name '\(name)' is \(name.count) characters long; S3 needs 3 to 63"
        }
        if let bad = name.first(where: { !($0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".")) }) {
            return "bucket name '\(name)' contains '\(bad)'; S3 allows only lowercase letters, digits, hyphens and dots"
        }
        guard let first = name.first, let last = name.last,
              first.isLetter || first.isNumber, last.isLetter || last.isNumber else {
            return "bucket name '\(name)' must begin and end with a letter or digit"
        }
        if name.contains("..") {
            return "bucket name '\(name)' has two adjacent dots"
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) {
            return "bucket name '\(name)' is formatted as an IP address, which S3 forbids"
        }
        for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] where name.hasPrefix(prefix) {
            return "bucket name '\(name)' starts with the reserved prefix '\(prefix)'"
        }
        for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] where name.hasSuffix(suffix) {
            return "bucket name '\(name)' ends with the reserved suffix '\(suffix)'"
        }
        return nil
    }
}
