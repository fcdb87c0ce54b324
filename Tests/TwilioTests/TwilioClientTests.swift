import Foundation
import RecopsTesting
import Testing
import Transport
import Twilio

/// The client against the sandbox over real HTTP.
@Suite struct TwilioClientTests {
    @Test func findsTheExactNumberAcrossPages() async throws {
        try await LocalSandbox.with { sandbox in
            let twilio = sandbox.twilio()
            // "+15005550006" also matches "+150055500061" partially; one per page forces paging.
            let found = try #require(try await twilio.incomingPhoneNumber("+15005550006", pageSize: 1))
            #expect(found.sid == SandboxSeedSIDs.first)
            #expect(try await twilio.incomingPhoneNumber("+15005550007") == nil)
        }
    }

    @Test func updatesWebhooksAndClearsTheApplication() async throws {
        try await LocalSandbox.with { sandbox in
            let twilio = sandbox.twilio()
            let updated = try await twilio.updateIncomingPhoneNumber(sid: SandboxSeedSIDs.first, [
                ("VoiceUrl", "https://rec.example.com/api/twilio/voice"), ("VoiceMethod", "POST"),
                ("StatusCallback", "https://rec.example.com/api/twilio/status"), ("VoiceApplicationSid", ""),
            ])
            #expect(updated.voiceUrl == "https://rec.example.com/api/twilio/voice")
            #expect(updated.voiceApplicationSid == nil)
            #expect(try await twilio.incomingPhoneNumber(sid: SandboxSeedSIDs.first).statusCallback == "https://rec.example.com/api/twilio/status")
        }
    }

    @Test func wrongCredentialsGetTwiliosAnswer() async throws {
        try await LocalSandbox.with { sandbox in
            let error = await #expect(throws: TwilioError.self) {
                _ = try await sandbox.twilio(authToken: "wrong-token").incomingPhoneNumber("+15005550006")
            }
            #expect(error?.status == 401)
            #expect(error?.code == 20003)
            #expect(!(error?.description.contains("wrong-token") ?? true))
        }
    }

    @Test func recordingsListFetchDownloadAndDelete() async throws {
        try await LocalSandbox.with { sandbox in
            let recording = await sandbox.state.addRecording(callSid: "CA" + String(repeating: "1", count: 32), duration: 9)
            let twilio = sandbox.twilio()
            #expect(try await twilio.recordings().map(\.sid) == [recording.sid])
            let today = String(ISO8601DateFormatter().string(from: recording.created).prefix(10))  // its day, even across midnight
            #expect(try await twilio.recordings(createdAfter: today).count == 1)
            #expect(try await twilio.recordings(createdBefore: "2000-01-01").isEmpty)
            let meta = try #require(try await twilio.recording(sid: recording.sid))
            #expect(meta.duration == "9")

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID()).mp3")
            defer { try? FileManager.default.removeItem(at: file) }
            let media = sandbox.baseURL.appendingPathComponent("2010-04-01/Accounts/\(sandbox.seed.accountSID)/Recordings/\(recording.sid).mp3")
            let bytes = try await twilio.downloadRecording(mediaURL: media, to: file)
            #expect(bytes == 250 * 144)  // 9 s of 36 ms frames
            let data = try Data(contentsOf: file)
            #expect(data.prefix(2) == Data([0xFF, 0xF3]))
            // A call recording on disk is private whatever the umask.
            let mode = (try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o600)
            // The media URL needs Basic auth, as on an account with "HTTP auth on media URLs".
            let anonymous = try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: media))
            #expect(anonymous.status == 401)

            try await twilio.deleteRecording(sid: recording.sid)
            #expect(try await twilio.recording(sid: recording.sid) == nil)
            try await twilio.deleteRecording(sid: recording.sid)  // idempotent
        }
    }
}

enum SandboxSeedSIDs {
    static let first = "PN" + String(repeating: "01", count: 16)
}
