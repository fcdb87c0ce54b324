import AWS
import Foundation
import Testing
import Transport

@Suite struct AWSConfigurationTests {
    @Test func environmentCredentialsWin() async throws {
        let config = try AWSConfiguration.fromEnvironment(
            ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
             "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_IAM": "http://127.0.0.1:10"],
            region: "eu-west-1")
        #expect(try await config.credentials.credentials() == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: "s", sessionToken: "t"))
        #expect(config.endpointOverrides["s3"]?.absoluteString == "http://127.0.0.1:9")
        #expect(config.endpointOverrides["iam"]?.absoluteString == "http://127.0.0.1:10")
        #expect(!"\(try await config.credentials.credentials())".contains("s,"))
    }

    @Test func theSharedCredentialsFileAndProfile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("credentials-\(UUID())")
        try """
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = default-secret

            [profile ops]
            aws_access_key_id=AKIDOPS
            aws_secret_access_key=ops-secret
            aws_session_token=ops-token
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let base = ["AWS_SHARED_CREDENTIALS_FILE": file.path, "AWS_CONFIG_FILE": file.path + ".absent", "AWS_EC2_METADATA_DISABLED": "true"]
        #expect(try await AWSConfiguration.fromEnvironment(base, region: "us-east-1").credentials.credentials().accessKeyID == "AKIDDEFAULT")
        let ops = try await AWSConfiguration.fromEnvironment(base.merging(["AWS_PROFILE": "ops"]) { $1 }, region: "us-east-1").credentials.credentials()
        #expect(ops == AWSCredentials(accessKeyID: "AKIDOPS", secretAccessKey: "ops-secret", sessionToken: "ops-token"))
        let named = try AWSConfiguration.fromEnvironment(base.merging(["AWS_PROFILE": "nope"]) { $1 }, region: "us-east-1")
        let error = await #expect(throws: CredentialsError.self) { _ = try await named.credentials.credentials() }
        #expect(error?.description.contains("profile nope: no [nope]") == true)
    }
}

@Suite struct RetryPolicyTests {
    actor Recorder {
        var delays: [Duration] = []
        var calls = 0
        func sleep(_ delay: Duration) { delays.append(delay) }
        func call() -> Int { calls += 1; return calls }
    }

    @Test func retriesThrottlingWithCappedJitteredBackoff() async throws {
        let recorder = Recorder()
        let policy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .milliseconds(250)) { await recorder.sleep($0) }
        let result = try await policy.run(shouldRetry: RetryPolicy.isRetryableAWS) {
            let n = await recorder.call()
            if n < 4 { throw AWSError(service: "iam", operation: "GetUser", code: "Throttling", message: "Rate exceeded", status: 400, requestID: nil) }
            return n
        }
        #expect(result == 4)
        let delays = await recorder.delays
        #expect(delays.count == 3)
        for (delay, cap) in zip(delays, [100, 200, 250]) {
            #expect(delay >= .zero && delay <= .milliseconds(cap))
        }
    }

    @Test func doesNotRetryClientErrors() async throws {
        let recorder = Recorder()
        let policy = RetryPolicy(maxAttempts: 4) { await recorder.sleep($0) }
        await #expect(throws: AWSError.self) {
            try await policy.run(shouldRetry: RetryPolicy.isRetryableAWS) { () async throws -> Int in
                _ = await recorder.call()
                throw AWSError(service: "s3", operation: "GetObject", code: "AccessDenied", message: "", status: 403, requestID: nil)
            }
        }
        #expect(await recorder.calls == 1)
    }

    @Test func givesUpAfterTheLastAttempt() async throws {
        let recorder = Recorder()
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1)) { await recorder.sleep($0) }
        await #expect(throws: TransportError.self) {
            try await policy.run(shouldRetry: RetryPolicy.isRetryableAWS) { () async throws -> Int in
                _ = await recorder.call()
                throw TransportError(kind: .connect, endpoint: "http://127.0.0.1:1", underlying: "refused")
            }
        }
        #expect(await recorder.calls == 3)
    }
}

import Logging

@Suite struct AddressingTests {
    static func s3(region: String, overrides: [String: URL] = [:]) -> S3Client {
        let configuration = AWSConfiguration(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"), region: region, endpointOverrides: overrides)
        return S3Client(aws: AWSClient(configuration: configuration, transport: AsyncHTTPClientTransport(), now: { Date(timeIntervalSince1970: 1_700_000_000) }, logger: Logger(label: "test")))
    }

    @Test func awsItselfIsVirtualHosted() async throws {
        let url = try await Self.s3(region: "eu-west-1").presignedGetURL(bucket: "acme-rec", key: "recordings/a b.mp3", expires: 900)
        #expect(url.host == "acme-rec.s3.eu-west-1.amazonaws.com")
        #expect(url.path == "/recordings/a b.mp3")
        #expect(url.absoluteString.contains("/recordings/a%20b.mp3?"))
        #expect(url.query?.contains("X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Feu-west-1%2Fs3%2Faws4_request") == true)
    }

    @Test func chinaUsesItsOwnDomain() async throws {
        #expect(try await Self.s3(region: "cn-north-1").presignedGetURL(bucket: "rec", key: "k", expires: 60).host == "rec.s3.cn-north-1.amazonaws.com.cn")
    }

    @Test func customEndpointsAndDottedNamesArePathStyle() async throws {
        let custom = try await Self.s3(region: "us-east-1", overrides: ["s3": URL(string: "http://127.0.0.1:5000")!])
            .presignedGetURL(bucket: "acme-rec", key: "recordings/x.mp3", expires: 60)
        #expect(custom.absoluteString.hasPrefix("http://127.0.0.1:5000/acme-rec/recordings/x.mp3?"))
        let dotted = try await Self.s3(region: "us-east-1").presignedGetURL(bucket: "acme.rec", key: "x.mp3", expires: 60)
        #expect(dotted.host == "s3.us-east-1.amazonaws.com")
        #expect(dotted.path == "/acme.rec/x.mp3")
    }

    @Test func presignedURLsLastAtMostSevenDays() async throws {
        let url = try await Self.s3(region: "us-east-1").presignedGetURL(bucket: "acme-rec", key: "x.mp3", expires: 30 * 86400)
        #expect(url.query?.contains("X-Amz-Expires=604800") == true)
    }
}
