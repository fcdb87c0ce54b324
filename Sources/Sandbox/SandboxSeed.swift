import Foundation

/// What the sandbox starts with: an account, its numbers, and an Airtable base with a Jobs table.
/// `recops sandbox --seed FILE` reads one of these as JSON.
public struct SandboxSeed: Codable, Sendable {
    public struct Number: Codable, Sendable {
        public var sid: String
        public var phoneNumber: String
        public var voiceUrl: String?
        public var voiceApplicationSid: String?
    }

    public struct Job: Codable, Sendable {
        public var id: String
        public var jobID: String
        public var history: String?

        public init(id: String, jobID: String, history: String?) {
            self.id = id
            self.jobID = jobID
            self.history = history
        }
    }

    public var accountSID: String
    public var authToken: String
    public var numbers: [Number]
    public var airtableToken: String
    public var baseID: String
    public var tableName: String
    public var jobIDField: String
    public var historyField: String
    public var jobs: [Job]

    public static let standard = SandboxSeed(
        accountSID: "AC" + String(repeating: "5a", count: 16),
        authToken: "sandbox-auth-token-0123456789abcd",
        numbers: [
            Number(sid: "PN" + String(repeating: "01", count: 16), phoneNumber: "+15005550006", voiceUrl: nil, voiceApplicationSid: nil),
            // Shares a prefix with the first: an exact lookup must not confuse them.
            Number(sid: "PN" + String(repeating: "02", count: 16), phoneNumber: "+150055500061", voiceUrl: nil, voiceApplicationSid: nil),
        ],
        airtableToken: "sandbox-airtable-token-not-a-secret",
        baseID: "appSANDBOX0000001",
        tableName: "Jobs",
        jobIDField: "Job ID",
        historyField: "job_history",
        jobs: [
            Job(id: "recJOB0000000001", jobID: "J-1001", history: "---- | 2024-03-01 09:00:00 | Event: Created | Source: Office"),
            Job(id: "recJOB0000000002", jobID: "J-1002", history: nil),
            Job(id: "recJOB0000000003", jobID: "J-1003", history: nil),
        ])
}
