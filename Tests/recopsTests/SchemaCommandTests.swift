import Foundation
import Spec
import Testing

@Suite struct SchemaCommandTests {
    @Test func printsTheSchemaTheRepositoryShips() async throws {
        let run = try await RecopsBinary.run(["schema"], environment: [:])
        #expect(run.status == 0)
        let committed = try String(contentsOf: RecopsBinary.repositoryRoot.appendingPathComponent("infra/policy.schema.json"), encoding: .utf8)
        // Editors read the committed copy: it must be what recops prints today.
        #expect(run.stdout == committed, "regenerate with: recops schema > infra/policy.schema.json")

        let schema = try JSONDecoder().decode(JSONValue.self, from: Data(run.stdout.utf8))
        #expect(schema["type"] == .string("object"))
        #expect(schema["additionalProperties"] == .bool(false))
        guard case .array(let required)? = schema["required"] else {
            Issue.record("no required list")
            return
        }
        #expect(required.contains(.string("bucket")))
        let ownership = schema["properties"]?["bucket"]?["properties"]?["object_ownership"]
        guard case .array(let choices)? = ownership?["anyOf"] else {
            Issue.record("object_ownership has no anyOf")
            return
        }
        #expect(choices.first?["enum"] == .array([.string("BucketOwnerEnforced"), .string("BucketOwnerPreferred"), .string("ObjectWriter")]))
    }
}
