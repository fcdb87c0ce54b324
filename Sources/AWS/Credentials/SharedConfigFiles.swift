import Foundation

/// The AWS CLI's shared files: `~/.aws/config` (`[profile name]`, `[default]`) and
/// `~/.aws/credentials` (`[name]`), at `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`. A key
/// in the credentials file wins over the same key in the config file, as in the SDKs.
public struct SharedConfigFiles: Sendable, Equatable {
    public var configPath: String
    public var credentialsPath: String

    public init(configPath: String, credentialsPath: String) {
        self.configPath = configPath
        self.credentialsPath = credentialsPath
    }

    public init(environment: [String: String]) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        configPath = environment["AWS_CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.aws/config"
        credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.aws/credentials"
    }

    /// Every profile's settings (keys lower-cased), both files merged.
    public func profiles() -> [String: [String: String]] {
        var merged = Self.parse(Self.read(configPath) ?? "", isConfig: true)
        for (name, values) in Self.parse(Self.read(credentialsPath) ?? "", isConfig: false) {
            merged[name, default: [:]].merge(values) { _, credentials in credentials }
        }
        return merged
    }

    /// Size, modification time and inode of both files: a rewrite (even a rename over) changes it.
    public func fingerprint() -> String {
        [configPath, credentialsPath].map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return "-" }
            return "\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }.joined(separator: "|")
    }

    static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }

    /// INI as the AWS CLI writes it: `[section]`, `key = value`, `#` and `;` comments. In the
    /// config file a section other than `default` is `[profile name]`.
    public static func parse(_ text: String, isConfig: Bool) -> [String: [String: String]] {
        var profiles: [String: [String: String]] = [:]
        var section: String?
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if let header = sectionName(line) {
                section = profileName(ofSection: header, isConfig: isConfig)
                if let section { profiles[section, default: [:]] = profiles[section] ?? [:] }
                continue
            }
            guard let section, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            profiles[section, default: [:]][key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return profiles
    }

    static func profileName(ofSection header: String, isConfig: Bool) -> String? {
        let name = header.trimmingCharacters(in: .whitespaces)
        // `[profile x]` in the credentials file is read as `x` too: a common slip, and harmless.
        guard isConfig else { return name.hasPrefix("profile ") ? name.dropFirst("profile ".count).trimmingCharacters(in: .whitespaces) : name }
        if name == "default" { return name }
        guard name.hasPrefix("profile ") else { return nil }  // [sso-session x], [services y]: not profiles
        return name.dropFirst("profile ".count).trimmingCharacters(in: .whitespaces)
    }

    /// A section header, `[name]`, perhaps followed by a comment: its name as read in the
    /// credentials file, or nil for any other line.
    static func header(_ line: String) -> String? {
        sectionName(line).flatMap { profileName(ofSection: $0, isConfig: false) }
    }

    /// What is between the brackets of `[name]` (a comment may follow), or nil.
    static func sectionName(_ line: String) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") else { return nil }
        let rest = trimmed[trimmed.index(after: close)...].trimmingCharacters(in: .whitespaces)
        guard rest.isEmpty || rest.hasPrefix("#") || rest.hasPrefix(";") else { return nil }
        return String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
    }

    /// `text` with `profile`'s keys set to the new pair (its session token, if any, dropped): the
    /// other profiles, comments, order and line endings kept; every section of that name is
    /// updated (the pair goes in the first, the old keys leave all); a missing profile is appended.
    public static func replacingKey(in text: String, profile: String, accessKeyID: String, secretAccessKey: String) -> String {
        let newline = text.contains("\r\n") ? "\r\n" : "\n"
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var output: [String] = []
        var inProfile = false, placed = false
        let pair = ["aws_access_key_id = \(accessKeyID)", "aws_secret_access_key = \(secretAccessKey)"]
        func key(of line: String) -> String? {
            guard let equals = line.firstIndex(of: "=") else { return nil }
            return line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
        }
        for line in lines {
            if let name = header(line) {
                inProfile = name == profile
                output.append(line)
                if inProfile, !placed {
                    output += pair
                    placed = true
                }
                continue
            }
            if inProfile, let key = key(of: line.trimmingCharacters(in: .whitespaces)),
               ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"].contains(key) { continue }
            output.append(line)
        }
        if !placed {
            if let last = output.last, !last.trimmingCharacters(in: .whitespaces).isEmpty { output.append("") }
            output += ["[\(profile)]"] + pair
        }
        return output.joined(separator: newline) + newline
    }

    /// The access key id `profile` holds in the credentials file at `path`, if any.
    public static func accessKeyID(path: String, profile: String) -> String? {
        parse(read(path) ?? "", isConfig: false)[profile]?["aws_access_key_id"]
    }

    /// Writes the new pair into the credentials file at `path` atomically (a private temporary
    /// file in the same directory, renamed over), mode 0600: a reader sees the old file or the
    /// new one, never half of one.
    public static func writeKey(path: String, profile: String, accessKeyID: String, secretAccessKey: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let text = replacingKey(in: read(path) ?? "", profile: profile, accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw CredentialsError(source: path, "cannot create a temporary file beside it (errno \(errno))") }
        let data = Data(text.utf8)
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        let writeFailure = errno
        close(descriptor)
        errno = writeFailure
        guard written == data.count, synced == 0 else {
            let failure = errno
            unlink(temporary.path)
            throw CredentialsError(source: path, "could not write it (errno \(failure)); it is unchanged")
        }
        guard rename(temporary.path, path) == 0 else {
            let failure = errno
            unlink(temporary.path)
            throw CredentialsError(source: path, "could not replace it (errno \(failure)); it is unchanged")
        }
    }
}
