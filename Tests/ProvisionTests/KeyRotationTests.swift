import AWS
import Foundation
import Provision
import RecopsBase
import RecopsTesting
import Testing

/// Rotation under moto with every signature and IAM policy checked: the old key works until the
/// new one is proven, and then no more.
@Suite struct KeyRotationTests {
    @Test func theOldKeyIsRetiredOnlyAfterTheNewOneIsProven() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await EnforcedAuthTests.bootstrapAdmin(moto)
            let aws = moto.client(credentials: admin)
            let iam = IAMClient(aws: aws)
            try await iam.createUser("recording-pipeline")
            let old = try await iam.createAccessKey(user: "recording-pipeline")
            let oldCredentials = AWSCredentials(accessKeyID: old.id, secretAccessKey: old.secret)

            // Proofs are recorded: at the moment of the proof the old key must still be active.
            let proofs = Locked<[(arn: String, oldStillActive: Bool)]>([])
            let rotation = KeyRotation(iam: iam, prove: { credentials in
                let arn = try await KeyRotation.stsProof(like: aws)(credentials)
                let active = try await iam.accessKeys("recording-pipeline").first { $0.id == old.id }?.active ?? false
                proofs.withLock { $0.append((arn, active)) }
                return arn
            })
            let outcome = try await rotation.rotate(user: "recording-pipeline", retireOld: true)
            #expect(outcome.retired == [old.id])
            #expect(proofs.value.count == 1)
            #expect(proofs.value.first?.arn.hasSuffix(":user/recording-pipeline") == true)
            #expect(proofs.value.first?.oldStillActive == true)

            let keys = try await iam.accessKeys("recording-pipeline")
            #expect(keys.map(\.id) == [outcome.newKey.id])
            // The new key signs; the old one is refused.
            let newCredentials = AWSCredentials(accessKeyID: outcome.newKey.id, secretAccessKey: outcome.newKey.secret)
            #expect(try await STSClient(aws: aws.with(credentials: newCredentials)).callerIdentity().arn.hasSuffix("user/recording-pipeline"))
            await #expect(throws: AWSError.self) { _ = try await STSClient(aws: aws.with(credentials: oldCredentials)).callerIdentity() }
        }
    }

    @Test func neverAThirdKeyAndNeverRetiringWithoutProof() async throws {
        try await MotoServer.with { moto in
            let iam = IAMClient(aws: moto.client())
            try await iam.createUser("recording-pipeline")
            let first = try await iam.createAccessKey(user: "recording-pipeline")
            // A proof that always fails: the old key must survive, active.
            let failing = KeyRotation(iam: iam, prove: { _ in throw AWSError(service: "sts", operation: "GetCallerIdentity", code: "InvalidClientTokenId", message: "", status: 403, requestID: nil) },
                                      sleep: { _ in })
            let handedOver = Locked<IAM.NewAccessKey?>(nil)
            let refused = await #expect(throws: KeyRotation.Refused.self) {
                try await failing.rotate(user: "recording-pipeline", retireOld: true, proofTimeout: .zero) { key in handedOver.exchange(key) }
            }
            #expect(refused?.description.contains("old keys kept") == true)
            let keys = try await iam.accessKeys("recording-pipeline")
            #expect(keys.count == 2)
            // The unproven key's secret still reached the caller (AWS never shows it again).
            let handed = try #require(handedOver.value)
            #expect(keys.contains { $0.id == handed.id } && handed.id != first.id && !handed.secret.isEmpty)
            #expect(keys.first { $0.id == first.id }?.active == true)
            // Two keys already: no third.
            let third = await #expect(throws: KeyRotation.Refused.self) {
                try await KeyRotation(iam: iam, prove: { _ in "" }).rotate(user: "recording-pipeline", retireOld: true)
            }
            #expect(third?.description.contains("already has two access keys") == true)
            #expect(try await iam.accessKeys("recording-pipeline").count == 2)
        }
    }
}
