import Foundation

/// Valid MPEG audio of a chosen length: the sandbox's recordings.
///
/// MPEG-2 Layer III, 16 kHz mono at 32 kbit/s (the format of ../shared/fixtures/sample-call.mp3):
/// each frame is 144 bytes and 576 samples (36 ms). Silent frames (zero side information) decode
/// as silence in any player and parse as MPEG frames in any checker.
public enum MP3Frames {
    public static let frameBytes = 144
    public static let frameSeconds = 0.036

    /// Frames covering `seconds`, rounded to whole frames.
    public static func silence(seconds: Double) -> Data {
        let count = max(1, Int((seconds / frameSeconds).rounded()))
        var frame = Data(count: frameBytes)
        // sync 0xFFF, MPEG-2 (10), layer III (01), no CRC (1) | 32 kbit/s (0100), 16 kHz (10), no padding | mono (11)
        frame[0] = 0xFF
        frame[1] = 0xF3
        frame[2] = 0x48
        frame[3] = 0xC4
        var data = Data(capacity: count * frameBytes)
        for _ in 0..<count { data.append(frame) }
        return data
    }
}
