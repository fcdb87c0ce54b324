import Foundation

/// A fencing token: new for every claim, so a commit can tell its own claim from the one that
/// replaced it.
public struct ClaimToken: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// A fresh random token (engines without a database-side generator).
    public static func random() -> ClaimToken {
        ClaimToken(rawValue: UUID().uuidString.lowercased())
    }

    public var description: String { rawValue }
}

/// The rows of one step, held by `owner` under `token`.
public struct RowClaim: Sendable, Equatable {
    public var token: ClaimToken
    public var owner: String
    public var jobs: [RecordingJob]

    public init(token: ClaimToken, owner: String, jobs: [RecordingJob]) {
        self.token = token
        self.owner = owner
        self.jobs = jobs
    }

    public var recordingSids: [String] { jobs.map(\.recordingSid) }
}

/// One job's history, held by `owner` under `token`: no one else writes its Airtable record meanwhile.
public struct HistoryClaim: Sendable, Equatable, Hashable {
    public var jobID: String
    public var owner: String
    public var token: ClaimToken

    public init(jobID: String, owner: String, token: ClaimToken) {
        self.jobID = jobID
        self.owner = owner
        self.token = token
    }
}

/// A history step that has held its job's claim for too long.
public struct StalledStep: Sendable, Equatable {
    public var jobID: String
    public var owner: String
    public var since: Date

    public init(jobID: String, owner: String, since: Date) {
        self.jobID = jobID
        self.owner = owner
        self.since = since
    }
}

/// One claimed step, ready to run.
public enum Work: Sendable, Equatable {
    case transfer(RowClaim)
    /// The job's history claim, and the rows whose lines are due.
    case history(HistoryClaim, RowClaim)
    case cleanup(RowClaim)

    public var kind: StepKind {
        switch self {
        case .transfer: .transfer
        case .history: .history
        case .cleanup: .cleanup
        }
    }

    public var rows: RowClaim {
        switch self {
        case .transfer(let rows), .history(_, let rows), .cleanup(let rows): rows
        }
    }
}
