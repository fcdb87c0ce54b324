import AWS
import Spec

/// `s3.bucket/<name>`: the bucket and every setting the spec declares for it.
public struct S3BucketResource: Resource {
    public struct State: Equatable, Codable, Sendable {
        /// Observed only: where the bucket lives. A wrong region is a failed check, not a change.
        public var region: String?
        public var objectOwnership: String?
        public var encryption: Encryption?
        public var publicAccessBlock: PublicAccessBlock?
        /// Canonical statements; owned whole, so a statement added out of band is drift.
        public var policy: [JSONValue]?
        /// Rules sorted by id; owned whole.
        public var lifecycle: [LifecycleRule]?
        public var versioning: Bool?
        /// Object Lock, for legal holds. Only `true` is ever declared (S3 cannot turn it off);
        /// nil: not managed, and not read.
        public var objectLock: Bool? = nil

        public struct Encryption: Equatable, Codable, Sendable {
            public var algorithm: String
            public var kmsKeyId: String?
            public var bucketKeyEnabled: Bool?
        }

        public struct PublicAccessBlock: Equatable, Codable, Sendable {
            public var blockPublicAcls: Bool
            public var ignorePublicAcls: Bool
            public var blockPublicPolicy: Bool
            public var restrictPublicBuckets: Bool
        }

        public struct LifecycleRule: Equatable, Codable, Sendable, Hashable {
            public var id: String
            public var prefix: String
            public var enabled: Bool
            public var transitions: [Transition]
            public var expirationDays: Int?
            /// Only objects larger than this (bytes); nil: every size.
            public var minObjectSize: Int?

            public struct Transition: Equatable, Codable, Sendable, Hashable {
                public var days: Int
                public var storageClass: String
            }
        }
    }

    public let id: ResourceID
    public let part = SpecPart.aws
    public let specPath = "bucket"
    public let desired: State
    let name: String
    let region: String
    let s3: S3Client

    public init(spec: Spec.Bucket, region: String, policy: JSONValue, s3: S3Client) {
        name = spec.name
        self.region = region
        self.s3 = s3
        id = ResourceID("s3.bucket", spec.name)
        let statements: [JSONValue]
        if case .array(let items)? = PolicyDocument.canonical(policy)["Statement"] { statements = items } else { statements = [] }
        desired = State(
            region: nil,
            objectOwnership: spec.objectOwnership,
            encryption: .init(algorithm: spec.encryption.algorithm, kmsKeyId: spec.encryption.kmsKeyId, bucketKeyEnabled: spec.encryption.bucketKeyEnabled),
            publicAccessBlock: .init(
                blockPublicAcls: spec.publicAccessBlock.blockPublicAcls, ignorePublicAcls: spec.publicAccessBlock.ignorePublicAcls,
                blockPublicPolicy: spec.publicAccessBlock.blockPublicPolicy, restrictPublicBuckets: spec.publicAccessBlock.restrictPublicBuckets),
            policy: statements,
            lifecycle: spec.lifecycle.map { rules in
                rules.map {
                    State.LifecycleRule(id: $0.id, prefix: $0.prefix, enabled: true,
                                        transitions: ($0.transitions ?? []).map { .init(days: $0.days, storageClass: $0.storageClass) },
                                        expirationDays: $0.expirationDays, minObjectSize: $0.minObjectSize)
                }.sorted { $0.id < $1.id }
            },
            versioning: spec.versioning,
            objectLock: spec.objectLock == true ? true : nil)
    }

    public func observe() async throws -> State? {
        // One wave: every read at once. A missing bucket makes them all fail; location decides.
        async let location = s3.bucketLocation(name)
        async let ownership = s3.ownership(name)
        async let encryption = s3.encryption(name)
        async let block = s3.publicAccessBlock(name)
        async let policy = s3.policy(name)
        async let lifecycle = s3.lifecycle(name)
        async let versioning = s3.versioning(name)
        async let objectLock: Bool? = desired.objectLock == nil ? nil : s3.objectLockEnabled(name)
        guard let region = try await location else { return nil }
        let statements: [JSONValue]
        if let text = try await policy {
            guard case .array(let items)? = PolicyDocument.canonical(text: text)?["Statement"] else {
                throw PolicyParseError(bucket: name)
            }
            statements = items
        } else {
            statements = []
        }
        return State(
            region: region,
            objectOwnership: try await ownership,
            encryption: try await encryption.map { .init(algorithm: $0.algorithm, kmsKeyId: $0.kmsKeyID, bucketKeyEnabled: $0.bucketKeyEnabled) },
            publicAccessBlock: try await block.map {
                .init(blockPublicAcls: $0.blockPublicAcls, ignorePublicAcls: $0.ignorePublicAcls,
                      blockPublicPolicy: $0.blockPublicPolicy, restrictPublicBuckets: $0.restrictPublicBuckets)
            },
            policy: statements,
            lifecycle: (try await lifecycle ?? []).map {
                State.LifecycleRule(id: $0.id, prefix: $0.prefix, enabled: $0.enabled,
                                    transitions: $0.transitions.map { .init(days: $0.days, storageClass: $0.storageClass) },
                                    expirationDays: $0.expirationDays, minObjectSize: $0.minObjectSize)
            }.sorted { $0.id < $1.id },
            versioning: try await versioning == "Enabled",
            objectLock: try await objectLock)
    }

    struct PolicyParseError: Error, CustomStringConvertible {
        var bucket: String
        var description: String { "the policy of bucket \(bucket) is not a JSON policy document" }
    }

    public func checks(observed: State?) -> [CheckFailure] {
        guard let actual = observed?.region, actual != region else { return [] }
        return [CheckFailure(property: "region", expected: .string(region), actual: .string(actual),
                             message: "bucket \(name) exists in \(actual), not \(region); apply cannot move a bucket: fix aws.region or migrate the bucket")]
    }

    public func apply(_ change: Change<State>) async throws {
        // A new bucket gets every setting; an existing one only the settings that differ.
        let isNew: Bool
        let changed: Set<String>
        switch change {
        case .create:
            try await s3.createBucket(name, objectOwnership: desired.objectOwnership, objectLock: desired.objectLock == true)
            isNew = true
            changed = []
        case .update(_, _, let fields):
            isNew = false
            changed = Set(fields.map { String($0.split(separator: ".")[0]) })
        }
        let wants = { (setting: String) in isNew || changed.contains(setting) }

        // Block public access before anything else, so no window exists where it is off.
        if wants("public_access_block"), let block = desired.publicAccessBlock {
            try await s3.putPublicAccessBlock(name, .init(blockPublicAcls: block.blockPublicAcls, ignorePublicAcls: block.ignorePublicAcls,
                                                          blockPublicPolicy: block.blockPublicPolicy, restrictPublicBuckets: block.restrictPublicBuckets))
        }
        if wants("object_ownership"), let ownership = desired.objectOwnership {
            try await s3.putOwnership(name, ownership)
        }
        if wants("encryption"), let encryption = desired.encryption {
            try await s3.putEncryption(name, .init(algorithm: encryption.algorithm, kmsKeyID: encryption.kmsKeyId, bucketKeyEnabled: encryption.bucketKeyEnabled))
        }
        if wants("policy"), let statements = desired.policy {
            if !statements.isEmpty {
                try await s3.putPolicy(name, PolicyDocument.document(statements).encoded())
            } else if !isNew {
                try await s3.deletePolicy(name)
            }
        }
        if wants("lifecycle"), let rules = desired.lifecycle {
            if !rules.isEmpty {
                try await s3.putLifecycle(name, rules.map {
                    S3.LifecycleRule(id: $0.id, prefix: $0.prefix, enabled: $0.enabled,
                                     transitions: $0.transitions.map { .init(days: $0.days, storageClass: $0.storageClass) },
                                     expirationDays: $0.expirationDays, minObjectSize: $0.minObjectSize)
                })
            } else if !isNew {
                try await s3.deleteLifecycle(name)
            }
        }
        // A new bucket has versioning off already; false on an existing one means suspend.
        if wants("versioning"), let enabled = desired.versioning, enabled || !isNew {
            try await s3.putVersioning(name, enabled: enabled)
        }
        // After versioning: S3 enables Object Lock on an existing bucket only once it is versioned.
        if !isNew, wants("object_lock"), desired.objectLock == true {
            try await s3.enableObjectLock(name)
        }
    }

    public var permissions: Permissions {
        let arn = "arn:\(AWSPartition(region: region).rawValue):s3:::\(name)"
        let lock = desired.objectLock == true
        return Permissions(
            read: [.init(["s3:GetBucketLocation", "s3:GetBucketOwnershipControls", "s3:GetEncryptionConfiguration",
                          "s3:GetBucketPublicAccessBlock", "s3:GetBucketPolicy", "s3:GetLifecycleConfiguration",
                          "s3:GetBucketVersioning", "s3:ListBucket"] + (lock ? ["s3:GetBucketObjectLockConfiguration"] : []), on: [arn])],
            write: [.init(["s3:CreateBucket", "s3:PutBucketOwnershipControls", "s3:PutEncryptionConfiguration",
                           "s3:PutBucketPublicAccessBlock", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
                           "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning"] + (lock ? ["s3:PutBucketObjectLockConfiguration"] : []), on: [arn])])
    }
}
