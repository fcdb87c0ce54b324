import AWS
import Spec

/// `cloudtrail.trail/<name>`: a logging trail that records object-level access to recordings.
public struct CloudTrailResource: Resource {
    public struct State: Equatable, Codable, Sendable {
        public var logBucket: String
        public var logging: Bool
        /// ARN prefixes of S3 objects whose data events are recorded; owned whole.
        public var s3DataEvents: [String]
    }

    public let id: ResourceID
    public let part = SpecPart.aws
    public let specPath = "audit.cloudtrail"
    public let dependencies: [ResourceID]
    public let desired: State
    let name: String
    let region: String
    let trails: CloudTrailClient

    public init(spec: Spec.Audit.CloudTrail, bucket: String, region: String, trails: CloudTrailClient) {
        name = spec.trail
        self.region = region
        self.trails = trails
        id = ResourceID("cloudtrail.trail", spec.trail)
        // The trail writes into the bucket, so the bucket (and its policy) must come first.
        dependencies = [ResourceID("s3.bucket", bucket)]
        let prefix = "arn:\(AWSPartition(region: region).rawValue):s3:::\(bucket)/"
        desired = State(logBucket: spec.logBucket ?? bucket, logging: true, s3DataEvents: spec.s3DataEvents ? [prefix] : [])
    }

    public func observe() async throws -> State? {
        async let trail = trails.trail(name)
        async let logging = trails.isLogging(name)
        async let selectors = trails.eventSelectors(name)
        guard let trail = try await trail else { return nil }
        let prefixes = try await selectors.flatMap { selector in
            (selector.DataResources ?? []).filter { $0.Type == "AWS::S3::Object" }.flatMap(\.Values)
        }
        return State(logBucket: trail.S3BucketName ?? "", logging: try await logging, s3DataEvents: prefixes.sorted())
    }

    public func apply(_ change: Change<State>) async throws {
        let current: State?
        switch change {
        case .create:
            try await trails.createTrail(name: name, bucket: desired.logBucket)
            current = nil
        case .update(let from, _, _):
            current = from
            if from.logBucket != desired.logBucket { try await trails.updateTrail(name: name, bucket: desired.logBucket) }
        }
        if current?.s3DataEvents != desired.s3DataEvents {
            let resources = desired.s3DataEvents.isEmpty ? [] : [CloudTrailClient.DataResource(type: "AWS::S3::Object", values: desired.s3DataEvents)]
            try await trails.putEventSelectors(name, [.init(readWriteType: "All", includeManagementEvents: true, dataResources: resources)])
        }
        if current?.logging != true { try await trails.startLogging(name) }
    }

    public var permissions: Permissions {
        let arn = "arn:\(AWSPartition(region: region).rawValue):cloudtrail:\(region):*:trail/\(name)"
        return Permissions(
            read: [.init(["cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"], on: [arn])],
            write: [.init(["cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:StartLogging", "cloudtrail:PutEventSelectors"], on: [arn])])
    }
}
