import Foundation
import FuzzDriver
import Pipeline
import Transport
import Twilio

/// libFuzzer entry: any bytes as a webhook's form body, through the parsers every webhook passes
/// before anything is stored (see WebhookRoutes): the form decoder, the signature check, and the
/// recording callback's fields. Never a crash; and three properties that must hold whatever the
/// input, checked here so a violation is a crash libFuzzer keeps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    // The route reads the body this way too: invalid UTF-8 becomes U+FFFD, never a refusal to parse.
    let body = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    guard let form = FormEncoding.decode(body) else { return 0 }

    // 1. What the decoder returns survives encoding and decoding again (the sandbox and the call
    //    simulator encode what the pipeline decodes).
    guard let again = FormEncoding.decode(FormEncoding.encode(form)),
          again.map(\.name) == form.map(\.name), again.map(\.value) == form.map(\.value) else {
        fatalError("form round trip changed the parameters: \(form.count) → \(FormEncoding.decode(FormEncoding.encode(form))?.count ?? -1)")
    }

    // 2. A signature over these parameters is accepted, with and without the default port; the
    //    same signature over anything else, or a fuzzed signature, is refused.
    let url = "https://svc.example.com/api/twilio/recording"
    let token = "0123456789abcdef0123456789abcdef"
    let signature = TwilioSignature.compute(url: url, parameters: form, authToken: token)
    guard TwilioSignature.isValid(signature: signature, url: url, parameters: form, authToken: token),
          TwilioSignature.isValid(signature: signature, url: "https://svc.example.com:443/api/twilio/recording", parameters: form, authToken: token) else {
        fatalError("a correct signature was refused")
    }
    if TwilioSignature.isValid(signature: signature, url: url, parameters: form + [(name: "JobId", value: "J-1")], authToken: token) {
        fatalError("a signature stayed valid with a parameter added")
    }
    if let claimed = form.first(where: { $0.name == "X-Twilio-Signature" })?.value, claimed != signature,
       TwilioSignature.isValid(signature: claimed, url: url, parameters: form, authToken: token) {
        fatalError("a forged signature was accepted")
    }

    // 3. A recording callback is either refused with a reason, or every field is well-formed.
    var parameters: [String: String] = [:]
    for item in form { parameters[item.name] = item.value }
    do {
        let callback = try RecordingCallback(form: parameters)
        for (sid, prefix) in [(callback.accountSid, "AC"), (callback.callSid, "CA"), (callback.recordingSid, "RE")]
        where sid.utf8.count != 34 || !sid.hasPrefix(prefix) {
            fatalError("accepted a malformed \(prefix) SID")
        }
        if let duration = callback.duration, duration < 0 { fatalError("accepted a negative duration") }
    } catch let error as RecordingCallback.Invalid {
        if error.description.isEmpty { fatalError("a refusal without a reason") }
    } catch {
        fatalError("an unexpected error: \(error)")
    }
    return 0
}

@_cdecl("WebhookFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
