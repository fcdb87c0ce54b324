import AWS
import Foundation
import Testing
import Transport

/// The lifecycle XML against the shapes AWS documents (LifecycleRuleFilter, "Examples of S3
/// Lifecycle configuration", example 9: size-based rules). moto drops `ObjectSizeGreaterThan`,
/// so the size filter is checked here rather than by a round trip through it.
@Suite struct S3LifecycleXMLTests {
    static let xmlns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

    @Test func aPrefixAndASizeGoInOneAndAsTheFilterRequires() throws {
        let rule = S3.LifecycleRule(id: "RecordingRetention", prefix: "recordings/", transitions: [.init(days: 90, storageClass: "STANDARD_IA")],
                                    expirationDays: 365, minObjectSize: 131_072)
        let xml = S3.LifecycleRule.configuration([rule], xmlns: Self.xmlns)
        let document = try #require(XMLNode.parse(Data(xml.utf8)))
        let filter = try #require(document.child("Rule")?.child("Filter"))
        // "A Filter can have exactly one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan, or And."
        #expect(filter.children.map(\.name) == ["And"])
        #expect(filter["And", "Prefix"] == "recordings/")
        #expect(filter["And", "ObjectSizeGreaterThan"] == "131072")
        #expect(S3.LifecycleRule.rules(from: document) == [rule])

        let plain = S3.LifecycleRule(id: "Scratch", prefix: "tmp/", expirationDays: 7)
        let plainFilter = try #require(XMLNode.parse(Data(S3.LifecycleRule.configuration([plain], xmlns: Self.xmlns).utf8))?.child("Rule")?.child("Filter"))
        #expect(plainFilter.children.map(\.name) == ["Prefix"])

        let whole = S3.LifecycleRule(id: "Everything", prefix: "", expirationDays: 7, minObjectSize: 1)
        let wholeDocument = try #require(XMLNode.parse(Data(S3.LifecycleRule.configuration([whole], xmlns: Self.xmlns).utf8)))
        #expect(wholeDocument.child("Rule")?.child("Filter")?.children.map(\.name) == ["ObjectSizeGreaterThan"])
        #expect(S3.LifecycleRule.rules(from: wholeDocument) == [whole])
    }

    @Test func readsEveryDocumentedPlaceForPrefixAndSize() throws {
        // A size alone sits directly in Filter; with a prefix, in And; a legacy rule keeps its Prefix outside.
        let answer = """
            <?xml version="1.0" encoding="UTF-8"?>
            <LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Rule><ID>Allow small object transitions</ID><Filter><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></Filter><Status>Enabled</Status>
                <Transition><Days>365</Days><StorageClass>GLACIER_IR</StorageClass></Transition></Rule>
              <Rule><ID>Transition with a prefix and based on size</ID><Filter><And><Prefix>tax/</Prefix><ObjectSizeGreaterThan>500</ObjectSizeGreaterThan></And></Filter>
                <Status>Enabled</Status><Transition><Days>365</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>
              <Rule><ID>legacy</ID><Prefix>logs/</Prefix><Status>Disabled</Status><Expiration><Days>30</Days></Expiration></Rule>
            </LifecycleConfiguration>
            """
        let rules = S3.LifecycleRule.rules(from: try #require(XMLNode.parse(Data(answer.utf8))))
        #expect(rules == [
            S3.LifecycleRule(id: "Allow small object transitions", prefix: "", transitions: [.init(days: 365, storageClass: "GLACIER_IR")], minObjectSize: 1),
            S3.LifecycleRule(id: "Transition with a prefix and based on size", prefix: "tax/", transitions: [.init(days: 365, storageClass: "GLACIER")], minObjectSize: 500),
            S3.LifecycleRule(id: "legacy", prefix: "logs/", enabled: false, expirationDays: 30),
        ])
    }
}
