import Foundation
import FuzzDriver
import Spec

/// libFuzzer entry: any bytes as a spec. The loader must answer (a spec or errors), never crash or
/// hang, and every error must carry the file, a line and a column.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Data(bytes: data, count: count)
    guard let text = String(data: bytes, encoding: .utf8) else { return 0 }
    let environment = ["APP_URL": "https://rec.example.com", "S3_BUCKET": "acme-call-recordings",
                       "TWILIO_PHONE_NUMBER": "+15005550006", "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN"]
    let result = SpecLoader(environment: environment).validate(yaml: text, file: "fuzz.yaml")
    if result.loaded == nil, !result.diagnostics.contains(where: { $0.severity == .error }) {
        fatalError("neither a spec nor an error")
    }
    for diagnostic in result.diagnostics where diagnostic.location.file != "fuzz.yaml" || diagnostic.location.line < 1 || diagnostic.location.column < 1 {
        fatalError("a diagnostic without a position: \(diagnostic)")
    }
    return 0
}

@_cdecl("SpecFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
