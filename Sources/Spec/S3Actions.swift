/// The IAM actions of Amazon S3 (service prefix `s3`), from AWS's Service Authorization Reference.
///
/// IAM stores any `s3:Name` without complaint, so a misspelt or invented action silently grants
/// nothing; the lint checks every action against this list.
public enum S3Actions {
    public static let all: Set<String> = [
        "AbortMultipartUpload", "AssociateAccessGrantsIdentityCenter", "BypassGovernanceRetention",
        "CreateAccessGrant", "CreateAccessGrantsInstance", "CreateAccessGrantsLocation", "CreateAccessPoint",
        "CreateAccessPointForObjectLambda", "CreateBucket", "CreateBucketMetadataTableConfiguration", "CreateJob",
        "CreateMultiRegionAccessPoint", "CreateStorageLensGroup", "DeleteAccessGrant", "DeleteAccessGrantsInstance",
        "DeleteAccessGrantsInstanceResourcePolicy", "DeleteAccessGrantsLocation", "DeleteAccessPoint",
        "DeleteAccessPointForObjectLambda", "DeleteAccessPointPolicy", "DeleteAccessPointPolicyForObjectLambda",
        "DeleteBucket", "DeleteBucketMetadataTableConfiguration", "DeleteBucketOwnershipControls", "DeleteBucketPolicy",
        "DeleteBucketWebsite", "DeleteJobTagging", "DeleteMultiRegionAccessPoint", "DeleteObject", "DeleteObjectTagging",
        "DeleteObjectVersion", "DeleteObjectVersionTagging", "DeleteStorageLensConfiguration",
        "DeleteStorageLensConfigurationTagging", "DeleteStorageLensGroup", "DescribeJob",
        "DescribeMultiRegionAccessPointOperation", "DissociateAccessGrantsIdentityCenter", "GetAccelerateConfiguration",
        "GetAccessGrant", "GetAccessGrantsInstance", "GetAccessGrantsInstanceForPrefix",
        "GetAccessGrantsInstanceResourcePolicy", "GetAccessGrantsLocation", "GetAccessPoint",
        "GetAccessPointConfigurationForObjectLambda", "GetAccessPointForObjectLambda", "GetAccessPointPolicy",
        "GetAccessPointPolicyForObjectLambda", "GetAccessPointPolicyStatus", "GetAccessPointPolicyStatusForObjectLambda",
        "GetAccountPublicAccessBlock", "GetAnalyticsConfiguration", "GetBucketAcl", "GetBucketCORS", "GetBucketLocation",
        "GetBucketLogging", "GetBucketMetadataTableConfiguration", "GetBucketNotification",
        "GetBucketObjectLockConfiguration", "GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketPolicyStatus",
        "GetBucketPublicAccessBlock", "GetBucketRequestPayment", "GetBucketTagging", "GetBucketVersioning",
        "GetBucketWebsite", "GetDataAccess", "GetEncryptionConfiguration", "GetIntelligentTieringConfiguration",
        "GetInventoryConfiguration", "GetJobTagging", "GetLifecycleConfiguration", "GetMetricsConfiguration",
        "GetMultiRegionAccessPoint", "GetMultiRegionAccessPointPolicy", "GetMultiRegionAccessPointPolicyStatus",
        "GetMultiRegionAccessPointRoutes", "GetObject", "GetObjectAcl", "GetObjectAttributes", "GetObjectLegalHold",
        "GetObjectRetention", "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion", "GetObjectVersionAcl",
        "GetObjectVersionAttributes", "GetObjectVersionForReplication", "GetObjectVersionTagging",
        "GetObjectVersionTorrent", "GetReplicationConfiguration", "GetStorageLensConfiguration",
        "GetStorageLensConfigurationTagging", "GetStorageLensDashboard", "GetStorageLensGroup", "InitiateReplication",
        "ListAccessGrants", "ListAccessGrantsInstances", "ListAccessGrantsLocations", "ListAccessPoints",
        "ListAccessPointsForObjectLambda", "ListAllMyBuckets", "ListBucket", "ListBucketMultipartUploads",
        "ListBucketVersions", "ListCallerAccessGrants", "ListJobs", "ListMultiRegionAccessPoints",
        "ListMultipartUploadParts", "ListStorageLensConfigurations", "ListStorageLensGroups", "ListTagsForResource",
        "ObjectOwnerOverrideToBucketOwner", "PauseReplication", "PutAccelerateConfiguration",
        "PutAccessGrantsInstanceResourcePolicy", "PutAccessPointConfigurationForObjectLambda", "PutAccessPointPolicy",
        "PutAccessPointPolicyForObjectLambda", "PutAccessPointPublicAccessBlock", "PutAccountPublicAccessBlock",
        "PutAnalyticsConfiguration", "PutBucketAcl", "PutBucketCORS", "PutBucketLogging", "PutBucketNotification",
        "PutBucketObjectLockConfiguration", "PutBucketOwnershipControls", "PutBucketPolicy",
        "PutBucketPublicAccessBlock", "PutBucketRequestPayment", "PutBucketTagging", "PutBucketVersioning",
        "PutBucketWebsite", "PutEncryptionConfiguration", "PutIntelligentTieringConfiguration",
        "PutInventoryConfiguration", "PutJobTagging", "PutLifecycleConfiguration", "PutMetricsConfiguration",
        "PutMultiRegionAccessPointPolicy", "PutObject", "PutObjectAcl", "PutObjectLegalHold", "PutObjectRetention",
        "PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging", "PutReplicationConfiguration",
        "PutStorageLensConfiguration", "PutStorageLensConfigurationTagging", "ReplicateDelete", "ReplicateObject",
        "ReplicateTags", "RestoreObject", "SubmitMultiRegionAccessPointRoutes", "TagResource", "UntagResource",
        "UpdateAccessGrantsLocation", "UpdateBucketMetadataInventoryTableConfiguration",
        "UpdateBucketMetadataJournalTableConfiguration", "UpdateJobPriority", "UpdateJobStatus",
        "UpdateStorageLensGroup",
    ]

    /// S3 API operations that are not IAM actions, with the action that authorises each.
    public static let authorisedBy: [String: String] = [
        "HeadObject": "GetObject", "HeadBucket": "ListBucket", "ListObjects": "ListBucket",
        "ListObjectsV2": "ListBucket", "ListObjectVersions": "ListBucketVersions", "ListBuckets": "ListAllMyBuckets",
        "DeleteObjects": "DeleteObject", "CopyObject": "GetObject (source) and PutObject (target)",
        "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject",
        "UploadPartCopy": "GetObject (source) and PutObject (target)", "ListParts": "ListMultipartUploadParts",
        "ListMultipartUploads": "ListBucketMultipartUploads", "GetBucketEncryption": "GetEncryptionConfiguration",
        "PutBucketEncryption": "PutEncryptionConfiguration", "DeleteBucketEncryption": "PutEncryptionConfiguration",
        "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
        "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration", "DeleteBucketLifecycle": "PutLifecycleConfiguration",
        "GetPublicAccessBlock": "GetBucketPublicAccessBlock", "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
        "DeletePublicAccessBlock": "PutBucketPublicAccessBlock", "GetBucketCors": "GetBucketCORS",
        "PutBucketCors": "PutBucketCORS", "DeleteBucketCors": "PutBucketCORS", "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
        "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration", "DeleteBucketTagging": "PutBucketTagging",
        "SelectObjectContent": "GetObject", "WriteGetObjectResponse": "s3-object-lambda:WriteGetObjectResponse",
    ]

    /// Actions matching an IAM action pattern (`s3:Get*`, `s3:*Object`), compared as IAM does, ignoring case.
    public static func matching(_ pattern: String) -> [String] {
        all.filter { WildcardMatch.matches(pattern: pattern, value: $0, caseSensitive: false) }.sorted()
    }
}

/// IAM's `*` and `?` wildcards.
public enum WildcardMatch {
    public static func matches(pattern: String, value: String, caseSensitive: Bool = true) -> Bool {
        let p = Array(caseSensitive ? pattern : pattern.lowercased())
        let v = Array(caseSensitive ? value : value.lowercased())
        var pi = 0, vi = 0, star = -1, mark = 0
        while vi < v.count {
            if pi < p.count, p[pi] == "?" || p[pi] == v[vi] {
                pi += 1; vi += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = vi; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; vi = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
