import Foundation
import Spec

/// IAM and bucket policy documents, built from the spec and compared as documents.
///
/// Services hand policies back re-serialised: statements reordered, a one-element array written
/// as a string, IAM's answer URL-encoded (the client decodes it). `canonical` removes those
/// differences so only a real change in meaning shows as drift.
public enum PolicyDocument {
    /// The statements in canonical form, sorted; the `Version` is kept.
    public static func canonical(_ document: JSONValue) -> JSONValue {
        guard case .object(var object) = document else { return document }
        var statements: [JSONValue]
        switch object["Statement"] {
        case .array(let items)?: statements = items
        case let single?: statements = [single]
        case nil: statements = []
        }
        statements = statements.map(canonicalStatement).sorted { $0.encoded() < $1.encoded() }
        object["Statement"] = .array(statements)
        return .object(object)
    }

    /// Parses and canonicalises a document as a service returns it; nil if it is not JSON.
    public static func canonical(text: String) -> JSONValue? {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        return canonical(value)
    }

    private static let listKeys: Set<String> = ["Action", "NotAction", "Resource", "NotResource"]

    private static func canonicalStatement(_ statement: JSONValue) -> JSONValue {
        guard case .object(let object) = statement else { return statement }
        var result: [String: JSONValue] = [:]
        for (key, value) in object {
            switch key {
            case _ where listKeys.contains(key):
                result[key] = sortedList(value)
            case "Principal", "NotPrincipal":
                // "*" and {"AWS": "*"} mean the same.
                if value == .string("*") {
                    result[key] = .object(["AWS": .array([.string("*")])])
                } else if case .object(let principals) = value {
                    result[key] = .object(principals.mapValues(sortedList))
                } else {
                    result[key] = value
                }
            case "Condition":
                if case .object(let operators) = value {
                    result[key] = .object(operators.mapValues { conditions in
                        guard case .object(let keys) = conditions else { return conditions }
                        return .object(keys.mapValues(sortedList))
                    })
                } else {
                    result[key] = value
                }
            default:
                result[key] = value
            }
        }
        return .object(result)
    }

    /// A string or an array of them, as a sorted array without duplicates.
    private static func sortedList(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array(let items): return .array(Array(Set(items)).sorted { $0.encoded() < $1.encoded() })
        case .string, .bool, .number: return .array([value])
        default: return value
        }
    }

    // MARK: Documents recops writes

    static func document(_ statements: [JSONValue]) -> JSONValue {
        .object(["Version": .string("2012-10-17"), "Statement": .array(statements)])
    }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    /// The bucket policy: deny requests without TLS, deny public ACLs on object writes, and let
    /// CloudTrail deliver its logs when the trail writes into this bucket.
    public static func bucketPolicy(bucket: String, partition: AWSPartition, policy: Spec.Bucket.Policy, cloudTrailLogs: Bool) -> JSONValue {
        let bucketARN = "arn:\(partition.rawValue):s3:::\(bucket)"
        var statements: [JSONValue] = []
        if policy.denyInsecureTransport {
            statements.append(.object([
                "Sid": .string("DenyInsecureTransport"), "Effect": .string("Deny"), "Principal": .string("*"),
                "Action": .string("s3:*"), "Resource": strings([bucketARN, "\(bucketARN)/*"]),
                "Condition": .object(["Bool": .object(["aws:SecureTransport": .string("false")])]),
            ]))
        }
        if policy.denyPublicAcls {
            statements.append(.object([
                "Sid": .string("DenyPublicObjectAcls"), "Effect": .string("Deny"), "Principal": .string("*"),
                "Action": strings(["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"]), "Resource": .string("\(bucketARN)/*"),
                "Condition": .object(["StringEquals": .object(["s3:x-amz-acl": strings(["public-read", "public-read-write", "authenticated-read"])])]),
            ]))
            statements.append(.object([
                "Sid": .string("DenyPublicObjectGrants"), "Effect": .string("Deny"), "Principal": .string("*"),
                "Action": strings(["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"]), "Resource": .string("\(bucketARN)/*"),
                "Condition": .object(["StringLike": .object([
                    "s3:x-amz-grant-read": .string("*acs.amazonaws.com/groups/global/*"),
                    "s3:x-amz-grant-full-control": .string("*acs.amazonaws.com/groups/global/*"),
                ])]),
            ]))
        }
        if cloudTrailLogs {
            let service = JSONValue.object(["Service": .string("cloudtrail.amazonaws.com")])
            statements.append(.object([
                "Sid": .string("CloudTrailAclCheck"), "Effect": .string("Allow"), "Principal": service,
                "Action": .string("s3:GetBucketAcl"), "Resource": .string(bucketARN),
            ]))
            statements.append(.object([
                "Sid": .string("CloudTrailWrite"), "Effect": .string("Allow"), "Principal": service,
                "Action": .string("s3:PutObject"), "Resource": .string("\(bucketARN)/AWSLogs/*"),
                "Condition": .object(["StringEquals": .object(["s3:x-amz-acl": .string("bucket-owner-full-control")])]),
            ]))
        }
        return document(statements)
    }

    /// The pipeline user's inline policy: exactly the spec's actions on the spec's resources.
    public static func userPolicy(_ iam: Spec.IAM) -> JSONValue {
        document([.object([
            "Sid": .string("RecordingObjects"), "Effect": .string("Allow"),
            "Action": strings(iam.actions), "Resource": strings(iam.resources),
        ])])
    }

    /// Grants as a policy document (for `recops iam-policy`): one statement per resource set.
    public static func grants(_ grants: [Permissions.Grant]) -> JSONValue {
        var byResources: [[String]: Set<String>] = [:]
        for grant in grants {
            byResources[grant.resources.sorted(), default: []].formUnion(grant.actions)
        }
        let statements = byResources.keys.sorted { $0.joined() < $1.joined() }.map { resources in
            JSONValue.object(["Effect": .string("Allow"), "Action": strings(byResources[resources]!.sorted()), "Resource": strings(resources)])
        }
        return document(statements)
    }
}
