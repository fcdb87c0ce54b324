import Foundation
import Provision
import RecopsTesting
import Spec
import Testing
import Transport

/// The Twilio number and the Airtable fields as provisioned resources, against the sandbox; drift
/// is made through the sandbox's own API, as another client would.
@Suite struct ServiceResourceTests {
    static func spec(_ sandbox: LocalSandbox, number: String? = nil) throws -> Spec {
        let environment = [
            "APP_URL": "https://rec.example.com", "TWILIO_PHONE_NUMBER": number ?? sandbox.seed.numbers[0].phoneNumber,
            "AIRTABLE_BASE_ID": sandbox.seed.baseID,
        ]
        let result = SpecLoader(environment: environment).validate(path: ProvisionFixture.specPath, parts: [.twilio, .airtable])
        guard let loaded = result.loaded else { throw SpecError(diagnostics: result.diagnostics) }
        return loaded.spec
    }

    @Test func theNumbersWebhooksAreAppliedAndTheirDriftRepaired() async throws {
        try await LocalSandbox.with(requestsPerSecond: 1000) { sandbox in
            let engine = Engine(resources: TwilioResources.make(spec: try Self.spec(sandbox), twilio: sandbox.twilio()))
            let first = await engine.plan()
            #expect(first.resources.map(\.id.description) == ["twilio.number/+15005550006"])
            #expect(first.resources[0].action == .update)
            #expect(first.resources[0].changes.map(\.field).sorted() == ["status_callback.url", "voice.url"])
            try await engine.apply(first)
            #expect(!(await engine.plan().hasChanges))

            // Someone points the number at a TwiML app: Twilio would ignore the voice URL.
            let auth = "Basic " + Data("\(sandbox.seed.accountSID):\(sandbox.seed.authToken)".utf8).base64EncodedString()
            let url = sandbox.baseURL.appendingPathComponent("2010-04-01/Accounts/\(sandbox.seed.accountSID)/IncomingPhoneNumbers/\(sandbox.seed.numbers[0].sid).json")
            let response = try await AsyncHTTPClientTransport().send(HTTPRequest(
                method: "POST", url: url,
                headers: [(name: "Authorization", value: auth), (name: "Content-Type", value: "application/x-www-form-urlencoded")],
                body: Data("VoiceApplicationSid=AP0123&VoiceMethod=GET".utf8)))
            #expect(response.status == 200)
            let drifted = await engine.plan()
            #expect(drifted.resources[0].changes.map(\.field).sorted() == ["voice.method", "voice_application_sid"])
            try await engine.apply(drifted)
            #expect(!(await engine.plan().hasChanges))
            let state = try await sandbox.dump()
            guard case .array(let numbers)? = state["numbers"] else { return }
            #expect(numbers.first?["voice_application_sid"] == .string(""))
            #expect(numbers.first?["voice_url"] == .string("https://rec.example.com/api/twilio/voice"))
            // The other number, which shares a prefix, was not touched.
            #expect(numbers.last?["voice_url"] == .string(""))
        }
    }

    @Test func aNumberMissingFromTheAccountIsAFailedCheckNeverABuy() async throws {
        try await LocalSandbox.with(requestsPerSecond: 1000) { sandbox in
            let engine = Engine(resources: TwilioResources.make(spec: try Self.spec(sandbox, number: "+15005550099"), twilio: sandbox.twilio()))
            let plan = await engine.plan()
            #expect(plan.resources[0].action == .none)
            #expect(!plan.hasChanges)
            #expect(plan.resources[0].failures.first?.message.contains("recops never buys numbers") == true)
        }
    }

    /// What `verify --only webhook` makes of the live answer: each way of not recording the whole
    /// call, with the right callback, is a failed check naming it.
    @Test(arguments: [
        ("recordingStatusCallbackEvent", "completed", "lacks 'absent': a call whose recording never starts would go unreported"),
        ("recordingStatusCallbackEvent", "absent", "lacks 'completed': the service would never hear of finished recordings"),
        ("channels", "dual", "<Recording channels> is 'dual', the spec says 'mono'"),
        ("track", "inbound", "<Recording track> is 'inbound', the spec says 'both'"),
        ("recordingStatusCallback", "https://elsewhere.example.com/cb", "<Recording recordingStatusCallback> is 'https://elsewhere.example.com/cb'"),
    ])
    func theLiveAnswerMustRecordTheWholeCall(attribute: String, value: String, message: String) async throws {
        try await LocalSandbox.with { sandbox in
            let spec = try Self.spec(sandbox)
            let resource = VoiceWebhookResource(spec: spec, accountSID: sandbox.seed.accountSID, authToken: sandbox.seed.authToken, transport: AsyncHTTPClientTransport())
            let recording = spec.twilio!.recording
            var attributes = ["channels": "mono", "track": "both", "trim": recording.trim, "recordingStatusCallback": recording.statusCallback.url,
                              "recordingStatusCallbackMethod": recording.statusCallback.method, "recordingStatusCallbackEvent": "completed absent"]
            func answer(_ attributes: [String: String], first: String = "Start/Recording") throws -> VoiceWebhookResource.State {
                let json = JSONValue.object(["status": .number(200), "isTwiML": .bool(true), "firstVerb": .string(first),
                                             "recording": .object(attributes.mapValues(JSONValue.string))])
                return try JSONDecoder().decode(VoiceWebhookResource.State.self, from: Data(json.encoded().utf8))
            }
            #expect(resource.checks(observed: try answer(attributes)).isEmpty)
            #expect(resource.checks(observed: try answer(attributes, first: "Say")).map(\.message).first?.contains("the start of the call goes unrecorded") == true)
            attributes[attribute] = value
            let failures = resource.checks(observed: try answer(attributes))
            #expect(failures.count == 1 && failures.first?.message.contains(message) == true, "\(failures.map(\.message))")
        }
    }

    @Test func theHistoryFieldIsCreatedButNeverRetyped() async throws {
        try await LocalSandbox.with(requestsPerSecond: 1000) { sandbox in
            let engine = Engine(resources: AirtableResources.make(spec: try Self.spec(sandbox), airtable: sandbox.airtable()))
            #expect(!(await engine.plan().hasChanges))

            guard let table = await sandbox.state.table("Jobs") else { Issue.record("no table"); return }
            await sandbox.state.removeField(table: table, name: "job_history")
            let missing = await engine.plan()
            #expect(missing.changed.map(\.id.description) == ["airtable.field/Jobs.job_history"])
            #expect(missing.changed.first?.action == .create)
            try await engine.apply(missing)
            #expect(!(await engine.plan().hasChanges))
            let fields = try await sandbox.airtable().tables(base: sandbox.seed.baseID).first?.fields
            #expect(fields?.first { $0.name == "job_history" }?.type == "multilineText")

            await sandbox.state.setFieldType(table: table, name: "job_history", type: "singleLineText")
            let retyped = await engine.plan()
            #expect(!retyped.hasChanges)
            #expect(retyped.resources.flatMap(\.failures).map(\.property) == ["type"])

            await sandbox.state.removeField(table: table, name: "Job ID")
            let noJobID = await engine.plan()
            #expect(noJobID.resources.first?.failures.first?.message.contains("recops will not create it") == true)
            #expect(noJobID.resources.first?.action == ResourcePlan.Action.none)
        }
    }
}
