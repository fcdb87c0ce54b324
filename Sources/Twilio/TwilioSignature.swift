import Crypto
import Foundation

/// `X-Twilio-Signature`: computing it (the sandbox, the call simulator, `verify --only webhook`)
/// and checking it (the pipeline's webhooks), as Twilio's own libraries do.
public enum TwilioSignature {
    /// HMAC-SHA1 over the URL followed by each form parameter, sorted by name, as name + value.
    /// Repeated names contribute each value, sorted.
    public static func compute(url: String, parameters: [(name: String, value: String)], authToken: String) -> String {
        var payload = url
        let sorted = parameters.sorted { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
        for parameter in sorted {
            payload += parameter.name + parameter.value
        }
        let key = SymmetricKey(data: Data(authToken.utf8))
        return Data(HMAC<Insecure.SHA1>.authenticationCode(for: Data(payload.utf8), using: key)).base64EncodedString()
    }

    /// Checks a form-encoded request. `url` is the public URL Twilio called (built from the
    /// configured app URL, never from the request's Host). Like Twilio's validator, the URL with
    /// and without its default port both count. Comparison is constant time.
    public static func isValid(signature: String, url: String, parameters: [(name: String, value: String)], authToken: String) -> Bool {
        urlVariants(url).contains { variant in
            constantTimeEqual(compute(url: variant, parameters: parameters, authToken: authToken), signature)
        }
    }

    /// Checks a JSON-body request: the signature covers the URL only, whose `bodySHA256` query
    /// parameter must be the hex SHA-256 of the raw body.
    public static func isValid(signature: String, url: String, body: Data, authToken: String) -> Bool {
        guard let components = URLComponents(string: url),
              let declared = components.queryItems?.first(where: { $0.name == "bodySHA256" })?.value else { return false }
        let actual = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        guard constantTimeEqual(declared.lowercased(), actual) else { return false }
        return isValid(signature: signature, url: url, parameters: [], authToken: authToken)
    }

    /// The URL as given, and with its default port added or removed.
    static func urlVariants(_ url: String) -> [String] {
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else { return [url] }
        let defaultPort = scheme == "https" ? 443 : (scheme == "http" ? 80 : nil)
        guard let defaultPort else { return [url] }
        if components.port == defaultPort {
            components.port = nil
        } else if components.port == nil {
            components.port = defaultPort
        } else {
            return [url]
        }
        return [url, components.string ?? url]
    }

    /// Equal strings compared without an early exit, so timing tells an attacker nothing.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }
}
