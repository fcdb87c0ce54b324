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
/// The AWS key one replica last said it signs with.
public struct SigningKeyReport: Sendable, Equatable {
    public var owner: String
    public var accessKeyID: String
    /// The credential chain's source ("profile default (…)", "web identity (…)").
    public var source: String
    public var expiration: Date?
    public var seenAt: Date
    /// How long ago, by the store's clock (another host's clock may differ by more than the
    /// minute a live replica is allowed).
    public var age: TimeInterval

    public init(owner: String, accessKeyID: String, source: String, expiration: Date?, seenAt: Date, age: TimeInterval) {
        self.age = age
        self.owner = owner
        self.accessKeyID = accessKeyID
        self.source = source
        self.expiration = expiration
        self.seenAt = seenAt
    }
}

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

/// One job's part of a history step: its history claim, its due rows, and the Airtable record
/// remembered for it (nil: looked up by its job id).
public struct JobLines: Sendable, Equatable {
    public var claim: HistoryClaim
    public var rows: RowClaim
    public var recordID: String?

    public init(claim: HistoryClaim, rows: RowClaim, recordID: String?) {
        self.claim = claim
        self.rows = rows
        self.recordID = recordID
    }

    public var jobID: String { claim.jobID }
}

/// One claimed step, ready to run.
public enum Work: Sendable, Equatable {
    case transfer(RowClaim)
    /// The due lines of up to `Scheduler.historyJobs` jobs, each under its own claims: one
    /// batched read and one batched write of their records.
    case history([JobLines])
    case cleanup(RowClaim)
    /// The due erasures of one job (or one recording without a job): one rewrite of its history
    /// for all of them. The first claim holds the row that was due first, the second (if any)
    /// the job's other due erasures.
    case erasure([RowClaim])

    public var kind: StepKind {
        switch self {
        case .transfer: .transfer
        case .history: .history
        case .cleanup: .cleanup
        case .erasure: .erasure
        }
    }

    /// The step's row claims: one per job.
    public var rowClaims: [RowClaim] {
        switch self {
        case .transfer(let rows), .cleanup(let rows): [rows]
        case .erasure(let claims): claims
        case .history(let jobs): jobs.map(\.rows)
        }
    }

    public var historyClaims: [HistoryClaim] {
        if case .history(let jobs) = self { return jobs.map(\.claim) }
        return []
    }

    /// Every row of the step.
    public var jobs: [RecordingJob] { rowClaims.flatMap(\.jobs) }
}
