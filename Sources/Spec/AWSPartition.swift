/// The AWS partition a region belongs to: ARNs must name it (`arn:aws-cn:s3:::…` in China).
public enum AWSPartition: String, Sendable {
    case aws
    case china = "aws-cn"
    case govCloud = "aws-us-gov"

    public init(region: String) {
        if region.hasPrefix("cn-") {
            self = .china
        } else if region.hasPrefix("us-gov-") {
            self = .govCloud
        } else {
            self = .aws
        }
    }
}
