import Crypto
import Foundation
import Transport

/// Object Lock and object versions: what a legal hold needs. A version under legal hold cannot
/// be deleted by anyone, lifecycle expiration included, until the hold is released.
extension S3Client {
    /// Whether the bucket has Object Lock (S3 answers 404 ObjectLockConfigurationNotFoundError
    /// for a bucket without it).
    public func objectLockEnabled(_ bucket: String) async throws -> Bool {
        guard let xml = try await optionalXML("GetObjectLockConfiguration", bucket: bucket, subresource: "object-lock",
                                              absent: ["ObjectLockConfigurationNotFoundError"]) else { return false }
        return xml["ObjectLockEnabled"] == "Enabled"
    }

    /// Turns Object Lock on for a versioned bucket (no default retention: recops holds by legal
    /// hold only). It cannot be turned off again.
    public func enableObjectLock(_ bucket: String) async throws {
        try await putXML("PutObjectLockConfiguration", bucket: bucket, subresource: "object-lock",
                         xml: "<ObjectLockConfiguration \(Self.xmlns)><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>")
    }

    /// One stored version of an object, or a delete marker.
    public struct ObjectVersion: Sendable, Equatable {
        public var key: String
        public var versionID: String
        public var isDeleteMarker: Bool
        public var size: Int?
    }

    /// Every version and delete marker of exactly `key` (ListObjectVersions, all pages). An
    /// unversioned object has the one version `null`.
    public func versions(bucket: String, key: String) async throws -> [ObjectVersion] {
        var versions: [ObjectVersion] = []
        var keyMarker: String?
        var versionMarker: String?
        repeat {
            var request = call("ListObjectVersions", "GET", bucket: bucket)
            request.query = [(name: "versions", value: ""), (name: "prefix", value: key)]
                + (keyMarker.map { [(name: "key-marker", value: $0)] } ?? [])
                + (versionMarker.map { [(name: "version-id-marker", value: $0)] } ?? [])
            let response = try await aws.send(request)
            guard let xml = XMLNode.parse(response.body) else {
                throw AWSError(service: "s3", operation: "ListObjectVersions", code: "MalformedAnswer", message: "the answer is not XML", status: response.status, requestID: nil)
            }
            // The prefix also matches longer keys (`a.mp3` and `a.mp3-2`): keep the key itself.
            for item in xml.children where ["Version", "DeleteMarker"].contains(item.name) && item["Key"] == key {
                versions.append(ObjectVersion(key: key, versionID: item["VersionId"] ?? "null", isDeleteMarker: item.name == "DeleteMarker",
                                              size: item["Size"].flatMap(Int.init)))
            }
            let truncated = xml["IsTruncated"] == "true"
            keyMarker = truncated ? xml["NextKeyMarker"] : nil
            versionMarker = truncated ? xml["NextVersionIdMarker"] : nil
        } while keyMarker != nil
        return versions
    }

    /// Sets or clears the legal hold of one version.
    public func setLegalHold(bucket: String, key: String, versionID: String, on: Bool) async throws {
        let body = Data("<LegalHold \(Self.xmlns)><Status>\(on ? "ON" : "OFF")</Status></LegalHold>".utf8)
        var request = call("PutObjectLegalHold", "PUT", bucket: bucket, key: key,
                           headers: [(name: "Content-Type", value: "application/xml"),
                                     (name: "Content-MD5", value: Data(Insecure.MD5.hash(data: body)).base64EncodedString())], body: body)
        request.query = [(name: "legal-hold", value: ""), (name: "versionId", value: versionID)]
        _ = try await aws.send(request)
    }

    /// Whether one version is under legal hold (S3 answers 404 NoSuchObjectLockConfiguration
    /// for a version that never had one).
    public func legalHold(bucket: String, key: String, versionID: String) async throws -> Bool {
        var request = call("GetObjectLegalHold", "GET", bucket: bucket, key: key)
        request.query = [(name: "legal-hold", value: ""), (name: "versionId", value: versionID)]
        do {
            let response = try await aws.send(request)
            return XMLNode.parse(response.body)?["Status"] == "ON"
        } catch let error as AWSError where error.status == 404 && error.code == "NoSuchObjectLockConfiguration" {
            return false
        }
    }

    /// Deletes one version for good (a held version is refused: AccessDenied).
    public func deleteVersion(bucket: String, key: String, versionID: String) async throws {
        var request = call("DeleteObject", "DELETE", bucket: bucket, key: key)
        request.query = [(name: "versionId", value: versionID)]
        _ = try await aws.send(request)
    }
}
