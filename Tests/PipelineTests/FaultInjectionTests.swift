import AWS
import Foundation
import Pipeline
import Provision
import RecopsTesting
import Sandbox
import Testing
import Transport
import Verify

/// Failures real services have, injected by the proxy between recops and moto or the sandbox.
/// Outcomes are checked from outside: moto's objects, the sandbox's records, the proxy's counts.
@Suite struct FaultInjectionTests {
    @Test func s3ResettingMidUploadNeverLeavesACorruptObject() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let proxy = try await LocalProxy(upstream: moto.endpoint)
                try await proxy.add(.init(method: "PUT", pathPrefix: "/\(PipelineFixture.bucket)/recordings/", action: .reset, count: 2))
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, s3Endpoint: proxy.baseURL)
                let (sid, _) = try await fixture.recordedCall(job: "J-1001", duration: 60)
                let job = try #require(try await fixture.settle(expecting: 1).first)
                #expect(job.state == .linked && job.recordingSid == sid)
                let media = try #require(await sandbox.state.recordings.first { $0.sid == sid })
                let info = try #require(try await S3Client(aws: moto.client()).headObject(bucket: PipelineFixture.bucket, key: job.objectKey!))
                #expect(info.size == MP3Frames.silence(seconds: Double(media.duration)).count)
                #expect(info.checksumSHA256 == job.objectSHA256)
                #expect(try await proxy.stats()["faults"] == .number(2))
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1001")).count == 1)
            }
        }
    }

    /// moto does not check checksums (contracts README), so the proxy answers as S3 does when the
    /// bytes it received do not match `x-amz-checksum-sha256`: the upload is retried, and stored once.
    @Test func s3RefusingABodyByItsChecksumIsRetriedAndStoredWhole() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let proxy = try await LocalProxy(upstream: moto.endpoint)
                try await proxy.add(.init(method: "PUT", pathPrefix: "/\(PipelineFixture.bucket)/recordings/", action: .status, status: 400,
                                          body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>BadDigest</Code><Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>",
                                          count: 1))
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, s3Endpoint: proxy.baseURL)
                let (sid, _) = try await fixture.recordedCall(job: "J-1001", duration: 20)
                let job = try #require(try await fixture.settle(expecting: 1).first)
                #expect(job.state == .linked && job.recordingSid == sid)
                let info = try #require(try await S3Client(aws: moto.client()).headObject(bucket: PipelineFixture.bucket, key: job.objectKey!))
                #expect(info.size == MP3Frames.silence(seconds: 20).count && info.checksumSHA256 == job.objectSHA256)
                #expect(try await proxy.stats()["faults"] == .number(1))
                let history = try await fixture.history("J-1001")
                #expect(try PipelineFixture.urlLines(history).count == 1 && !history.contains("pending upload"))
            }
        }
    }

    @Test func s3SlowDownLongerThanTheRetryBudgetGivesPendingThenURLOnce() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let proxy = try await LocalProxy(upstream: moto.endpoint)
                try await proxy.add(.init(method: "PUT", action: .status, status: 503, body: FaultProxy.Rule.s3SlowDown, count: 5))
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, s3Endpoint: proxy.baseURL)
                try await fixture.recordedCall(job: "J-1002")
                let job = try #require(try await fixture.settle(expecting: 1, timeout: .seconds(60)).first)
                #expect(job.state == .linked)
                let history = try await fixture.history("J-1002")
                #expect(history.components(separatedBy: "Recording pending upload").count == 2)
                #expect(try PipelineFixture.urlLines(history).count == 1)
            }
        }
    }

    @Test func anUploadLongerThanItsLeaseRunsOnce() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let proxy = try await LocalProxy(upstream: moto.endpoint)
                // S3 takes 8 s to answer the upload; the lease is 3 s, renewed every second.
                try await proxy.add(.init(method: "PUT", pathPrefix: "/\(PipelineFixture.bucket)/recordings/", action: .latency, latencyMs: 8000))
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, s3Endpoint: proxy.baseURL, overrides: .init(lease: 3))
                try await fixture.recordedCall(job: "J-1001")
                let job = try #require(try await fixture.settle(expecting: 1, timeout: .seconds(60)).first)
                #expect(job.state == .linked)
                // One upload: no other worker slot took the step over while it ran.
                #expect(try await proxy.stats()["faults"] == .number(1))
                #expect(try PipelineFixture.urlLines(try await fixture.history("J-1001")).count == 1)
            }
        }
    }

    @Test func truncatedTwilioMediaIsRetriedAndNeverStoredShort() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                let proxy = try await LocalProxy(upstream: sandbox.baseURL)
                try await proxy.add(.init(method: "GET", pathSuffix: ".mp3", action: .truncate, count: 3))
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, twilioEndpoint: proxy.baseURL)
                let (sid, _) = try await fixture.recordedCall(job: "J-1003", duration: 30)
                let job = try #require(try await fixture.settle(expecting: 1, timeout: .seconds(60)).first)
                #expect(job.state == .linked)
                let full = MP3Frames.silence(seconds: 30).count
                #expect(job.objectSize == full)
                let info = try await S3Client(aws: moto.client()).headObject(bucket: PipelineFixture.bucket, key: job.objectKey!)
                #expect(info?.size == full)
                #expect(job.qualityProblem == nil)
                #expect(try await proxy.stats()["faults"] == .number(3))
                #expect(job.recordingSid == sid)
            }
        }
    }

    @Test func airtableStormsNeverPushPastFiveASecondAndLoseOrDoubleNothing() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let proxy = try await LocalProxy(upstream: sandbox.baseURL)
                // A storm of 429s on a third of the requests, and a run of 503s.
                try await proxy.add(.init(pathPrefix: "/v0/", action: .status, status: 429,
                                      body: #"{"error":{"type":"RATE_LIMIT_REACHED","message":"Rate limit exceeded"}}"#, count: 15, fraction: 0.33))
                try await proxy.add(.init(pathPrefix: "/v0/", action: .status, status: 503, body: #"{"error":"SERVER_ERROR"}"#, count: 10))
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, airtableEndpoint: proxy.baseURL)
                let jobs = ["J-1001", "J-1002", "J-1003"]
                for index in 0..<12 {
                    try await fixture.recordedCall(job: jobs[index % 3])
                }
                let settled = try await fixture.settle(expecting: 12, timeout: .seconds(120))
                #expect(settled.allSatisfy { $0.state == .linked })
                for job in jobs {
                    #expect(try PipelineFixture.urlLines(try await fixture.history(job)).count == 4)
                }
                let stats = try await proxy.stats()
                let peak = try #require(stats["max_per_second"]?["/v0"]?.numberValue)
                #expect(peak <= 5, "\(stats)")
                #expect((stats["faults"]?.numberValue ?? 0) >= 10)
            }
        }
    }

    /// The issue's "5 minutes of 503": real time, since the point is the retry schedule's cap
    /// (a minute) against the spec's history_retry_within (15 minutes).
    @Test func fiveMinutesOfAirtable503sDelayLinesWithinTheRetryWindow() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with(throttlePause: .seconds(1)) { sandbox in
                let proxy = try await LocalProxy(upstream: sandbox.baseURL)
                try await proxy.add(.init(pathPrefix: "/v0/", action: .status, status: 503, body: #"{"error":"SERVER_ERROR"}"#, durationMs: 300_000))
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox, airtableEndpoint: proxy.baseURL, overrides: .init(retryBase: 1))
                let jobs = ["J-1001", "J-1002", "J-1003"]
                for index in 0..<6 {
                    try await fixture.recordedCall(job: jobs[index % 3])
                }
                let settled = try await fixture.settle(expecting: 6, timeout: .seconds(480))
                #expect(settled.allSatisfy { $0.state == .linked })
                let window = TimeInterval(fixture.spec.recordings!.historyRetryWithin.seconds)
                for job in settled {
                    let waited = job.linkedAt!.timeIntervalSince(job.receivedAt)
                    #expect(waited >= 299 && waited < window, "\(job.recordingSid) linked after \(waited) s")
                }
                for job in jobs {
                    #expect(try PipelineFixture.urlLines(try await fixture.history(job)).count == 2)
                }
                #expect((try await proxy.stats()["max_per_second"]?["/v0"]?.numberValue ?? 99) <= 5)
            }
        }
    }

    @Test func verifyUnderIAMThrottlingRetriesThenCannotCheckNeverInSync() async throws {
        try await MotoServer.with { moto in
            let fixture = try ProvisionFixture(moto: moto)
            try await fixture.apply()
            let proxy = try await LocalProxy(upstream: moto.endpoint)
            try await proxy.add(.init(method: "POST", pathPrefix: "/", action: .status, status: 400,
                                  body: "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"))
            var overrides = Dictionary(uniqueKeysWithValues: ["s3", "sts", "cloudtrail"].map { ($0, moto.endpoint) })
            overrides["iam"] = proxy.baseURL
            let aws = AWSClient(configuration: AWSConfiguration(credentials: MotoServer.bootstrapCredentials, region: "us-east-1", endpointOverrides: overrides),
                                transport: AsyncHTTPClientTransport(), retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10)), now: { Date() },
                                logger: quietServerLogger("test.aws"))
            let report = await Verifier(engine: Engine(resources: AWSResources.make(spec: fixture.loaded.spec, aws: aws, now: { Date() })),
                                        sourceMap: fixture.loaded.sourceMap).run()
            #expect(report.status == .unknown)
            #expect(report.failures.map(\.resource.description) == ["iam.user/recording-pipeline"])
            #expect(report.failures.first?.reason.message.contains("Throttling") == true)
            #expect(report.render(.text).contains("no conclusion"))
            // GetUser, whose answer decides, was tried three times before giving up; the calls
            // beside it were cancelled then, wherever their own retries had got to, never past three.
            guard case .object(let operations)? = try await proxy.stats()["operations"] else { Issue.record("no operation counts"); return }
            #expect(operations["GetUser"] == .number(3), "\(operations)")
            #expect(operations.values.allSatisfy { ($0.numberValue ?? 0) <= 3 }, "\(operations)")
        }
    }
}
