import AWS
import Transport
import Foundation
import Testing

@Suite struct XMLNodeTests {
    @Test func parsesS3AndIAMErrorDocuments() throws {
        let s3 = try #require(XMLNode.parse(Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>b</BucketName><RequestId>R1</RequestId></Error>".utf8)))
        #expect(s3["Code"] == "NoSuchBucket")
        #expect(s3["RequestId"] == "R1")
        let iam = try #require(XMLNode.parse(Data("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>x &amp; y</Message></Error><RequestId>R2</RequestId></ErrorResponse>".utf8)))
        #expect(iam["Error", "Code"] == "NoSuchEntity")
        #expect(iam["Error", "Message"] == "x & y")
        #expect(XMLNode.parse(Data("not xml".utf8)) == nil)
    }

    @Test func parsesInsideConcurrentTasks() async throws {
        let results = await withTaskGroup(of: String?.self) { group in
            for index in 0..<20 {
                group.addTask { XMLNode.parse(Data("<A><B>\(index)</B></A>".utf8))?["B"] }
            }
            return await group.reduce(into: [String]()) { $0.append($1 ?? "nil") }
        }
        #expect(Set(results) == Set((0..<20).map(String.init)))
    }
}
