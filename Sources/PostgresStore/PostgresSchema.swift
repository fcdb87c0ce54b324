import Foundation
import Logging
import PostgresNIO

/// The store's tables, as numbered migrations. Start-up applies the missing ones inside one
/// transaction that first takes an advisory lock, so replicas starting together migrate once:
/// the others wait on the lock, then find nothing left to do.
///
/// Times are epoch seconds (`double precision`), as in the SQLite store: a `Date` goes in and
/// comes out unchanged (timestamptz keeps microseconds only), and one row format serves both
/// engines (`recops store copy`). `recops_now(fixed)` is the store's clock: the database's
/// `clock_timestamp()` (not `now()`, which stands still for a transaction), or a fixed time the
/// caller passes (tests move the store's clock; production passes NULL).
enum PostgresSchema {
    /// The advisory lock key of migrations ("recops" in ASCII).
    static let migrationLock: Int64 = 0x7265636F7073

    static let migrations: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE FUNCTION recops_now(fixed double precision) RETURNS double precision LANGUAGE sql VOLATILE AS
            $$ SELECT COALESCE(fixed, extract(epoch FROM clock_timestamp())::double precision) $$
            """,
            """
            CREATE TABLE recordings (
                recording_sid text PRIMARY KEY,
                call_sid text NOT NULL,
                account_sid text NOT NULL,
                start_time double precision NOT NULL,
                duration bigint,
                job_id text,
                record_id text,
                state text NOT NULL CHECK (state IN ('received', 'upload_pending', 'stored', 'linked', 'unmatched', 'absent', 'failed')),
                attempts bigint NOT NULL DEFAULT 0,
                next_attempt_at double precision NOT NULL,
                last_error text,
                note text,
                object_key text,
                object_size bigint,
                pending_line_written boolean NOT NULL DEFAULT false,
                quality_problem text,
                object_sha256 text,
                cleanup_pending boolean NOT NULL DEFAULT false,
                twilio_deleted boolean NOT NULL DEFAULT false,
                received_at double precision NOT NULL,
                stored_at double precision,
                linked_at double precision,
                claimed_by text,
                claim_token text,
                claimed_until double precision,
                claimed_at double precision
            )
            """,
            // The hot table: finished rows are pruned, and autovacuum visits it early.
            "ALTER TABLE recordings SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05)",
            "CREATE INDEX recordings_due ON recordings (state, next_attempt_at)",
            "CREATE INDEX recordings_job ON recordings (job_id)",
            "CREATE INDEX recordings_call ON recordings (call_sid)",
            "CREATE INDEX recordings_token ON recordings (claim_token) WHERE claim_token IS NOT NULL",
            "CREATE INDEX recordings_owner ON recordings (claimed_by) WHERE claimed_by IS NOT NULL",
            "CREATE INDEX recordings_received ON recordings (received_at)",
            """
            CREATE TABLE calls (
                call_sid text PRIMARY KEY,
                from_number text,
                to_number text,
                job_id text,
                status text NOT NULL,
                started_at double precision NOT NULL,
                completed_at double precision,
                missing_reported boolean NOT NULL DEFAULT false
            )
            """,
            "CREATE INDEX calls_started ON calls (started_at)",
            """
            CREATE TABLE history_claims (
                job_id text PRIMARY KEY,
                owner text NOT NULL,
                token text NOT NULL,
                claimed_at double precision NOT NULL,
                expires_at double precision NOT NULL
            )
            """,
            // The Airtable budget shared by every replica: `limit` slots per base. A request
            // holds a slot from before it is sent until its answer is back, and the slot is free
            // again a second after that, so no second at Airtable sees more than `limit` arrivals.
            """
            CREATE TABLE airtable_slots (
                base text NOT NULL,
                slot integer NOT NULL,
                holder text,
                held_until double precision,
                free_at double precision NOT NULL DEFAULT 0,
                PRIMARY KEY (base, slot)
            )
            """,
            // After a 429, the base is paused for every replica.
            "CREATE TABLE airtable_pauses (base text PRIMARY KEY, paused_until double precision NOT NULL)",
        ]),
        (2, [
            // What pruning removed: the SIDs alone, so the same recording is never stored twice.
            "CREATE TABLE pruned_recordings (recording_sid text PRIMARY KEY, pruned_at double precision NOT NULL)",
        ]),
        (3, [
            // A line that does not fit in the history field waits in its own state.
            """
            ALTER TABLE recordings DROP CONSTRAINT IF EXISTS recordings_state_check,
                ADD CONSTRAINT recordings_state_check
                CHECK (state IN ('received', 'upload_pending', 'stored', 'linked', 'unmatched', 'absent', 'failed', 'history_full'))
            """,
            // Each job's Airtable record once found, and recops's Airtable requests per month.
            "CREATE TABLE job_records (job_id text PRIMARY KEY, record_id text NOT NULL, found_at double precision NOT NULL)",
            "CREATE TABLE airtable_usage (month text PRIMARY KEY, requests bigint NOT NULL)",
        ]),
        (4, [
            // The AWS key each replica signs with (for status and key rotation).
            """
            CREATE TABLE signing_keys (owner text PRIMARY KEY, access_key_id text NOT NULL, source text NOT NULL,
                                       expires_at double precision, seen_at double precision NOT NULL)
            """,
        ]),
        (5, [
            // Stable links (never pruned with the recordings: a link in an old history must open)
            // and the access audit of their opens.
            """
            CREATE TABLE recording_links (id text PRIMARY KEY, recording_sid text NOT NULL UNIQUE, object_key text NOT NULL, job_id text,
                                          created_at double precision NOT NULL, revoked_at double precision)
            """,
            "CREATE INDEX recording_links_job ON recording_links (job_id)",
            """
            CREATE TABLE link_opens (seq bigserial PRIMARY KEY, at double precision NOT NULL, link_id text, recording_sid text, object_key text,
                                     job_id text, client text NOT NULL, network text NOT NULL, user_agent text NOT NULL, session text,
                                     answer text NOT NULL)
            """,
            "CREATE INDEX link_opens_at ON link_opens (at)",
            "CREATE INDEX link_opens_client ON link_opens (client, at)",
            "CREATE INDEX link_opens_network ON link_opens (network, at)",
            "CREATE INDEX link_opens_job ON link_opens (job_id, at)",
        ]),
        (6, [
            // Privacy: erasure's two states, the caller index (a keyed hash of From, the number
            // dropped once the call ends), legal holds as last set, and the erasure log (ids only).
            """
            ALTER TABLE recordings DROP CONSTRAINT IF EXISTS recordings_state_check,
                ADD CONSTRAINT recordings_state_check
                CHECK (state IN ('received', 'upload_pending', 'stored', 'linked', 'unmatched', 'absent', 'failed', 'history_full', 'erasing', 'erased'))
            """,
            "ALTER TABLE calls ADD COLUMN caller_hash text",
            "CREATE INDEX calls_caller ON calls (caller_hash) WHERE caller_hash IS NOT NULL",
            "ALTER TABLE recordings ADD COLUMN legal_hold boolean NOT NULL DEFAULT false, ADD COLUMN erased_at double precision",
            "CREATE INDEX recordings_held ON recordings (received_at) WHERE legal_hold",
            """
            CREATE TABLE erasures (recording_sid text PRIMARY KEY, call_sid text NOT NULL, job_id text, object_key text, scope text NOT NULL,
                                   reason text, requested_at double precision NOT NULL, completed_at double precision, outcome text)
            """,
            "CREATE INDEX erasures_requested ON erasures (requested_at)",
        ]),
    ]

    /// Applies the missing migrations under the advisory lock; returns the versions applied.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS recops_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())
                """, logger: logger)
            var done: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM recops_schema", logger: logger).decode(Int.self) {
                done.insert(version)
            }
            if let newest = done.max(), newest > (migrations.map(\.version).max() ?? 0) {
                throw NewerSchema(found: newest, known: migrations.map(\.version).max() ?? 0)
            }
            var applied: [Int] = []
            for migration in migrations where !done.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO recops_schema (version) VALUES (\(migration.version))", logger: logger)
                applied.append(migration.version)
            }
            return applied
        }
    }

    /// A newer recops migrated this database: an older binary must not write to it.
    struct NewerSchema: Error, CustomStringConvertible {
        var found: Int
        var known: Int
        var description: String { "the database's schema is version \(found), newer than this recops knows (\(known)): upgrade recops" }
    }
}
