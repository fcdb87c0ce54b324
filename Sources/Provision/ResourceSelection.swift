import AWS
import Airtable
import Foundation
import Spec
import Twilio

/// The resources of the spec parts a command selects (`--only`). Clients come in as closures and
/// are made only for a selected part, so `--only aws` needs no Twilio credentials.
public enum ResourceSelection {
    /// The live webhook only when asked for (`--only webhook`): it needs the service running.
    public static func resources(for spec: Spec, parts: Set<SpecPart>?, aws: () throws -> AWSClient, twilio: () throws -> TwilioClient,
                                 airtable: () throws -> AirtableClient, webhook: () throws -> VoiceWebhookResource, now: @escaping @Sendable () -> Date) throws -> [AnyResource] {
        let selected = parts ?? [.aws, .twilio, .airtable]
        var resources: [AnyResource] = []
        if selected.contains(.aws), spec.aws?.region != nil {
            resources += AWSResources.make(spec: spec, aws: try aws(), now: now)
        }
        if selected.contains(.twilio), spec.twilio != nil {
            resources += TwilioResources.make(spec: spec, twilio: try twilio())
        }
        if selected.contains(.airtable), spec.airtable != nil {
            resources += AirtableResources.make(spec: spec, airtable: try airtable())
        }
        if selected.contains(.webhook), spec.twilio != nil {
            resources.append(AnyResource(try webhook()))
        }
        return resources
    }
}
