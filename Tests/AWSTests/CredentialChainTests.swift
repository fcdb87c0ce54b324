import AWS
import Foundation
import Logging
import RecopsBase
import RecopsTesting
import Testing
import Transport

/// Each link of the SDKs' credential chain against a real answer: moto with signatures and IAM
/// policies checked (STS AssumeRole, AssumeRoleWithWebIdentity), and the local container and
/// instance-metadata server speaking their documented protocols.
@Suite struct CredentialChainTests {
    static let role = "arn:aws:iam::123456789012:role/recops-pipeline"

    /// An administrator made inside moto's free window; from here on moto checks every request.
    static func admin(_ moto: MotoServer) async throws -> AWSCredentials {
        try await moto.administrator()
    }

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("recops-credentials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The environment a test's chain reads: moto's endpoint, its files, no instance metadata.
    static func environment(_ moto: MotoServer?, _ directory: URL, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["HOME": directory.path, "AWS_EC2_METADATA_DISABLED": "true",
                           "AWS_CONFIG_FILE": directory.appendingPathComponent("config").path,
                           "AWS_SHARED_CREDENTIALS_FILE": directory.appendingPathComponent("credentials").path]
        if let moto { environment["AWS_ENDPOINT_URL"] = moto.endpoint.absoluteString }
        return environment.merging(extra) { $1 }
    }

    static func configuration(_ environment: [String: String], now: @escaping @Sendable () -> Date = { Date() }) throws -> AWSConfiguration {
        try AWSConfiguration.fromEnvironment(environment, region: "us-east-1", now: now)
    }

    static func identity(_ configuration: AWSConfiguration) async throws -> String {
        try await STSClient(aws: AWSClient(configuration: configuration, transport: AsyncHTTPClientTransport(), now: { Date() }, logger: Logger(label: "test"))).callerIdentity().arn
    }

    @Test func theEnvironmentComesFirstAndAHalfSetOneIsAnError() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n".write(to: directory.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
        let configuration = try Self.configuration(Self.environment(nil, directory, ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "t"]))
        #expect(configuration.credentials.source == "environment")
        #expect(try await configuration.credentials.credentials() == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: "env-secret", sessionToken: "t"))
        let half = #expect(throws: CredentialsError.self) { try Self.configuration(Self.environment(nil, directory, ["AWS_ACCESS_KEY_ID": "AKIDENV"])) }
        #expect(half?.description == "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        // Without the environment the default profile is next.
        let file = try Self.configuration(Self.environment(nil, directory))
        #expect(try await file.credentials.credentials().accessKeyID == "AKIDFILE")
        #expect(file.credentials.source.hasPrefix("profile default"))
    }

    @Test func nothingConfiguredNamesEverySourceTried() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let none = #expect(throws: NoCredentials.self) { try Self.configuration(Self.environment(nil, directory)) }
        let text = none?.description ?? ""
        for source in ["environment", "web identity", "profile default", "container credentials", "EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)"] {
            #expect(text.contains(source), "\(text)")
        }
        // A named profile that is not there is an error of its own, not a reason to go on.
        let named = try Self.configuration(Self.environment(nil, directory, ["AWS_PROFILE": "ops"]))
        let missing = await #expect(throws: CredentialsError.self) { _ = try await named.credentials.credentials() }
        #expect(missing?.description.contains("profile ops: no [ops] in") == true)
    }

    /// The writer keeps what it does not own: CRLF endings, comments after a header, every
    /// section of the profile's name (the pair in the first, no stale token in any).
    @Test func aKeyIsWrittenIntoTheFileWithoutDisturbingTheRest() {
        let text = "[other] ; team key\r\naws_access_key_id = AKIDOTHER\r\naws_secret_access_key = o\r\n[profile pipeline]\r\naws_access_key_id = AKIDOLD\r\naws_session_token = stale\r\n[pipeline]\r\naws_secret_access_key = old\r\n"
        let written = SharedConfigFiles.replacingKey(in: text, profile: "pipeline", accessKeyID: "AKIDNEW", secretAccessKey: "new")
        #expect(written == "[other] ; team key\r\naws_access_key_id = AKIDOTHER\r\naws_secret_access_key = o\r\n[profile pipeline]\r\naws_access_key_id = AKIDNEW\r\naws_secret_access_key = new\r\n[pipeline]\r\n")
        let profiles = SharedConfigFiles.parse(written, isConfig: false)
        #expect(profiles["pipeline"] == ["aws_access_key_id": "AKIDNEW", "aws_secret_access_key": "new"])
        #expect(profiles["other"]?["aws_access_key_id"] == "AKIDOTHER")
        #expect(SharedConfigFiles.replacingKey(in: "", profile: "default", accessKeyID: "A", secretAccessKey: "s") == "[default]\naws_access_key_id = A\naws_secret_access_key = s\n")
    }

    /// On EC2 `[default]` often holds only a region: the chain goes on past it, as the SDKs do.
    @Test func aDefaultProfileWithoutCredentialsIsPassedOver() async throws {
        try await MotoServer.with { moto in
            let server = try await LocalCredentialServer { .init(credentials: MotoServer.bootstrapCredentials, expiration: Date().addingTimeInterval(3600)) }
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try "[default]\nregion = eu-west-1\n".write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
            let configuration = try Self.configuration(Self.environment(moto, directory, server.containerEnvironment))
            #expect(configuration.credentials.source.hasPrefix("container credentials"))
            #expect(!ContainerCredentials.allowedOverHTTP("127.0.0.1.example.com") && ContainerCredentials.allowedOverHTTP("127.0.0.2"))
        }
    }

    /// EKS's way: the token file is read at every fetch, the role assumed without a signature.
    /// moto 5.2.1 with IAM checks on answers any unsigned request 500 (it reads the missing
    /// Authorization header), though AWS takes this one unsigned: here moto checks nothing.
    @Test func webIdentityAssumesTheRoleAndReadsTheTokenEachTime() async throws {
        try await MotoServer.with { moto in
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let token = directory.appendingPathComponent("token")
            try "eyJhbGciOiJSUzI1NiJ9.first.signature".write(to: token, atomically: true, encoding: .utf8)
            let environment = Self.environment(moto, directory, ["AWS_WEB_IDENTITY_TOKEN_FILE": token.path, "AWS_ROLE_ARN": Self.role,
                                                                 "AWS_ROLE_SESSION_NAME": "recops-test"])
            let configuration = try Self.configuration(environment)
            #expect(configuration.credentials.source == "web identity (\(Self.role))")
            let credentials = try await configuration.credentials.credentials()
            #expect(credentials.accessKeyID.hasPrefix("ASIA"))
            #expect(credentials.sessionToken?.isEmpty == false)
            #expect((credentials.expiration?.timeIntervalSinceNow ?? 0) > 600)
            #expect(try await Self.identity(configuration).contains(":assumed-role/recops-pipeline/recops-test"))

            // The same source, after the kubelet's file is gone: read again, so it says so.
            let fresh = WebIdentityCredentials(tokenFile: token.path, roleARN: Self.role, sessionName: nil,
                                               sts: STSClient(aws: moto.client(credentials: AWSCredentials(accessKeyID: "", secretAccessKey: ""))))
            #expect(try await fresh.fetch().accessKeyID.hasPrefix("ASIA"))
            try FileManager.default.removeItem(at: token)
            let unreadable = await #expect(throws: CredentialsError.self) { _ = try await fresh.fetch() }
            #expect(unreadable?.description.hasPrefix("web identity (\(Self.role)): cannot read the token file \(token.path)") == true)
        }
    }

    /// Static keys in a profile, read again when the file is rewritten (a rotation with no restart).
    @Test func aProfilesKeysAreReadAgainWhenTheFileChanges() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await Self.admin(moto)
            let iam = IAMClient(aws: moto.client(credentials: admin))
            try await iam.createUser("recording-pipeline")
            let first = try await iam.createAccessKey(user: "recording-pipeline")
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("credentials").path
            try "# kept\n[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = other\n".write(toFile: file, atomically: true, encoding: .utf8)
            try SharedConfigFiles.writeKey(path: file, profile: "pipeline", accessKeyID: first.id, secretAccessKey: first.secret)
            let configuration = try Self.configuration(Self.environment(moto, directory, ["AWS_PROFILE": "pipeline"]))
            #expect(try await Self.identity(configuration).hasSuffix(":user/recording-pipeline"))

            let second = try await iam.createAccessKey(user: "recording-pipeline")
            try SharedConfigFiles.writeKey(path: file, profile: "pipeline", accessKeyID: second.id, secretAccessKey: second.secret)
            #expect(try await configuration.credentials.credentials().accessKeyID == second.id)
            try await iam.deleteAccessKey(user: "recording-pipeline", id: first.id)
            #expect(try await Self.identity(configuration).hasSuffix(":user/recording-pipeline"), "signs with the new key, the old one gone")

            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.hasPrefix("# kept\n[other]\naws_access_key_id = AKIDOTHER\n"))
            #expect(!text.contains(first.id) && text.contains(second.id))
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    /// `role_arn` + `source_profile` (with `external_id`, `duration_seconds`), and the error when
    /// the source may not assume it, naming the profile and STS's answer.
    @Test func aProfilesRoleIsAssumedWithItsSource() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await Self.admin(moto)
            let iam = IAMClient(aws: moto.client(credentials: admin))
            try await iam.createUser("nobody")
            let nobody = try await iam.createAccessKey(user: "nobody")
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try """
                [base]
                aws_access_key_id = \(admin.accessKeyID)
                aws_secret_access_key = \(admin.secretAccessKey)
                [weak]
                aws_access_key_id = \(nobody.id)
                aws_secret_access_key = \(nobody.secret)
                """.write(to: directory.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
            try """
                [profile app]
                role_arn = \(Self.role)
                source_profile = base
                external_id = acme-external
                duration_seconds = 1800
                role_session_name = recops-app
                region = eu-west-1
                [profile denied]
                role_arn = \(Self.role)
                source_profile = weak
                [profile broken]
                role_arn = \(Self.role)
                """.write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
            let app = try Self.configuration(Self.environment(moto, directory, ["AWS_PROFILE": "app"]))
            let credentials = try await app.credentials.credentials()
            #expect(credentials.accessKeyID.hasPrefix("ASIA"))
            let left = credentials.expiration?.timeIntervalSinceNow ?? 0
            #expect(left > 1700 && left <= 1800, "duration_seconds 1800: \(left)")
            #expect(try await Self.identity(app).contains(":assumed-role/recops-pipeline/recops-app"))
            #expect(ProfileCredentials.sessionSeconds(profile: "app", files: SharedConfigFiles(environment: Self.environment(moto, directory))) == 1800)

            let denied = try Self.configuration(Self.environment(moto, directory, ["AWS_PROFILE": "denied"]))
            let refusal = await #expect(throws: CredentialsError.self) { _ = try await denied.credentials.credentials() }
            #expect(refusal?.description.hasPrefix("profile denied: AssumeRole \(Self.role) answered") == true)
            #expect(refusal?.description.contains("AccessDenied") == true, "\(refusal?.description ?? "")")
            #expect(refusal?.description.contains(nobody.secret) == false)

            let broken = try Self.configuration(Self.environment(moto, directory, ["AWS_PROFILE": "broken"]))
            let unsourced = await #expect(throws: CredentialsError.self) { _ = try await broken.credentials.credentials() }
            #expect(unsourced?.description == "profile broken: role_arn needs source_profile, credential_source or web_identity_token_file")
        }
    }

    /// `credential_source`: the role's source is the environment's keys, the container's or the instance's.
    @Test func aRolesSourceMayBeTheEnvironment() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await Self.admin(moto)
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try "[profile ci]\nrole_arn = \(Self.role)\ncredential_source = Environment\n".write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
            let environment = Self.environment(moto, directory, ["AWS_ACCESS_KEY_ID": admin.accessKeyID, "AWS_SECRET_ACCESS_KEY": admin.secretAccessKey])
            let sts = STSClient(aws: moto.client(credentials: AWSCredentials(accessKeyID: "", secretAccessKey: "")))
            let profile = ProfileCredentials(profile: "ci", files: SharedConfigFiles(environment: environment), environment: environment, sts: sts)
            #expect(try await profile.fetch().accessKeyID.hasPrefix("ASIA"))
            let without = ProfileCredentials(profile: "ci", files: SharedConfigFiles(environment: environment), environment: Self.environment(moto, directory), sts: sts)
            let missing = await #expect(throws: CredentialsError.self) { _ = try await without.fetch() }
            #expect(missing?.description.contains("credential_source Environment, but AWS_ACCESS_KEY_ID") == true)

            // The container's and the instance's credentials as a role's source.
            let agent = try await LocalCredentialServer { .init(credentials: admin, expiration: Date().addingTimeInterval(3600)) }
            try "[profile task]\nrole_arn = \(Self.role)\ncredential_source = EcsContainer\n[profile host]\nrole_arn = \(Self.role)\ncredential_source = Ec2InstanceMetadata\n"
                .write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
            let agents = Self.environment(moto, directory, agent.containerEnvironment.merging(agent.instanceEnvironment) { $1 })
            for name in ["task", "host"] {
                let source = ProfileCredentials(profile: name, files: SharedConfigFiles(environment: agents), environment: agents, sts: sts)
                #expect(try await source.fetch().accessKeyID.hasPrefix("ASIA"), "credential_source of \(name)")
            }
            #expect(agent.count("container") == 1 && agent.count("instance") == 1)
        }
    }

    /// `credential_process`: its JSON, with `Expiration`; a failure says how, never its output.
    @Test func aCredentialProcessIsRunAndItsFailureNamed() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let expiry = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        let good = directory.appendingPathComponent("good.sh"), bad = directory.appendingPathComponent("bad.sh")
        try "#!/bin/sh\nprintf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \"SecretAccessKey\": \"process-secret\", \"SessionToken\": \"process-token\", \"Expiration\": \"\(expiry)\"}'\n"
            .write(to: good, atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho 'leaked-secret-on-stderr' >&2\necho 'leaked-secret-on-stdout'\nexit 3\n".write(to: bad, atomically: true, encoding: .utf8)
        for script in [good, bad] { try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: script.path) }
        try "[profile tool]\ncredential_process = \(good.path)\n[profile failing]\ncredential_process = \(bad.path) --flag\n"
            .write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        let tool = try Self.configuration(Self.environment(nil, directory, ["AWS_PROFILE": "tool"]))
        let credentials = try await tool.credentials.credentials()
        #expect(credentials == AWSCredentials(accessKeyID: "ASIAPROCESS", secretAccessKey: "process-secret", sessionToken: "process-token",
                                              expiration: ISO8601DateFormatter().date(from: expiry)))
        let failing = try Self.configuration(Self.environment(nil, directory, ["AWS_PROFILE": "failing"]))
        let error = await #expect(throws: CredentialsError.self) { _ = try await failing.credentials.credentials() }
        #expect(error?.description == "profile failing: credential_process exited with status 3")
    }

    /// ECS: the full URI with its authorization token (or token file); a wrong token is a named
    /// refusal; plain HTTP to anywhere but loopback and the agents is refused before any request.
    @Test func containerCredentialsWithTheirToken() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await Self.admin(moto)
            let server = try await LocalCredentialServer { .init(credentials: admin, expiration: Date().addingTimeInterval(3600)) }
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let configuration = try Self.configuration(Self.environment(moto, directory, server.containerEnvironment))
            #expect(configuration.credentials.source.hasPrefix("container credentials (http://127.0.0.1:"))
            #expect(try await Self.identity(configuration).hasSuffix(":user/admin"))
            #expect(server.count("container") == 1)

            let tokenFile = directory.appendingPathComponent("token")
            try (server.authorizationToken + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
            var fromFile = server.containerEnvironment
            fromFile["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = nil
            fromFile["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile.path
            #expect(try await ContainerCredentials(environment: fromFile).fetch().accessKeyID == admin.accessKeyID)

            var wrong = server.containerEnvironment
            wrong["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "not-the-token"
            let refused = await #expect(throws: CredentialsError.self) { _ = try await ContainerCredentials(environment: wrong).fetch() }
            #expect(refused?.description.hasSuffix("answered HTTP 403") == true)

            let foreign = #expect(throws: CredentialsError.self) {
                try Self.configuration(Self.environment(moto, directory, ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://credentials.example.com/creds"]))
            }
            #expect(foreign?.description.contains("must be https, or http to loopback") == true)
        }
    }

    /// IMDSv2: a token first, kept for its TTL; a token the instance no longer knows (401) is
    /// replaced once; no IMDSv1. Off EC2 it fails fast, naming what else was looked for.
    @Test func instanceMetadataWithTokens() async throws {
        try await MotoServer.with(enforceAuthAfter: 3) { moto in
            let admin = try await Self.admin(moto)
            let server = try await LocalCredentialServer { .init(credentials: admin, expiration: Date().addingTimeInterval(3600)) }
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(at: directory) }
            var environment = Self.environment(moto, directory, server.instanceEnvironment)
            environment["AWS_EC2_METADATA_DISABLED"] = nil
            let configuration = try Self.configuration(environment)
            #expect(configuration.credentials.source.hasPrefix("EC2 instance metadata (IMDSv2"))
            #expect(try await Self.identity(configuration).hasSuffix(":user/admin"))

            let metadata = InstanceMetadataCredentials(environment: environment)
            _ = try await metadata.fetch()
            _ = try await metadata.fetch()
            #expect(server.count("token") == 2, "one token per source, kept between fetches (the chain's, and this one's)")
            server.expireTokens()
            #expect(try await metadata.fetch().accessKeyID == admin.accessKeyID)
            #expect(server.count("token") == 3, "the forgotten token replaced once")

            // Nothing listens: refused at once (on a real network, the 1 s timeout).
            let closed = freeLoopbackPort()
            var off = Self.environment(moto, directory, ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(closed)"])
            off["AWS_EC2_METADATA_DISABLED"] = nil
            let started = ContinuousClock.now
            let missing = await #expect(throws: CredentialsError.self) { _ = try await Self.configuration(off).credentials.credentials() }
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(missing?.description.contains("EC2 instance metadata (IMDSv2, 127.0.0.1): no answer") == true)
            #expect(missing?.description.contains("before it: environment (AWS_ACCESS_KEY_ID is not set)") == true)
        }
    }
}

/// Refresh before expiry: one fetch for every request in flight, nobody waits while the
/// credentials are valid, a failed refresh keeps them, and a cancelled waiter leaves at once.
@Suite struct CredentialRefreshTests {
    final class Issuer: Sendable {
        let clock = TestClock()
        let issued = Locked(0)
        let failing = Locked(false)
        let gate = Locked<CheckedContinuation<Void, Never>?>(nil)
        let held = Locked(false)

        func issue() async throws -> LocalCredentialServer.Issued {
            if held.value { await withCheckedContinuation { continuation in gate.exchange(continuation) } }
            if failing.value { throw CancellationError() }
            let n = issued.withLock { $0 += 1; return $0 }
            return .init(credentials: AWSCredentials(accessKeyID: "ASIAISSUED\(n)", secretAccessKey: "secret-\(n)", sessionToken: "token-\(n)"),
                         expiration: clock.now().addingTimeInterval(600))
        }

        func release() {
            held.exchange(false)
            gate.exchange(nil)?.resume()
        }
    }

    static func until(_ condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { Issue.record("condition not met within 60 s"); return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func oneRefreshBeforeExpiryWhateverTheConcurrency() async throws {
        let issuer = Issuer()
        let server = try await LocalCredentialServer { try await issuer.issue() }
        // A generous timeout: on a busy machine a 2 s one can expire, and a fetch that failed
        // that way would (rightly) not be tried again for 10 s.
        let provider = RefreshingCredentials(try ContainerCredentials(environment: server.containerEnvironment, transport: AsyncHTTPClientTransport.timingOut(after: 60)),
                                             now: { issuer.clock.now() })
        let first = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { try await provider.credentials().accessKeyID } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(first == ["ASIAISSUED1"])
        #expect(server.count("container") == 1, "fifty first requests, one fetch")

        // Four minutes before expiry: inside the five-minute window. Nobody waits; one refresh.
        issuer.clock.advance(by: 360)
        let during = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { try await provider.credentials().accessKeyID } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(during.isSubset(of: ["ASIAISSUED1", "ASIAISSUED2"]))
        try await Self.until { await provider.current?.accessKeyID == "ASIAISSUED2" }
        #expect(server.count("container") == 2, "exactly one refresh request")
        let fetches = await provider.fetches
        #expect(fetches == 2)

        // The source fails: the valid credentials stay in use, and it is tried again later.
        issuer.failing.exchange(true)
        issuer.clock.advance(by: 360)
        #expect(try await provider.credentials().accessKeyID == "ASIAISSUED2")
        try await Self.until { server.count("container") == 3 }
        for _ in 0..<20 { #expect(try await provider.credentials().accessKeyID == "ASIAISSUED2") }
        #expect(server.count("container") == 3, "no retry within retryAfter")
        // Past retryAfter the next request tries again. It is asked until it does: on a busy
        // machine the failed fetch may still be in flight (and then counts from its own end).
        issuer.clock.advance(by: 15)
        try await Self.until {
            _ = try? await provider.credentials()
            return server.count("container") == 4
        }

        // Past their expiry with the source still failing: an error naming the source.
        issuer.clock.advance(by: 600)
        let expired = await #expect(throws: CredentialsError.self) { _ = try await provider.credentials() }
        #expect(expired?.description.hasPrefix("container credentials (") == true)
        issuer.failing.exchange(false)
        issuer.clock.advance(by: 2)
        #expect(try await provider.credentials().accessKeyID == "ASIAISSUED3")
    }

    @Test func aCancelledWaiterLeavesAtOnceAndTheFetchGoesOn() async throws {
        let issuer = Issuer()
        issuer.held.exchange(true)
        let server = try await LocalCredentialServer { try await issuer.issue() }
        let provider = RefreshingCredentials(try ContainerCredentials(environment: server.containerEnvironment, transport: AsyncHTTPClientTransport.timingOut(after: 60)),
                                             now: { issuer.clock.now() })
        let patient = Task { try await provider.credentials().accessKeyID }
        let impatient = Task { try await provider.credentials().accessKeyID }
        try await Self.until { server.count("container") == 1 }
        impatient.cancel()
        let cancelled = await #expect(throws: CancellationError.self) { _ = try await impatient.value }
        #expect(cancelled != nil, "the cancelled waiter returned while the fetch was still held")
        issuer.release()
        #expect(try await patient.value == "ASIAISSUED1")
        let fetches = await provider.fetches
        #expect(server.count("container") == 1 && fetches == 1)
    }
}
