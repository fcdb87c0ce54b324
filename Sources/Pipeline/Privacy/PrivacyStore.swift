import Foundation
import Twilio

/// What an erasure was asked to remove, by kind (the log keeps the kind, never a caller's number).
public enum ErasureScope: String, Sendable, CaseIterable, Codable {
    case caller, job, call, recording
}

/// One line of the erasure log: one recording erased, when, why, and what it was (its ids),
/// with no number and no audio. Written when the erasure is queued, completed by the erasure
/// step in the same transaction that marks the recording `erased`.
public struct ErasureRecord: Sendable, Equatable, Codable {
    public var recordingSid: String
    public var callSid: String
    public var jobID: String?
    public var objectKey: String?
    public var scope: ErasureScope
    public var reason: String?
    public var requestedAt: Date
    public var completedAt: Date?
    /// What was removed ("2 S3 versions, Twilio's copy, the stable link, 1 history line"), once complete.
    public var outcome: String?

    public init(recordingSid: String, callSid: String, jobID: String?, objectKey: String?, scope: ErasureScope, reason: String?,
                requestedAt: Date, completedAt: Date? = nil, outcome: String? = nil) {
        self.recordingSid = recordingSid
        self.callSid = callSid
        self.jobID = jobID
        self.objectKey = objectKey
        self.scope = scope
        self.reason = reason
        self.requestedAt = requestedAt
        self.completedAt = completedAt
        self.outcome = outcome
    }
}

/// A call the caller index lacks: known to the store (a call row or a recording's call) with no
/// caller hash. `from` is the number an older recops kept, if it did.
public struct UnindexedCall: Sendable, Equatable {
    public var callSid: String
    public var from: String?

    public init(callSid: String, from: String?) {
        self.callSid = callSid
        self.from = from
    }
}

/// The store's part for privacy operations: the caller index, erasures and their log, legal
/// holds. Both engines implement it; `JobStore` refines it. Every error thrown is a `JobStoreError`.
public protocol PrivacyStore: Sendable {
    /// The calls whose caller hash is one of `hashes`.
    func callSids(callerHashes: [String]) async throws -> [String]
    /// Up to `limit` calls without a caller hash (or, with `staleUnder`, with one not made under
    /// that key id), oldest first.
    func unindexedCalls(staleUnder keyID: String?, limit: Int) async throws -> [UnindexedCall]
    /// Sets a call's caller hash, adding the call's row when only its recordings were known;
    /// the number itself is dropped once the call has ended (`status` final).
    func indexCaller(callSid: String, hash: String, status: CallStatus, startedAt: Date) async throws

    /// Sends a recording to the erasure step, due now, and writes its log line; false when it is
    /// erased or queued already (the log keeps its first line). A step in flight on it loses its
    /// claim, but the row stays held until that claim's lease runs out, so the step cannot still
    /// be writing when the erasure starts.
    func queueErasure(_ record: ErasureRecord, at now: Date) async throws -> Bool
    /// Log lines requested since `date`, oldest first.
    func erasures(since date: Date, limit: Int) async throws -> [ErasureRecord]

    /// Remembers the legal hold set or released on the recordings' objects (S3 is the truth;
    /// this is what `status` and `/ops` list).
    func setLegalHold(recordingSids: [String], held: Bool) async throws
    /// Recordings remembered as held, oldest first.
    func heldRecordings(limit: Int) async throws -> [RecordingJob]
}
