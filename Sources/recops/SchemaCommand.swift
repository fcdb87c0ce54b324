import ArgumentParser
import Spec

/// `recops schema`: the spec's JSON Schema, for editor completion and inline errors.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the spec's JSON Schema.",
        discussion: """
            Save it (recops schema > infra/policy.schema.json) and put this first line in the spec for
            editors with a YAML language server:
              # yaml-language-server: $schema=./policy.schema.json
            """
    )

    func run() throws {
        print(Schema.spec.jsonSchema.encoded(pretty: true))
    }
}
