import AWS
import Foundation

/// What a history line links to: the object's public URL, or a presigned URL valid for the spec's
/// `signed_url_ttl`.
public struct ObjectLinks: Sendable {
    let s3: S3Client
    let bucket: String
    let publicURL: Bool
    let ttl: Duration

    public init(s3: S3Client, bucket: String, settings: HistorySettings) {
        self.s3 = s3
        self.bucket = bucket
        publicURL = settings.publicURL
        ttl = settings.signedURLTTL
    }

    public func link(forKey key: String) async throws -> String {
        publicURL
            ? s3.objectURL(bucket: bucket, key: key).absoluteString
            : try await s3.presignedGetURL(bucket: bucket, key: key, expires: Int(ttl.timeInterval)).absoluteString
    }
}
