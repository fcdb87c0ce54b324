import ArgumentParser
import AWS
import Foundation
import Logging
import Provision
import Spec
import Transport

/// Composition-root helpers: the one place that turns the process's environment, clock and
/// output into the values the libraries take.
enum Wiring {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Logs go to standard error; `RECOPS_LOG_LEVEL` (trace … critical) sets the level.
    static func bootstrapLogging() {
        let level = environment["RECOPS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Loads the spec or prints every error (file:line:column) and exits 1.
    static func loadSpec(path: String, parts: Set<SpecPart>?) throws -> SpecLoader.Loaded {
        let result = SpecLoader(environment: environment).validate(path: path, parts: parts)
        guard let loaded = result.loaded else {
            writeError(result.diagnostics.map(\.description).joined(separator: "\n"))
            writeError("\(path): invalid; run `recops validate` for details")
            throw CommandExit.failure
        }
        return loaded
    }

    /// The AWS client for the spec's region, counting the requests it sends.
    static func awsClient(region: String, transport: any HTTPTransport) throws -> AWSClient {
        do {
            let configuration = try AWSConfiguration.fromEnvironment(environment, region: region)
            return AWSClient(configuration: configuration, transport: transport, now: { Date() }, logger: Logger(label: "recops.aws"))
        } catch {
            writeError("could not check (credentials): \(error)")
            throw CommandExit.failure
        }
    }

    /// A client that is never used to send: `iam-policy` only asks resources what they would call.
    static func unsignedAWSClient(region: String) -> AWSClient {
        AWSClient(configuration: AWSConfiguration(credentials: AWSCredentials(accessKeyID: "", secretAccessKey: ""), region: region),
                  transport: AsyncHTTPClientTransport(), now: { Date() }, logger: Logger(label: "recops.aws"))
    }

    /// The resources of the selected parts, and the parts this version cannot check yet.
    static func resources(for loaded: SpecLoader.Loaded, parts: Set<SpecPart>?, transport: any HTTPTransport) throws -> (resources: [AnyResource], unchecked: [SpecPart]) {
        let selected = parts ?? [.aws, .twilio, .airtable]
        var resources: [AnyResource] = []
        if selected.contains(.aws), let region = loaded.spec.aws?.region {
            let aws = try awsClient(region: region, transport: transport)
            resources += AWSResources.make(spec: loaded.spec, aws: aws, now: { Date() })
        }
        let unchecked = [SpecPart.twilio, .airtable, .webhook].filter { selected.contains($0) }
        return (resources, unchecked)
    }
}

/// Exit codes, decided only here: 0 success or in sync, 1 error or could not check, 2 changes
/// pending, drift or failed checks.
enum CommandExit {
    static let failure = ExitCode(1)
    static let drift = ExitCode(2)
}
