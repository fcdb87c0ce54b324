import Crypto
import Foundation
import Transport

/// The S3 REST API calls recops needs: bucket settings and objects.
///
/// Reads of a setting that was never configured return nil rather than throwing, since for a
/// drift check "absent" is a state, not a failure.
public struct S3Client: Sendable {
    public let aws: AWSClient

    public init(aws: AWSClient) {
        self.aws = aws
    }

    func call(_ operation: String, _ method: String, bucket: String, subresource: String? = nil, key: String? = nil,
                      headers: [(name: String, value: String)] = [], body: Data = Data(), accepted: Set<Int> = []) -> AWSClient.Call {
        AWSClient.Call(
            service: "s3", operation: operation, method: method, bucket: bucket, path: key.map { "/\($0)" } ?? "/",
            query: subresource.map { [(name: $0, value: "")] } ?? [], headers: headers, body: body, acceptedStatuses: accepted)
    }

    /// A configuration read whose "not configured" answer is a 404 with one of these codes.
    func optionalXML(_ operation: String, bucket: String, subresource: String, absent: Set<String>) async throws -> XMLNode? {
        do {
            let response = try await aws.send(call(operation, "GET", bucket: bucket, subresource: subresource))
            return XMLNode.parse(response.body)
        } catch let error as AWSError where error.status == 404 && absent.contains(error.code) {
            return nil
        }
    }

    /// XML configuration bodies carry Content-MD5: S3 requires it for some (lifecycle) and it
    /// guards every one against corruption.
    func putXML(_ operation: String, bucket: String, subresource: String, xml: String) async throws {
        let body = Data(xml.utf8)
        let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
        _ = try await aws.send(call(operation, "PUT", bucket: bucket, subresource: subresource,
                                    headers: [(name: "Content-Type", value: "application/xml"), (name: "Content-MD5", value: md5)], body: body))
    }

    static let xmlns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

    // MARK: Bucket

    /// Whether the bucket exists and we may see it: false on 404; a 403 is thrown (it may be
    /// someone else's).
    public func bucketExists(_ bucket: String) async throws -> Bool {
        let response = try await aws.send(call("HeadBucket", "HEAD", bucket: bucket, accepted: [404]))
        return response.status != 404
    }

    /// `objectLock`: created with Object Lock (and so with versioning), which S3 allows only here
    /// or on a bucket already versioned.
    public func createBucket(_ bucket: String, objectOwnership: String?, objectLock: Bool = false) async throws {
        var headers: [(name: String, value: String)] = []
        if let objectOwnership { headers.append((name: "x-amz-object-ownership", value: objectOwnership)) }
        if objectLock { headers.append((name: "x-amz-bucket-object-lock-enabled", value: "true")) }
        let region = aws.configuration.region
        // us-east-1 is the default and S3 rejects it as an explicit constraint.
        let body = region == "us-east-1" ? Data() : Data("<CreateBucketConfiguration \(Self.xmlns)><LocationConstraint>\(region)</LocationConstraint></CreateBucketConfiguration>".utf8)
        _ = try await aws.send(call("CreateBucket", "PUT", bucket: bucket, headers: headers, body: body))
    }

    /// The bucket's region (S3 answers empty for us-east-1), or nil when the bucket is missing.
    public func bucketLocation(_ bucket: String) async throws -> String? {
        do {
            let response = try await aws.send(call("GetBucketLocation", "GET", bucket: bucket, subresource: "location"))
            let text = XMLNode.parse(response.body)?.text ?? ""
            return text.isEmpty ? "us-east-1" : (text == "EU" ? "eu-west-1" : text)
        } catch let error as AWSError where error.code == "NoSuchBucket" {
            return nil
        }
    }

    public func encryption(_ bucket: String) async throws -> S3.Encryption? {
        guard let xml = try await optionalXML("GetBucketEncryption", bucket: bucket, subresource: "encryption",
                                              absent: ["ServerSideEncryptionConfigurationNotFoundError"]),
              let rule = xml.child("Rule"), let algorithm = rule["ApplyServerSideEncryptionByDefault", "SSEAlgorithm"] else { return nil }
        return S3.Encryption(
            algorithm: algorithm,
            kmsKeyID: rule["ApplyServerSideEncryptionByDefault", "KMSMasterKeyID"],
            bucketKeyEnabled: rule["BucketKeyEnabled"].map { $0 == "true" })
    }

    public func putEncryption(_ bucket: String, _ encryption: S3.Encryption) async throws {
        var inner = "<SSEAlgorithm>\(XMLNode.escape(encryption.algorithm))</SSEAlgorithm>"
        if let key = encryption.kmsKeyID { inner += "<KMSMasterKeyID>\(XMLNode.escape(key))</KMSMasterKeyID>" }
        var rule = "<ApplyServerSideEncryptionByDefault>\(inner)</ApplyServerSideEncryptionByDefault>"
        if let enabled = encryption.bucketKeyEnabled { rule += "<BucketKeyEnabled>\(enabled)</BucketKeyEnabled>" }
        try await putXML("PutBucketEncryption", bucket: bucket, subresource: "encryption",
                         xml: "<ServerSideEncryptionConfiguration \(Self.xmlns)><Rule>\(rule)</Rule></ServerSideEncryptionConfiguration>")
    }

    public func publicAccessBlock(_ bucket: String) async throws -> S3.PublicAccessBlock? {
        guard let xml = try await optionalXML("GetPublicAccessBlock", bucket: bucket, subresource: "publicAccessBlock",
                                              absent: ["NoSuchPublicAccessBlockConfiguration"]) else { return nil }
        let flag = { (name: String) in xml[name] == "true" }
        return S3.PublicAccessBlock(blockPublicAcls: flag("BlockPublicAcls"), ignorePublicAcls: flag("IgnorePublicAcls"),
                                    blockPublicPolicy: flag("BlockPublicPolicy"), restrictPublicBuckets: flag("RestrictPublicBuckets"))
    }

    public func putPublicAccessBlock(_ bucket: String, _ block: S3.PublicAccessBlock) async throws {
        try await putXML("PutPublicAccessBlock", bucket: bucket, subresource: "publicAccessBlock", xml: """
            <PublicAccessBlockConfiguration \(Self.xmlns)><BlockPublicAcls>\(block.blockPublicAcls)</BlockPublicAcls>\
            <IgnorePublicAcls>\(block.ignorePublicAcls)</IgnorePublicAcls><BlockPublicPolicy>\(block.blockPublicPolicy)</BlockPublicPolicy>\
            <RestrictPublicBuckets>\(block.restrictPublicBuckets)</RestrictPublicBuckets></PublicAccessBlockConfiguration>
            """)
    }

    public func ownership(_ bucket: String) async throws -> String? {
        let xml = try await optionalXML("GetBucketOwnershipControls", bucket: bucket, subresource: "ownershipControls",
                                        absent: ["OwnershipControlsNotFoundError"])
        return xml?["Rule", "ObjectOwnership"]
    }

    public func putOwnership(_ bucket: String, _ ownership: String) async throws {
        try await putXML("PutBucketOwnershipControls", bucket: bucket, subresource: "ownershipControls",
                         xml: "<OwnershipControls \(Self.xmlns)><Rule><ObjectOwnership>\(XMLNode.escape(ownership))</ObjectOwnership></Rule></OwnershipControls>")
    }

    /// The policy document as S3 stores it, or nil.
    public func policy(_ bucket: String) async throws -> String? {
        do {
            let response = try await aws.send(call("GetBucketPolicy", "GET", bucket: bucket, subresource: "policy"))
            return String(decoding: response.body, as: UTF8.self)
        } catch let error as AWSError where error.code == "NoSuchBucketPolicy" {
            return nil
        }
    }

    public func putPolicy(_ bucket: String, _ document: String) async throws {
        let body = Data(document.utf8)
        _ = try await aws.send(call("PutBucketPolicy", "PUT", bucket: bucket, subresource: "policy",
                                    headers: [(name: "Content-Type", value: "application/json"),
                                              (name: "Content-MD5", value: Data(Insecure.MD5.hash(data: body)).base64EncodedString())],
                                    body: body))
    }

    public func deletePolicy(_ bucket: String) async throws {
        _ = try await aws.send(call("DeleteBucketPolicy", "DELETE", bucket: bucket, subresource: "policy"))
    }

    public func lifecycle(_ bucket: String) async throws -> [S3.LifecycleRule]? {
        guard let xml = try await optionalXML("GetBucketLifecycleConfiguration", bucket: bucket, subresource: "lifecycle",
                                              absent: ["NoSuchLifecycleConfiguration"]) else { return nil }
        return S3.LifecycleRule.rules(from: xml)
    }

    public func putLifecycle(_ bucket: String, _ rules: [S3.LifecycleRule]) async throws {
        try await putXML("PutBucketLifecycleConfiguration", bucket: bucket, subresource: "lifecycle",
                         xml: S3.LifecycleRule.configuration(rules, xmlns: Self.xmlns))
    }

    public func deleteLifecycle(_ bucket: String) async throws {
        _ = try await aws.send(call("DeleteBucketLifecycle", "DELETE", bucket: bucket, subresource: "lifecycle"))
    }

    /// `Enabled`, `Suspended`, or nil for a bucket whose versioning was never turned on.
    public func versioning(_ bucket: String) async throws -> String? {
        let response = try await aws.send(call("GetBucketVersioning", "GET", bucket: bucket, subresource: "versioning"))
        let status = XMLNode.parse(response.body)?["Status"]
        return status?.isEmpty == false ? status : nil
    }

    public func putVersioning(_ bucket: String, enabled: Bool) async throws {
        try await putXML("PutBucketVersioning", bucket: bucket, subresource: "versioning",
                         xml: "<VersioningConfiguration \(Self.xmlns)><Status>\(enabled ? "Enabled" : "Suspended")</Status></VersioningConfiguration>")
    }

    // MARK: Objects

    /// Uploads with a SHA-256 checksum S3 verifies, so a corrupted body is rejected, never stored.
    /// `ifNoneMatch` makes the write fail (412) rather than overwrite an existing object.
    @discardableResult
    public func putObject(bucket: String, key: String, body: Data, contentType: String, encryption: S3.Encryption?,
                          ifNoneMatch: Bool = false, metadata: [String: String] = [:]) async throws -> String? {
        var call = call("PutObject", "PUT", bucket: bucket, key: key, body: body)
        call.headers = Self.putHeaders(sha256: Data(SHA256.hash(data: body)), contentType: contentType, encryption: encryption, ifNoneMatch: ifNoneMatch, metadata: metadata)
        return try await aws.send(call).header("ETag")
    }

    /// The same, streaming `file` (memory stays flat whatever its size). The file is hashed first,
    /// so the checksum S3 verifies is the file's own.
    @discardableResult
    public func putObject(bucket: String, key: String, file: URL, sha256: Data? = nil, contentType: String, encryption: S3.Encryption?,
                          ifNoneMatch: Bool = false, metadata: [String: String] = [:]) async throws -> String? {
        let digest = try sha256 ?? Self.sha256(of: file)
        var call = call("PutObject", "PUT", bucket: bucket, key: key)
        call.bodyFile = (file, digest.map { String(format: "%02x", $0) }.joined())
        call.headers = Self.putHeaders(sha256: digest, contentType: contentType, encryption: encryption, ifNoneMatch: ifNoneMatch, metadata: metadata)
        return try await aws.send(call).header("ETag")
    }

    /// SHA-256 of a file, read in chunks.
    public static func sha256(of file: URL) throws -> Data {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return Data(hasher.finalize())
    }

    private static func putHeaders(sha256: Data, contentType: String, encryption: S3.Encryption?, ifNoneMatch: Bool, metadata: [String: String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            (name: "Content-Type", value: contentType),
            (name: "x-amz-checksum-sha256", value: sha256.base64EncodedString()),
            (name: "x-amz-sdk-checksum-algorithm", value: "SHA256"),
        ]
        if let encryption {
            headers.append((name: "x-amz-server-side-encryption", value: encryption.algorithm))
            if let key = encryption.kmsKeyID { headers.append((name: "x-amz-server-side-encryption-aws-kms-key-id", value: key)) }
        }
        if ifNoneMatch { headers.append((name: "If-None-Match", value: "*")) }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            headers.append((name: "x-amz-meta-\(name)", value: value))
        }
        return headers
    }

    /// The object's metadata, or nil when there is no such object.
    public func headObject(bucket: String, key: String) async throws -> S3.ObjectInfo? {
        let response = try await aws.send(call("HeadObject", "HEAD", bucket: bucket, key: key,
                                               headers: [(name: "x-amz-checksum-mode", value: "ENABLED")], accepted: [404]))
        guard response.status != 404 else { return nil }
        return S3.ObjectInfo(
            size: response.header("Content-Length").flatMap(Int.init) ?? 0,
            contentType: response.header("Content-Type"),
            serverSideEncryption: response.header("x-amz-server-side-encryption"),
            checksumSHA256: response.header("x-amz-checksum-sha256"),
            eTag: response.header("ETag"),
            metadata: Dictionary(response.headers.compactMap { header in
                header.name.lowercased().hasPrefix("x-amz-meta-") ? (String(header.name.dropFirst(11)).lowercased(), header.value) : nil
            }, uniquingKeysWith: { first, _ in first }))
    }

    public func getObject(bucket: String, key: String) async throws -> Data {
        try await aws.send(call("GetObject", "GET", bucket: bucket, key: key)).body
    }

    /// Every object under `prefix`: key and size, all pages (ListObjectsV2).
    public func listObjects(bucket: String, prefix: String) async throws -> [(key: String, size: Int)] {
        try await listObjects(bucket: bucket, prefix: prefix, limit: .max).objects
    }

    /// The objects under `prefix`, in key order, up to about `limit` (whole pages of 1,000);
    /// `complete` is false when more were left unread.
    public func listObjects(bucket: String, prefix: String, limit: Int) async throws -> (objects: [(key: String, size: Int)], complete: Bool) {
        var objects: [(key: String, size: Int)] = []
        var token: String?
        repeat {
            if objects.count >= limit { return (objects, false) }
            var request = call("ListObjectsV2", "GET", bucket: bucket)
            request.query = [(name: "list-type", value: "2"), (name: "prefix", value: prefix)] + (token.map { [(name: "continuation-token", value: $0)] } ?? [])
            let response = try await aws.send(request)
            guard let xml = XMLNode.parse(response.body) else { return (objects, false) }
            objects += xml.children("Contents").compactMap { item in
                item["Key"].map { ($0, Int(item["Size"] ?? "") ?? 0) }
            }
            token = xml["IsTruncated"] == "true" ? xml["NextContinuationToken"] : nil
        } while token != nil
        return (objects, true)
    }

    /// The object's plain (unsigned) URL: what `public_url: true` links.
    public func objectURL(bucket: String, key: String) -> URL {
        aws.address(call("GetObject", "GET", bucket: bucket, key: key)).url
    }

    /// A URL that lets its holder GET the object until it expires (at most 7 days).
    public func presignedGetURL(bucket: String, key: String, expires: Int) async throws -> URL {
        try await aws.presign(call("GetObject", "GET", bucket: bucket, key: key), expires: min(expires, 604_800))
    }

    /// Signed with the given credentials, offline.
    public func presignedGetURL(bucket: String, key: String, expires: Int, credentials: AWSCredentials) -> URL {
        aws.presign(call("GetObject", "GET", bucket: bucket, key: key), expires: min(expires, 604_800), credentials: credentials)
    }
}
