import AWS
import Foundation

/// What a history line links to (the spec's `recordings.links`): a presigned URL valid for
/// `signed_url_ttl`, the object's public URL, or the recording's stable link `{app.url}/r/{id}`
/// (made in the store on first use, the same one ever after).
public struct ObjectLinks: Sendable {
    let s3: S3Client
    let bucket: String
    let mode: LinkMode
    let ttl: Duration
    let appURL: String
    let store: any LinkStore
    let now: @Sendable () -> Date

    /// A link, and how a history line holding it is recognised (`HistoryWriter.Line.marked`).
    public struct Link: Sendable, Equatable {
        public var url: String
        public var marker: String
    }

    public init(s3: S3Client, bucket: String, settings: HistorySettings, appURL: String, store: any LinkStore, now: @escaping @Sendable () -> Date) {
        self.s3 = s3
        self.bucket = bucket
        mode = settings.links
        ttl = settings.signedURLTTL
        self.appURL = appURL
        self.store = store
        self.now = now
    }

    public func link(for job: RecordingJob, key: String) async throws -> Link {
        switch mode {
        case .public:
            return Link(url: s3.objectURL(bucket: bucket, key: key).absoluteString, marker: RecordingLayout.marker(forKey: key))
        case .presigned:
            let url = try await s3.presignedGetURL(bucket: bucket, key: key, expires: Int(ttl.timeInterval)).absoluteString
            return Link(url: url, marker: RecordingLayout.marker(forKey: key))
        case .stable:
            let link = try await store.link(recordingSid: job.recordingSid, objectKey: key, jobID: job.jobID, at: now())
            return Link(url: link.url(appURL: appURL), marker: RecordingLink.pathPrefix + link.id)
        }
    }
}
