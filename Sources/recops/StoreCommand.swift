import ArgumentParser
import Foundation
import Logging
import Pipeline
import PostgresStore
import SQLiteStore

/// `recops store`: the job store itself (migrations, moving to PostgreSQL).
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage the job store: apply its migrations, or copy a SQLite store into PostgreSQL.",
        subcommands: [MigrateCommand.self, CopyCommand.self])

    struct MigrateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Apply the PostgreSQL store's missing migrations (serve also does at start-up, under the same advisory lock).",
            discussion: "The URL may also come from RECOPS_DATABASE_URL. Exit 0 when the schema is current, 1 when the store cannot be opened.")

        @Option(help: ArgumentHelp("The PostgreSQL store (postgres://user:password@host/db).", valueName: "url"))
        var store: String?

        func run() async throws {
            Wiring.bootstrapLogging(defaultLevel: .notice)
            let store = try await StoreCommand.open(url: store ?? Wiring.environment["RECOPS_DATABASE_URL"])
            defer { store.close() }
            print("store \(store.settings): schema current")
        }
    }

    struct CopyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract: "Copy a SQLite store (a serve --data-dir) into a PostgreSQL store.",
            discussion: """
                Every recording and call keeps its state, due time and attempts, and every stable link and access-audit entry comes along: work in flight goes on from where it
                was, under the PostgreSQL replicas. Rows already in PostgreSQL are left alone, so copying again is a
                no-op, and a copy taken while the old service still runs can be topped up by copying once more after
                it stops (only new rows move: stop the old service before the last copy). Claims are not copied: the
                steps they covered run again, which the pipeline makes safe.
                """)

        @Option(help: ArgumentHelp("The SQLite store's directory (the old service's --data-dir).", valueName: "dir"))
        var from: String

        @Option(help: ArgumentHelp("The PostgreSQL store (postgres://user:password@host/db); else RECOPS_DATABASE_URL.", valueName: "url"))
        var to: String?

        func run() async throws {
            Wiring.bootstrapLogging(defaultLevel: .notice)
            let directory = URL(fileURLWithPath: from, isDirectory: true).standardizedFileURL
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("recops.sqlite").path) else {
                Wiring.writeError("store copy: no SQLite store at \(directory.path) (recops.sqlite is missing)")
                throw CommandExit.failure
            }
            let source: SQLiteJobStore
            do {
                source = try SQLiteJobStore(directory: directory)
            } catch {
                Wiring.writeError("store copy: \(error)")
                throw CommandExit.failure
            }
            let target = try await StoreCommand.open(url: to ?? Wiring.environment["RECOPS_DATABASE_URL"])
            defer { target.close() }
            do {
                let rows = try await source.exportRows()
                // The erasure log goes too: it is the record that an erasure was done.
                let copied = try await target.importRows(recordings: rows.recordings, calls: rows.calls, erasures: try await source.exportErasures())
                let links = try await source.exportLinks()
                let linked = try await target.importLinks(links.links, opens: links.opens)
                print("copied \(copied.recordings) of \(rows.recordings.count) recordings, \(copied.calls) of \(rows.calls.count) calls, "
                      + "\(linked.links) of \(links.links.count) stable links and \(linked.opens) of \(links.opens.count) link opens to \(target.settings)"
                      + (copied.recordings + copied.calls + linked.links + linked.opens == 0 ? " (nothing new)" : ""))
            } catch {
                Wiring.writeError("store copy: \(error)")
                throw CommandExit.failure
            }
        }
    }

    static func open(url: String?) async throws -> PostgresJobStore {
        guard let url, !url.isEmpty else {
            Wiring.writeError("store: name the PostgreSQL store (--store / --to postgres://…, or RECOPS_DATABASE_URL)")
            throw ExitCode(64)
        }
        do {
            return try await PostgresJobStore.open(settings: try PostgresSettings(url: url), logger: Logger(label: "recops.store"))
        } catch {
            Wiring.writeError("cannot open the store: \(error)")
            throw CommandExit.failure
        }
    }
}
