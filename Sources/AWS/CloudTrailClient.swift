import Foundation
import Transport

/// CloudTrail through its JSON 1.1 protocol: the audit trail of access to recordings.
public struct CloudTrailClient: Sendable {
    public let aws: AWSClient

    public init(aws: AWSClient) {
        self.aws = aws
    }

    public struct Trail: Sendable, Equatable, Codable {
        public var Name: String
        public var S3BucketName: String?
        /// The prefix of the trail's log files in its bucket, if it has one.
        public var S3KeyPrefix: String?
        public var TrailARN: String?
        public var IsMultiRegionTrail: Bool?
    }

    /// One data-resource selector: `AWS::S3::Object` with ARN prefixes.
    public struct DataResource: Sendable, Equatable, Codable {
        public var `Type`: String
        public var Values: [String]

        public init(type: String, values: [String]) {
            self.Type = type
            self.Values = values
        }
    }

    public struct EventSelector: Sendable, Equatable, Codable {
        public var ReadWriteType: String?
        public var IncludeManagementEvents: Bool?
        public var DataResources: [DataResource]?

        public init(readWriteType: String, includeManagementEvents: Bool, dataResources: [DataResource]) {
            self.ReadWriteType = readWriteType
            self.IncludeManagementEvents = includeManagementEvents
            self.DataResources = dataResources
        }
    }

    private func call<Input: Encodable>(_ operation: String, _ input: Input) async throws -> Data {
        let body = try JSONEncoder().encode(input)
        let call = AWSClient.Call(
            service: "cloudtrail", operation: operation, method: "POST",
            headers: [(name: "Content-Type", value: "application/x-amz-json-1.1"),
                      (name: "X-Amz-Target", value: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.\(operation)")],
            body: body)
        return try await aws.send(call).body
    }

    public func trail(_ name: String) async throws -> Trail? {
        struct Output: Decodable { var Trail: Trail? }
        do {
            return try JSONDecoder().decode(Output.self, from: try await call("GetTrail", ["Name": name])).Trail
        } catch let error as AWSError where error.code == "TrailNotFoundException" {
            return nil
        }
    }

    public func createTrail(name: String, bucket: String) async throws {
        struct Input: Encodable { var Name: String; var S3BucketName: String; var IsMultiRegionTrail: Bool }
        _ = try await call("CreateTrail", Input(Name: name, S3BucketName: bucket, IsMultiRegionTrail: false))
    }

    public func updateTrail(name: String, bucket: String) async throws {
        struct Input: Encodable { var Name: String; var S3BucketName: String }
        _ = try await call("UpdateTrail", Input(Name: name, S3BucketName: bucket))
    }

    public func isLogging(_ name: String) async throws -> Bool {
        struct Output: Decodable { var IsLogging: Bool? }
        return try JSONDecoder().decode(Output.self, from: try await call("GetTrailStatus", ["Name": name])).IsLogging ?? false
    }

    public func startLogging(_ name: String) async throws {
        _ = try await call("StartLogging", ["Name": name])
    }

    public func eventSelectors(_ name: String) async throws -> [EventSelector] {
        struct Output: Decodable { var EventSelectors: [EventSelector]? }
        return try JSONDecoder().decode(Output.self, from: try await call("GetEventSelectors", ["TrailName": name])).EventSelectors ?? []
    }

    public func putEventSelectors(_ name: String, _ selectors: [EventSelector]) async throws {
        struct Input: Encodable { var TrailName: String; var EventSelectors: [EventSelector] }
        _ = try await call("PutEventSelectors", Input(TrailName: name, EventSelectors: selectors))
    }
}
