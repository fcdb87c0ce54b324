/// Bucket settings as S3 reports them, each limited to what recops reads or writes.
public enum S3 {
    public struct Encryption: Sendable, Equatable {
        public var algorithm: String
        public var kmsKeyID: String?
        public var bucketKeyEnabled: Bool?

        public init(algorithm: String, kmsKeyID: String? = nil, bucketKeyEnabled: Bool? = nil) {
            self.algorithm = algorithm
            self.kmsKeyID = kmsKeyID
            self.bucketKeyEnabled = bucketKeyEnabled
        }
    }

    public struct PublicAccessBlock: Sendable, Equatable {
        public var blockPublicAcls: Bool
        public var ignorePublicAcls: Bool
        public var blockPublicPolicy: Bool
        public var restrictPublicBuckets: Bool

        public init(blockPublicAcls: Bool, ignorePublicAcls: Bool, blockPublicPolicy: Bool, restrictPublicBuckets: Bool) {
            self.blockPublicAcls = blockPublicAcls
            self.ignorePublicAcls = ignorePublicAcls
            self.blockPublicPolicy = blockPublicPolicy
            self.restrictPublicBuckets = restrictPublicBuckets
        }
    }

    public struct LifecycleRule: Sendable, Equatable {
        public var id: String
        public var prefix: String
        public var enabled: Bool
        public var transitions: [Transition]
        public var expirationDays: Int?
        /// `ObjectSizeGreaterThan` in the rule's filter, bytes.
        public var minObjectSize: Int?

        public struct Transition: Sendable, Equatable {
            public var days: Int
            public var storageClass: String

            public init(days: Int, storageClass: String) {
                self.days = days
                self.storageClass = storageClass
            }
        }

        public init(id: String, prefix: String, enabled: Bool = true, transitions: [Transition] = [], expirationDays: Int? = nil, minObjectSize: Int? = nil) {
            self.minObjectSize = minObjectSize
            self.id = id
            self.prefix = prefix
            self.enabled = enabled
            self.transitions = transitions
            self.expirationDays = expirationDays
        }
    }

    /// What HEAD tells about an object.
    public struct ObjectInfo: Sendable, Equatable {
        public var size: Int
        public var contentType: String?
        public var serverSideEncryption: String?
        public var checksumSHA256: String?
        public var eTag: String?
        /// User metadata (`x-amz-meta-*`), names in lower case.
        public var metadata: [String: String] = [:]
    }
}
