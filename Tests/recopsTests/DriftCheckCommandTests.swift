import Foundation
import RecopsTesting
import Spec
import Testing

/// plan, apply, verify and iam-policy as CI runs them: the built binary, exit codes and output.
@Suite struct DriftCheckCommandTests {
    /// Only AWS's variables: `--only aws` must not need Twilio's or Airtable's.
    static func environment(_ moto: MotoServer) -> [String: String] {
        moto.environment().merging(["S3_BUCKET": "acme-call-recordings", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 }
    }

    /// A directory laid out like a checkout, its `infra/policy.yaml` the project's spec less what
    /// moto cannot hold (MotoGaps): the commands find the spec where a user's CI would.
    static func checkout() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recops-drift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("infra"), withIntermediateDirectories: true)
        let text = try MotoGaps.lifecycle(text: try String(contentsOfFile: ProvisionFixture.specPath, encoding: .utf8))
        try text.write(to: directory.appendingPathComponent("infra/policy.yaml"), atomically: true, encoding: .utf8)
        return directory
    }

    @Test func planApplyVerifyExitCodes() async throws {
        try await MotoServer.with { moto in
            let env = Self.environment(moto)
            let checkout = try Self.checkout()
            defer { try? FileManager.default.removeItem(at: checkout) }
            let plan = try await RecopsBinary.run(["plan", "--only", "aws"], environment: env, in: checkout)
            #expect(plan.status == 2, "\(plan.stderr)")
            #expect(plan.stdout.contains("+ s3.bucket/acme-call-recordings"))
            #expect(plan.stdout.hasSuffix("Plan: 3 to create, 0 to update\n"))

            let refused = try await RecopsBinary.run(["apply", "--only", "aws"], environment: env, in: checkout)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("refusing to change anything without a terminal"))
            #expect(try await RecopsBinary.run(["plan", "--only", "aws"], environment: env, in: checkout).status == 2)

            let apply = try await RecopsBinary.run(["apply", "--only", "aws", "--auto-approve"], environment: env, in: checkout)
            #expect(apply.status == 0, "\(apply.stderr)")
            #expect(apply.stdout.contains("Apply complete: 3 resources changed."))
            #expect(try await RecopsBinary.run(["apply", "--only", "aws", "--auto-approve"], environment: env, in: checkout).stdout.contains("No changes"))

            let verify = try await RecopsBinary.run(["verify", "--only", "aws"], environment: env, in: checkout)
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            #expect(verify.stdout.hasPrefix("In sync: 3 resources match the spec. (17 requests,"))

            try await AWSCLI(moto: moto).run(["s3api", "put-bucket-encryption", "--bucket", "acme-call-recordings", "--server-side-encryption-configuration",
                                        #"{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"}}]}"#])
            let drift = try await RecopsBinary.run(["verify", "--only", "aws", "--format", "json"], environment: env, in: checkout)
            #expect(drift.status == 2)
            let report = try JSONDecoder().decode(JSONValue.self, from: Data(drift.stdout.utf8))
            #expect(report["status"] == .string("drift"))
            guard case .array(let findings)? = report["findings"], let finding = findings.first else {
                Issue.record("no findings: \(drift.stdout)")
                return
            }
            #expect(finding["property"] == .string("encryption.algorithm"))
            #expect(finding["expected"] == .string("AES256"))
            #expect(finding["actual"] == .string("aws:kms"))
            #expect(finding["fixable_by_apply"] == .bool(true))

            let github = try await RecopsBinary.run(["verify", "--only", "aws", "--format", "github"], environment: env, in: checkout)
            #expect(github.stdout.hasPrefix("::error file=infra/policy.yaml,line=15,col="))

            moto.process.killNow()
            let down = try await RecopsBinary.run(["verify", "--only", "aws"], environment: env, in: checkout)
            #expect(down.status == 1)
            #expect(down.stdout.contains("could not check (network)"))
        }
    }

    @Test func applyAsksOnATerminal() async throws {
        try await MotoServer.with { moto in
            let env = Self.environment(moto)
            let checkout = try Self.checkout()
            defer { try? FileManager.default.removeItem(at: checkout) }
            let declined = try await RecopsBinary.runOnTerminal(["apply", "--only", "aws"], input: "no\n", environment: env, in: checkout)
            #expect(declined.stdout.contains("Apply these changes? Only 'yes' is accepted:"))
            #expect(declined.stdout.contains("Cancelled; nothing was changed."))
            #expect(declined.status == 1)
            #expect(try await RecopsBinary.run(["plan", "--only", "aws"], environment: env, in: checkout).status == 2)

            let accepted = try await RecopsBinary.runOnTerminal(["apply", "--only", "aws"], input: "yes\n", environment: env, in: checkout)
            #expect(accepted.status == 0, "\(accepted.stdout)")
            #expect(accepted.stdout.contains("Apply complete: 3 resources changed."))
            #expect(try await RecopsBinary.run(["plan", "--only", "aws"], environment: env, in: checkout).status == 0)
        }
    }

    /// No source configured: with instance metadata off, every source is named at once; with it
    /// on (and nothing answering), each resource cannot be checked, the error naming IMDS and
    /// what came before it.
    @Test func missingCredentialsCannotCheck() async throws {
        let base = ["S3_BUCKET": "acme-call-recordings", "HOME": "/nonexistent"]
        let off = try await RecopsBinary.run(["verify", "--only", "aws"], environment: base.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { $1 })
        #expect(off.status == 1)
        #expect(off.stderr.contains("could not check (credentials): no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID is not set), web identity"))
        let nothing = try await RecopsBinary.run(["verify", "--only", "aws"], environment: base.merging(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(freeLoopbackPort())"]) { $1 })
        #expect(nothing.status == 1)
        #expect(nothing.stdout.contains("could not check (credentials): EC2 instance metadata (IMDSv2, 127.0.0.1): no answer"), "\(nothing.stdout)")
        #expect(nothing.stdout.contains("before it: environment (AWS_ACCESS_KEY_ID is not set)"))
    }

    @Test func theVerifyRoleIsReadOnly() async throws {
        let run = try await RecopsBinary.run(["iam-policy", "--for", "verify"], environment: ["S3_BUCKET": "acme-call-recordings"])
        #expect(run.status == 0, "\(run.stderr)")
        let policy = try JSONDecoder().decode(JSONValue.self, from: Data(run.stdout.utf8))
        guard case .array(let statements)? = policy["Statement"] else {
            Issue.record("no statements")
            return
        }
        let actions = statements.flatMap { statement -> [String] in
            guard case .array(let items)? = statement["Action"] else { return [] }
            return items.compactMap { if case .string(let text) = $0 { return text } else { return nil } }
        }
        #expect(actions.contains("s3:GetEncryptionConfiguration"))
        #expect(actions.contains("iam:ListAccessKeys"))
        #expect(!actions.contains { $0.contains(":Put") || $0.contains(":Create") || $0.contains(":Delete") })

        let pipeline = try await RecopsBinary.run(["iam-policy", "--for", "pipeline"], environment: ["S3_BUCKET": "acme-call-recordings"])
        #expect(pipeline.stdout.contains("arn:aws:s3:::acme-call-recordings/recordings/*"))
    }
}
