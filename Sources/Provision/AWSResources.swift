import AWS
import Foundation
import Spec

/// The AWS resources a spec declares, in dependency order.
public enum AWSResources {
    public static func make(spec: Spec, aws: AWSClient, now: @escaping @Sendable () -> Date) -> [AnyResource] {
        guard let bucket = spec.bucket, let region = spec.aws?.region else { return [] }
        let partition = AWSPartition(region: region)
        var resources: [AnyResource] = []
        let trail = spec.audit?.cloudtrail
        let trailLogsHere = trail != nil && (trail?.logBucket == nil || trail?.logBucket == bucket.name)
        let policy = PolicyDocument.bucketPolicy(bucket: bucket.name, partition: partition, policy: bucket.policy, cloudTrailLogs: trailLogsHere)
        resources.append(AnyResource(S3BucketResource(spec: bucket, region: region, policy: policy, s3: S3Client(aws: aws))))
        if let iam = spec.iam {
            resources.append(AnyResource(IAMUserResource(spec: iam, partition: partition, iam: IAMClient(aws: aws), now: now)))
        }
        if let trail {
            resources.append(AnyResource(CloudTrailResource(spec: trail, bucket: bucket.name, region: region, trails: CloudTrailClient(aws: aws))))
        }
        return resources
    }
}
