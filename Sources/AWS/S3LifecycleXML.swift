import Transport

/// A lifecycle configuration's XML, both ways. Kept apart from the client so the shapes AWS
/// documents can be checked directly: moto 5.2.1 drops a filter's `ObjectSizeGreaterThan`, so
/// a round trip through it cannot show that the size filter is written and read correctly.
extension S3.LifecycleRule {
    /// The body of PutBucketLifecycleConfiguration.
    public static func configuration(_ rules: [S3.LifecycleRule], xmlns: String) -> String {
        let body = rules.map { rule in
            // A filter holds exactly one condition; prefix and size together go in an And.
            // (An And needs two predicates, so a size over the whole bucket stands alone.)
            let prefixElement = "<Prefix>\(XMLNode.escape(rule.prefix))</Prefix>"
            let filter = switch rule.minObjectSize {
            case nil: prefixElement
            case let size? where rule.prefix.isEmpty: "<ObjectSizeGreaterThan>\(size)</ObjectSizeGreaterThan>"
            case let size?: "<And>\(prefixElement)<ObjectSizeGreaterThan>\(size)</ObjectSizeGreaterThan></And>"
            }
            var xml = "<Rule><ID>\(XMLNode.escape(rule.id))</ID><Filter>\(filter)</Filter>"
            xml += "<Status>\(rule.enabled ? "Enabled" : "Disabled")</Status>"
            for transition in rule.transitions {
                xml += "<Transition><Days>\(transition.days)</Days><StorageClass>\(transition.storageClass)</StorageClass></Transition>"
            }
            if let days = rule.expirationDays { xml += "<Expiration><Days>\(days)</Days></Expiration>" }
            return xml + "</Rule>"
        }.joined()
        return "<LifecycleConfiguration \(xmlns)>\(body)</LifecycleConfiguration>"
    }

    /// The rules of a GetBucketLifecycleConfiguration answer (or of a configuration document).
    public static func rules(from xml: XMLNode) -> [S3.LifecycleRule] {
        xml.children("Rule").map { rule in
            // Prefix and size sit in Filter, in Filter/And, or (the prefix, legacy) on the rule.
            let and = rule.child("Filter")?.child("And")
            let prefix = rule["Filter", "Prefix"] ?? and?["Prefix"] ?? rule["Prefix"] ?? ""
            return S3.LifecycleRule(
                id: rule["ID"] ?? "",
                prefix: prefix,
                enabled: rule["Status"] == "Enabled",
                transitions: rule.children("Transition").compactMap { transition in
                    guard let days = transition["Days"].flatMap(Int.init), let storageClass = transition["StorageClass"] else { return nil }
                    return S3.LifecycleRule.Transition(days: days, storageClass: storageClass)
                },
                expirationDays: rule["Expiration", "Days"].flatMap(Int.init),
                minObjectSize: (rule["Filter", "ObjectSizeGreaterThan"] ?? and?["ObjectSizeGreaterThan"]).flatMap(Int.init))
        }
    }
}
