import Foundation
import Transport

/// IAM through its Query protocol (form POST, XML answers): the pipeline user, its policies,
/// groups and access keys.
public struct IAMClient: Sendable {
    public let aws: AWSClient
    /// Items per page of list calls; nil leaves it to IAM (100).
    public var pageSize: Int?

    public init(aws: AWSClient, pageSize: Int? = nil) {
        self.aws = aws
        self.pageSize = pageSize
    }

    /// Calls an action and returns its `<Action>Result` element.
    func action(_ name: String, _ parameters: [(String, String)] = []) async throws -> XMLNode {
        let form = ([("Action", name), ("Version", "2010-05-08")] + parameters)
            .map { "\(SigV4Signer.uriEncode($0.0))=\(SigV4Signer.uriEncode($0.1))" }
            .joined(separator: "&")
        let call = AWSClient.Call(
            service: "iam", operation: name, method: "POST",
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
            body: Data(form.utf8))
        let response = try await aws.send(call)
        let xml = XMLNode.parse(response.body)
        return xml?.child("\(name)Result") ?? XMLNode(name: "\(name)Result")
    }

    /// Follows `Marker` pages until `IsTruncated` is false.
    func paginated(_ name: String, _ parameters: [(String, String)], collect: (XMLNode) -> Void) async throws {
        var marker: String?
        repeat {
            var page = parameters
            if let pageSize { page.append(("MaxItems", String(pageSize))) }
            if let marker { page.append(("Marker", marker)) }
            let result = try await action(name, page)
            collect(result)
            marker = result["IsTruncated"] == "true" ? result["Marker"] : nil
        } while marker != nil
    }

    private func absentOnNoSuchEntity<T>(_ body: () async throws -> T) async throws -> T? {
        do {
            return try await body()
        } catch let error as AWSError where error.code == "NoSuchEntity" {
            return nil
        }
    }

    // MARK: Users

    public func user(_ name: String) async throws -> IAM.User? {
        try await absentOnNoSuchEntity {
            let user = try await action("GetUser", [("UserName", name)]).child("User")
            return IAM.User(name: user?["UserName"] ?? name, arn: user?["Arn"] ?? "", id: user?["UserId"] ?? "")
        }
    }

    @discardableResult
    public func createUser(_ name: String) async throws -> IAM.User {
        let user = try await action("CreateUser", [("UserName", name)]).child("User")
        return IAM.User(name: user?["UserName"] ?? name, arn: user?["Arn"] ?? "", id: user?["UserId"] ?? "")
    }

    // MARK: Inline policies

    public func userPolicyNames(_ user: String) async throws -> [String] {
        var names: [String] = []
        try await paginated("ListUserPolicies", [("UserName", user)]) { result in
            names += result.child("PolicyNames")?.children("member").map(\.text) ?? []
        }
        return names
    }

    /// The policy document, decoded (IAM answers it URL-encoded), or nil when there is none.
    public func userPolicy(user: String, name: String) async throws -> String? {
        try await absentOnNoSuchEntity {
            let encoded = try await action("GetUserPolicy", [("UserName", user), ("PolicyName", name)])["PolicyDocument"] ?? ""
            return encoded.removingPercentEncoding ?? encoded
        }
    }

    public func putUserPolicy(user: String, name: String, document: String) async throws {
        _ = try await action("PutUserPolicy", [("UserName", user), ("PolicyName", name), ("PolicyDocument", document)])
    }

    public func deleteUserPolicy(user: String, name: String) async throws {
        _ = try await action("DeleteUserPolicy", [("UserName", user), ("PolicyName", name)])
    }

    // MARK: Managed policies and groups

    public func attachedUserPolicies(_ user: String) async throws -> [IAM.AttachedPolicy] {
        var policies: [IAM.AttachedPolicy] = []
        try await paginated("ListAttachedUserPolicies", [("UserName", user)]) { result in
            policies += result.child("AttachedPolicies")?.children("member").map {
                IAM.AttachedPolicy(name: $0["PolicyName"] ?? "", arn: $0["PolicyArn"] ?? "")
            } ?? []
        }
        return policies
    }

    /// Creates a customer managed policy and returns its ARN.
    public func createPolicy(name: String, document: String) async throws -> String {
        try await action("CreatePolicy", [("PolicyName", name), ("PolicyDocument", document)])["Policy", "Arn"] ?? ""
    }

    public func attachUserPolicy(user: String, arn: String) async throws {
        _ = try await action("AttachUserPolicy", [("UserName", user), ("PolicyArn", arn)])
    }

    public func detachUserPolicy(user: String, arn: String) async throws {
        _ = try await action("DetachUserPolicy", [("UserName", user), ("PolicyArn", arn)])
    }

    public func groupsForUser(_ user: String) async throws -> [String] {
        var groups: [String] = []
        try await paginated("ListGroupsForUser", [("UserName", user)]) { result in
            groups += result.child("Groups")?.children("member").compactMap { $0["GroupName"] } ?? []
        }
        return groups
    }

    public func createGroup(_ name: String) async throws {
        _ = try await action("CreateGroup", [("GroupName", name)])
    }

    public func addUserToGroup(user: String, group: String) async throws {
        _ = try await action("AddUserToGroup", [("UserName", user), ("GroupName", group)])
    }

    public func removeUserFromGroup(user: String, group: String) async throws {
        _ = try await action("RemoveUserFromGroup", [("UserName", user), ("GroupName", group)])
    }

    // MARK: Access keys

    public func accessKeys(_ user: String) async throws -> [IAM.AccessKey] {
        var keys: [IAM.AccessKey] = []
        let formatter = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        try await paginated("ListAccessKeys", [("UserName", user)]) { result in
            keys += result.child("AccessKeyMetadata")?.children("member").map { member in
                let created = member["CreateDate"].flatMap { formatter.date(from: $0) ?? fractional.date(from: $0) }
                return IAM.AccessKey(id: member["AccessKeyId"] ?? "", active: member["Status"] == "Active", created: created)
            } ?? []
        }
        return keys
    }

    public func createAccessKey(user: String) async throws -> IAM.NewAccessKey {
        let key = try await action("CreateAccessKey", [("UserName", user)]).child("AccessKey")
        return IAM.NewAccessKey(id: key?["AccessKeyId"] ?? "", secret: key?["SecretAccessKey"] ?? "")
    }

    public func updateAccessKey(user: String, id: String, active: Bool) async throws {
        _ = try await action("UpdateAccessKey", [("UserName", user), ("AccessKeyId", id), ("Status", active ? "Active" : "Inactive")])
    }

    public func deleteAccessKey(user: String, id: String) async throws {
        _ = try await action("DeleteAccessKey", [("UserName", user), ("AccessKeyId", id)])
    }
}
