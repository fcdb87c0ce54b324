import AWS
import Foundation
import Spec

/// `iam.user/<name>`: the pipeline's user with exactly one inline policy and nothing else.
///
/// Least privilege is checked, not assumed: another inline policy, an attached policy or a group
/// grants more than the spec says, so each is drift that apply removes. Access keys are checked
/// but never created or shown: rotation is a person's decision (`recops keys rotate`).
public struct IAMUserResource: Resource {
    public struct State: Equatable, Codable, Sendable {
        /// Canonical statements of the managed inline policy.
        public var inlinePolicy: [JSONValue]
        public var otherInlinePolicies: [String]
        public var attachedPolicies: [String]
        public var groups: [String]
        /// Observed only, for the key checks.
        public var accessKeys: [AccessKey]?

        public struct AccessKey: Equatable, Codable, Sendable {
            public var id: String
            public var active: Bool
            public var created: Date?
        }
    }

    public let id: ResourceID
    public let part = SpecPart.aws
    public let specPath = "iam"
    public let desired: State
    let spec: Spec.IAM
    let partition: AWSPartition
    let iam: IAMClient
    let now: @Sendable () -> Date

    public init(spec: Spec.IAM, partition: AWSPartition, iam: IAMClient, now: @escaping @Sendable () -> Date) {
        self.spec = spec
        self.partition = partition
        self.iam = iam
        self.now = now
        id = ResourceID("iam.user", spec.user)
        desired = State(inlinePolicy: Self.statements(PolicyDocument.userPolicy(spec)), otherInlinePolicies: [], attachedPolicies: [], groups: [], accessKeys: nil)
    }

    static func statements(_ document: JSONValue?) -> [JSONValue] {
        guard let document, case .array(let items)? = PolicyDocument.canonical(document)["Statement"] else { return [] }
        return items
    }

    public func observe() async throws -> State? {
        let user = spec.user
        async let found = iam.user(user)
        async let names = iam.userPolicyNames(user)
        async let document = iam.userPolicy(user: user, name: spec.policyName)
        async let attached = iam.attachedUserPolicies(user)
        async let groups = iam.groupsForUser(user)
        async let keys = iam.accessKeys(user)
        guard try await found != nil else { return nil }
        return State(
            inlinePolicy: Self.statements(try await document.flatMap { text in PolicyDocument.canonical(text: text) }),
            otherInlinePolicies: try await names.filter { $0 != spec.policyName }.sorted(),
            attachedPolicies: try await attached.map(\.arn).sorted(),
            groups: try await groups.sorted(),
            accessKeys: try await keys.map { .init(id: $0.id, active: $0.active, created: $0.created) })
    }

    public func checks(observed: State?) -> [CheckFailure] {
        let active = (observed?.accessKeys ?? []).filter(\.active)
        var failures: [CheckFailure] = []
        if active.count > 1 {
            failures.append(CheckFailure(
                property: "access_keys", expected: .string("at most 1 active key"), actual: .string("\(active.count) active keys"),
                message: "user \(spec.user) has \(active.count) active access keys; finish the rotation: recops keys rotate --retire-old"))
        }
        let maxAge = TimeInterval(spec.accessKeyMaxAgeDays * 86400)
        for key in active {
            guard let created = key.created else { continue }
            let age = now().timeIntervalSince(created)
            if age > maxAge {
                failures.append(CheckFailure(
                    property: "access_keys.\(key.id).age", expected: .string("≤ \(spec.accessKeyMaxAgeDays) days"),
                    actual: .string("\(Int(age / 86400)) days"),
                    message: "access key \(key.id) of \(spec.user) is \(Int(age / 86400)) days old (limit \(spec.accessKeyMaxAgeDays)); rotate it: recops keys rotate --retire-old"))
            }
        }
        return failures
    }

    public func apply(_ change: Change<State>) async throws {
        let user = spec.user
        let current: State
        switch change {
        case .create:
            try await iam.createUser(user)
            current = State(inlinePolicy: [], otherInlinePolicies: [], attachedPolicies: [], groups: [], accessKeys: [])
        case .update(let from, _, _):
            current = from
        }
        if current.inlinePolicy != desired.inlinePolicy {
            try await iam.putUserPolicy(user: user, name: spec.policyName, document: PolicyDocument.userPolicy(spec).encoded())
        }
        for name in current.otherInlinePolicies {
            try await iam.deleteUserPolicy(user: user, name: name)
        }
        for arn in current.attachedPolicies {
            try await iam.detachUserPolicy(user: user, arn: arn)
        }
        for group in current.groups {
            try await iam.removeUserFromGroup(user: user, group: group)
        }
    }

    public var permissions: Permissions {
        let userARN = "arn:\(partition.rawValue):iam::*:user/\(spec.user)"
        return Permissions(
            read: [.init(["iam:GetUser", "iam:ListUserPolicies", "iam:GetUserPolicy", "iam:ListAttachedUserPolicies",
                          "iam:ListGroupsForUser", "iam:ListAccessKeys"], on: [userARN])],
            write: [.init(["iam:CreateUser", "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:DetachUserPolicy"], on: [userARN]),
                    .init(["iam:RemoveUserFromGroup"], on: ["arn:\(partition.rawValue):iam::*:group/*"])])
    }
}
