import AWS
import Foundation
import RecopsTesting
import Testing
import Transport

@Suite struct IAMClientTests {
    @Test func userPoliciesGroupsAndKeys() async throws {
        try await MotoServer.with { moto in
            let iam = IAMClient(aws: moto.client())
            #expect(try await iam.user("pipeline") == nil)
            let created = try await iam.createUser("pipeline")
            #expect(created.arn == "arn:aws:iam::\(MotoServer.accountID):user/pipeline")
            #expect(try await iam.user("pipeline")?.name == "pipeline")

            let document = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::b/recordings/*"]}]}"#
            try await iam.putUserPolicy(user: "pipeline", name: "s3", document: document)
            #expect(try await iam.userPolicyNames("pipeline") == ["s3"])
            // IAM answers the document URL-encoded; the client hands it back decoded.
            let fetched = try #require(try await iam.userPolicy(user: "pipeline", name: "s3"))
            #expect(fetched.contains("arn:aws:s3:::b/recordings/*"))
            #expect(try await iam.userPolicy(user: "pipeline", name: "other") == nil)

            let arn = try await iam.createPolicy(name: "S3Everything", document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
            #expect(arn == "arn:aws:iam::\(MotoServer.accountID):policy/S3Everything")
            try await iam.attachUserPolicy(user: "pipeline", arn: arn)
            #expect(try await iam.attachedUserPolicies("pipeline").map(\.name) == ["S3Everything"])
            try await iam.detachUserPolicy(user: "pipeline", arn: arn)
            #expect(try await iam.attachedUserPolicies("pipeline").isEmpty)

            try await iam.createGroup("admins")
            try await iam.addUserToGroup(user: "pipeline", group: "admins")
            #expect(try await iam.groupsForUser("pipeline") == ["admins"])
            try await iam.removeUserFromGroup(user: "pipeline", group: "admins")
            #expect(try await iam.groupsForUser("pipeline").isEmpty)

            let key = try await iam.createAccessKey(user: "pipeline")
            #expect(key.id.hasPrefix("AKIA"))
            #expect(!key.description.contains(key.secret))
            let keys = try await iam.accessKeys("pipeline")
            #expect(keys.map(\.id) == [key.id])
            #expect(keys.first?.active == true)
            #expect(keys.first?.created != nil)
            try await iam.updateAccessKey(user: "pipeline", id: key.id, active: false)
            #expect(try await iam.accessKeys("pipeline").first?.active == false)
            try await iam.deleteAccessKey(user: "pipeline", id: key.id)
            #expect(try await iam.accessKeys("pipeline").isEmpty)

            #expect(try await STSClient(aws: moto.client()).callerIdentity().account == MotoServer.accountID)
        }
    }

    @Test func listsFollowEveryPage() async throws {
        try await MotoServer.with { moto in
            let iam = IAMClient(aws: moto.client())
            try await iam.createUser("many")
            for index in 0..<3 {
                let arn = try await iam.createPolicy(name: "p\(index)", document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#)
                try await iam.attachUserPolicy(user: "many", arn: arn)
            }
            let counter = CountingTransport(AsyncHTTPClientTransport())
            let paged = IAMClient(aws: moto.client(transport: counter), pageSize: 1)
            #expect(try await paged.attachedUserPolicies("many").map(\.name).sorted() == ["p0", "p1", "p2"])
            #expect(counter.count >= 3)  // one page per policy (moto may add an empty last page)
        }
    }
}
