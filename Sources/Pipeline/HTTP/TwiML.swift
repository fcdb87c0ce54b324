import Transport

/// The few TwiML verbs the voice webhook answers with, XML-escaped.
public struct TwiML: Sendable, CustomStringConvertible {
    private var verbs: [String] = []

    public init() {}

    static func escape(_ text: String) -> String {
        XMLNode.escape(text)
    }

    private static func attributes(_ pairs: [(String, String)]) -> String {
        pairs.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }

    /// `<Start><Recording …/></Start>`: records the whole call from here on.
    public mutating func startRecording(_ attributes: [(String, String)]) {
        verbs.append("<Start><Recording\(Self.attributes(attributes))/></Start>")
    }

    public mutating func say(_ text: String) {
        verbs.append("<Say>\(Self.escape(text))</Say>")
    }

    public mutating func gather(action: String, prompt: String, timeout: Int = 8) {
        let attributes = Self.attributes([("input", "dtmf"), ("finishOnKey", "#"), ("timeout", String(timeout)), ("action", action),
                                          ("method", "POST"), ("actionOnEmptyResult", "true")])
        verbs.append("<Gather\(attributes)><Say>\(Self.escape(prompt))</Say></Gather>")
    }

    public mutating func redirect(_ url: String) {
        verbs.append("<Redirect method=\"POST\">\(Self.escape(url))</Redirect>")
    }

    public mutating func hangup() {
        verbs.append("<Hangup/>")
    }

    public var description: String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\(verbs.joined())</Response>"
    }
}
