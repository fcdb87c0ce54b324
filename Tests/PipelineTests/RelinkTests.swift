import Airtable
import Foundation
import Pipeline
import RecopsBase
import RecopsTesting
import Testing
import Transport

/// `recops recordings relink`: past presigned lines moved to stable links, in a history that
/// office staff have written in too.
@Suite struct RelinkTests {
    @Test func relinkRewritesExactlyRecopsLinesAndLeavesOfficeNotesByteForByte() async throws {
        try await MotoServer.with { moto in
            try await LocalSandbox.with { sandbox in
                // Lines written with presigned URLs, as the runbook's service wrote them.
                let fixture = try await PipelineFixture(moto: moto, sandbox: sandbox)
                let (first, _) = try await fixture.recordedCall(job: "J-1001")
                let (second, _) = try await fixture.recordedCall(job: "J-1001")
                try await fixture.recordedCall(job: "J-1002")
                _ = try await fixture.settle(expecting: 3)
                let written = try await fixture.history("J-1001")
                let presigned = try PipelineFixture.urlLines(written)
                #expect(presigned.count == 2 && presigned.allSatisfy { $0.contains("X-Amz-Signature=") })
                let otherJob = try await fixture.history("J-1002")

                // The office writes around them: a decomposed "é", CRLF endings, an emoji, trailing
                // spaces, an empty line, a line in recops's form for another object, and a note
                // that quotes one of recops's URLs inside other text.
                let notes = "\r\nNote: caf\u{65}\u{301} customer called back 👍  \r\n"
                    + "---- | 2024-03-02 10:00:00 | Event: Recording | Source: IVR | URL: https://example.com/recordings/other.mp3\n\n"
                    + "Office: the first call is at \(presigned[0]) (see above)  "
                let edited = written + notes
                // Typed into Airtable (the sandbox's record), outside recops's share of the base's rate.
                let table = try #require(await sandbox.state.table(sandbox.seed.tableName))
                await sandbox.state.setField(table: table, record: sandbox.seed.jobs[0].id, name: sandbox.seed.historyField, value: .string(edited))

                let relink = fixture.assembled.historyRelink()
                let targets = try await relink.targets(jobIDs: ["J-1001"], since: nil)
                #expect(Set(targets["J-1001"]?.map(\.job.recordingSid) ?? []) == [first, second])
                #expect(targets["J-1002"] == nil)
                let stable = try #require(targets["J-1001"]).map(\.url)

                // A dry run says what would change and changes nothing.
                let dry = try await relink.relink(jobID: "J-1001", targets: targets["J-1001"]!, dryRun: true)
                #expect(dry.rewritten == 2 && dry.recordFound)
                #expect(Array(try await fixture.history("J-1001").utf8) == Array(edited.utf8))

                let result = try await relink.relink(jobID: "J-1001", targets: targets["J-1001"]!, dryRun: false)
                #expect(result == .init(jobID: "J-1001", rewritten: 2, alreadyStable: 0, notFound: [], recordFound: true))
                // Exactly the URL part of recops's two lines changed: the note quoting a URL did not.
                let firstLine = try #require(written.split(separator: "\n").first { $0.hasSuffix(presigned[0]) })
                let secondLine = try #require(written.split(separator: "\n").first { $0.hasSuffix(presigned[1]) })
                let byKey = Dictionary(uniqueKeysWithValues: targets["J-1001"]!.map { (RecordingLayout.marker(forKey: $0.job.objectKey!), $0.url) })
                func stableURL(for url: String) -> String { byKey.first { url.contains($0.key) }!.value }
                let expected = written.replacingOccurrences(of: firstLine, with: firstLine.replacingOccurrences(of: presigned[0], with: stableURL(for: presigned[0])))
                    .replacingOccurrences(of: secondLine, with: secondLine.replacingOccurrences(of: presigned[1], with: stableURL(for: presigned[1]))) + notes
                let after = try await fixture.history("J-1001")
                #expect(Array(after.utf8) == Array(expected.utf8))
                #expect(after.contains(presigned[0]), "the office note still quotes the old URL")
                #expect(Set(try PipelineFixture.urlLines(written.replacingOccurrences(of: presigned[0], with: stableURL(for: presigned[0]))
                    .replacingOccurrences(of: presigned[1], with: stableURL(for: presigned[1])))) == Set(stable))

                // Again: nothing to do, nothing sent.
                let again = try await relink.relink(jobID: "J-1001", targets: try await relink.targets(jobIDs: ["J-1001"], since: nil)["J-1001"]!, dryRun: false)
                #expect(again.rewritten == 0 && again.alreadyStable == 2)
                #expect(Array(try await fixture.history("J-1001").utf8) == Array(expected.utf8))
                #expect(Array(try await fixture.history("J-1002").utf8) == Array(otherJob.utf8))

                // The new links open, and the history step sees its lines as written (no second line).
                for url in stable { #expect(try await AsyncHTTPClientTransport().send(HTTPRequest(method: "GET", url: URL(string: url)!)).status == 302) }
            }
        }
    }

    @Test func aLineIsOnlyRecopsLineWhenItsTimestampTemplateAndObjectAllMatch() throws {
        let settings = HistorySettings(keyTemplate: "recordings/{call_sid}.mp3", links: .stable, signedURLTTL: .seconds(900),
                                       line: "---- | {timestamp} | Event: Recording | Source: IVR | URL: {url}", pendingLine: "pending {timestamp}",
                                       timestampFormat: "yyyy-MM-dd HH:mm:ss", timeZone: "UTC", retryWithin: .seconds(900))
        let layout = RecordingLayout(settings: settings)
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var job = RecordingJob(recordingSid: "RE" + String(repeating: "a", count: 32), callSid: "CA" + String(repeating: "b", count: 32),
                               accountSid: "AC" + String(repeating: "c", count: 32), startTime: start, duration: 9, jobID: "J-1", state: .linked,
                               nextAttemptAt: start, receivedAt: start)
        job.objectKey = layout.key(for: job)
        let target = HistoryRelink.Target(job: job, url: "https://recops.example/r/" + String(repeating: "x", count: 24))
        let stamp = layout.timestamp(start)
        let url = "https://s3.amazonaws.com/b/" + job.objectKey! + "?X-Amz-Signature=1"
        let mine = "---- | \(stamp) | Event: Recording | Source: IVR | URL: \(url)"
        let history = [
            mine,
            "---- | 2020-01-01 00:00:00 | Event: Recording | Source: IVR | URL: \(url)",                 // another time
            "---- | \(stamp) | Event: Recording | Source: Office | URL: \(url)",                          // another template
            "---- | \(stamp) | Event: Recording | Source: IVR | URL: \(url.replacingOccurrences(of: ".mp3", with: ".mp3.bak"))", // another object
            "---- | \(stamp) | Event: Recording | Source: IVR | URL: \(url) trailing words",              // not only a URL
            "Please call: \(mine)",
        ].joined(separator: "\r\n")
        let result = HistoryRelink.rewrite(history, targets: [target], layout: layout)
        #expect(result.rewritten == 1 && result.alreadyStable == 0 && result.notFound.isEmpty)
        let lines = result.text.components(separatedBy: "\r\n")
        #expect(lines[0] == "---- | \(stamp) | Event: Recording | Source: IVR | URL: \(target.url)")
        #expect(Array(lines[1...].joined(separator: "\r\n").utf8) == Array(history.components(separatedBy: "\r\n")[1...].joined(separator: "\r\n").utf8))
        let twice = HistoryRelink.rewrite(result.text, targets: [target], layout: layout)
        #expect(twice.rewritten == 0 && twice.alreadyStable == 1 && Array(twice.text.utf8) == Array(result.text.utf8))
        #expect(HistoryRelink.rewrite("only notes\n", targets: [target], layout: layout).notFound == [job.recordingSid])
    }
}
