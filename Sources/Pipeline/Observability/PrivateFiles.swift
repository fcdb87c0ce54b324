import Foundation

/// Files that hold personal data (the store, downloaded recordings) are private: directories
/// 0700, files 0600, whatever the process's umask (022 would make them world-readable).
public enum PrivateFiles {
    /// Creates `url` (and missing parents) as 0700, and narrows it to 0700 if it exists.
    public static func directory(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try narrow(url.path, to: 0o700)
    }

    /// Creates an empty file as 0600 if it is missing, and narrows it to 0600 if it exists.
    public static func file(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        try narrow(path, to: 0o600)
    }

    private static func narrow(_ path: String, to mode: Int) throws {
        let current = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? 0
        if current & 0o077 != 0 { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path) }
    }
}
