import AWS
import Foundation
import Transport

/// `recops keys rotate`: a new access key for the service user, proven before any old key is
/// touched. Never more than two keys (AWS's limit, and the most a rotation needs), never none
/// that works: old keys are deactivated and deleted only after a request signed with the new
/// key has succeeded.
public struct KeyRotation: Sendable {
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    public struct Outcome: Sendable {
        public var user: String
        public var newKey: IAM.NewAccessKey
        /// Old keys deactivated then deleted (with `retireOld`).
        public var retired: [String]
    }

    let iam: IAMClient
    /// Sends one signed request with the given credentials (STS GetCallerIdentity: it needs no
    /// permission, so it tests the key alone) and returns the caller's ARN.
    let prove: @Sendable (AWSCredentials) async throws -> String
    let sleep: @Sendable (Duration) async throws -> Void

    public init(iam: IAMClient, prove: @escaping @Sendable (AWSCredentials) async throws -> String,
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.iam = iam
        self.prove = prove
        self.sleep = sleep
    }

    /// The proof, with STS on the same endpoints as `aws`.
    public static func stsProof(like aws: AWSClient) -> @Sendable (AWSCredentials) async throws -> String {
        { credentials in
            try await STSClient(aws: aws.with(credentials: credentials, retry: RetryPolicy(maxAttempts: 1))).callerIdentity().arn
        }
    }

    /// `created` receives the new key the moment IAM returns it, before the proof: whatever fails
    /// afterwards, its secret (which AWS never shows again) has reached the operator.
    /// `proven` runs once the new key works and before any old key is touched: it hands the key
    /// over (writes the credentials file) and waits until nothing signs with the old ones; a
    /// throw keeps every old key.
    public func rotate(user: String, retireOld: Bool, proofTimeout: Duration = .seconds(60),
                       created onCreated: (IAM.NewAccessKey) -> Void = { _ in },
                       proven: ((_ new: IAM.NewAccessKey, _ retiring: [String]) async throws -> Void)? = nil) async throws -> Outcome {
        let existing = try await iam.accessKeys(user)
        guard existing.count < 2 else {
            throw Refused(description: "\(user) already has two access keys (\(existing.map(\.id).joined(separator: ", "))), AWS's limit: delete the one not in use first")
        }
        let created = try await iam.createAccessKey(user: user)
        onCreated(created)
        let outcome = Outcome(user: user, newKey: created, retired: [])
        let retiring = retireOld ? existing.map(\.id) : []
        guard !retiring.isEmpty || proven != nil else { return outcome }

        // IAM takes a few seconds to accept a new key everywhere: keep asking until it works.
        let deadline = ContinuousClock.now + proofTimeout
        var lastError: (any Error)?
        while true {
            do {
                let arn = try await prove(AWSCredentials(accessKeyID: created.id, secretAccessKey: created.secret))
                guard arn.hasSuffix(":user/\(user)") || arn.hasSuffix("/\(user)") else {
                    throw Refused(description: "the new key signs as \(arn), not as \(user): old keys kept")
                }
                break
            } catch let error as Refused {
                throw error
            } catch {
                lastError = error
                guard ContinuousClock.now < deadline else {
                    throw Refused(description: "the new key \(created.id) did not work within \(proofTimeout) (\(lastError.map { "\($0)" } ?? "")): old keys kept; the new key exists, test it before retiring the old one")
                }
                try await sleep(.seconds(2))
            }
        }
        do {
            try await proven?(created, retiring)
        } catch {
            throw Refused(description: "the new key \(created.id) works, but \(error): old keys kept")
        }
        var retired: [String] = []
        for key in existing where retiring.contains(key.id) {
            do {
                try await iam.updateAccessKey(user: user, id: key.id, active: false)
                try await iam.deleteAccessKey(user: user, id: key.id)
            } catch {
                throw Refused(description: "the new key \(created.id) works, but retiring \(key.id) failed (\(error))\(retired.isEmpty ? "" : "; already retired: \(retired.joined(separator: ", "))"): finish by hand or run again")
            }
            retired.append(key.id)
        }
        return Outcome(user: user, newKey: created, retired: retired)
    }
}
