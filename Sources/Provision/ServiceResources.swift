import Airtable
import Spec
import Twilio

/// The Twilio numbers and Airtable fields a spec declares.
public enum TwilioResources {
    public static func make(spec: Spec, twilio: TwilioClient) -> [AnyResource] {
        (spec.twilio?.numbers ?? []).enumerated().map { index, number in
            AnyResource(TwilioNumberResource(spec: number, index: index, twilio: twilio))
        }
    }
}

public enum AirtableResources {
    public static func make(spec: Spec, airtable: AirtableClient) -> [AnyResource] {
        guard let settings = spec.airtable else { return [] }
        return [
            AnyResource(AirtableFieldResource.jobID(spec: settings, airtable: airtable)),
            AnyResource(AirtableFieldResource.history(spec: settings, airtable: airtable)),
        ]
    }
}
