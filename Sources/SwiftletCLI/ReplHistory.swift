#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The REPL's history as linenoise keeps it for redis-cli: at most 100 lines, a line equal to the last one not
/// added again, the file rewritten whole (mode 0600) after each added line.
struct ReplHistory {
    /// linenoise's `LINENOISE_DEFAULT_HISTORY_MAX_LEN`.
    static let maximumLength = 100

    /// Oldest first.
    var entries: [[UInt8]] = []

    /// The history file for this environment, as redis-cli's `getDotfilePath` finds `~/.rediscli_history`:
    /// `SWIFTLETCLI_HISTFILE` when set and not empty (`/dev/null` meaning no file), else `$HOME/.swiftletcli_history`
    /// (no file when `HOME` is unset or empty).
    static func filePath(environment: [String: String]) -> String? {
        if let path = environment["SWIFTLETCLI_HISTFILE"], !path.isEmpty {
            return path == "/dev/null" ? nil : path
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.swiftletcli_history"
    }

    /// linenoiseHistoryAdd.
    mutating func add(_ line: [UInt8]) {
        if self.entries.last == line { return }
        if self.entries.count == Self.maximumLength { self.entries.removeFirst() }
        self.entries.append(line)
    }

    /// linenoise's `LINENOISE_MAX_LINE`: `fgets` reads at most one byte less, so a longer line is loaded as
    /// several entries.
    static let maximumLineLength = 4096

    /// linenoiseHistoryLoad: the file is read as linenoise's `fgets(buf, 4096, fp)` loop reads it, with a bounded
    /// line buffer; each piece is cut at its first CR, LF or NUL and added (so only the last 100 stay). A missing
    /// file is no history.
    mutating func load(from path: String) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let pieceLength = Self.maximumLineLength - 1
        var line: [UInt8] = []
        line.reserveCapacity(pieceLength)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            for byte in chunk[0..<count] {
                line.append(byte)
                if byte == 10 || line.count == pieceLength {
                    self.add(Self.cutAtLineEnd(line))
                    line.removeAll(keepingCapacity: true)
                }
            }
        }
        if !line.isEmpty { self.add(Self.cutAtLineEnd(line)) }
    }

    /// linenoiseHistorySave: the whole history, one line each, in a file only the user can read.
    /// - Returns: whether the file was written.
    @discardableResult
    func save(to path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        fchmod(descriptor, 0o600)
        var data: [UInt8] = []
        for entry in self.entries { data += entry + [10] }
        FileOutput(descriptor: descriptor).write(data)
        return true
    }

    /// The piece as linenoise keeps it: up to its first CR or LF, and (a C string) its first NUL.
    private static func cutAtLineEnd(_ line: [UInt8]) -> [UInt8] {
        guard let index = line.firstIndex(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else { return line }
        return Array(line[..<index])
    }

    /// redis-cli's `isSensitiveCommand`: the lines kept out of the history (AUTH, ACL SETUSER, CONFIG SET of a
    /// password, HELLO with AUTH, MIGRATE with AUTH/AUTH2). `words` are the line's words after a repeat count.
    static func isSensitive(_ words: [String]) -> Bool {
        let lowered = words.map { $0.lowercased() }
        guard let name = lowered.first else { return false }
        let count = lowered.count
        if name == "auth" { return true }
        if count > 1 && name == "acl" && lowered[1] == "setuser" { return true }
        if count > 2 && name == "config" && lowered[1] == "set"
            && ["masterauth", "masteruser", "requirepass"].contains(lowered[2])
        {
            return true
        }
        if count > 4 && name == "hello" {
            // HELLO [protover [AUTH username password] [SETNAME clientname]]
            var index = 2
            while index < count {
                let more = count - 1 - index
                if lowered[index] == "auth" && more >= 2 { return true }
                if lowered[index] == "setname" && more > 0 {
                    index += 2
                    continue
                }
                return false
            }
            return false
        }
        if count > 7 && name == "migrate" {
            // MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
            // [AUTH2 username password] [KEYS key [key ...]]
            for index in 6..<count {
                let more = count - 1 - index
                if lowered[index] == "auth" && more > 0 { return true }
                if lowered[index] == "auth2" && more >= 2 { return true }
                if lowered[index] == "keys" && more > 0 { return false }
            }
        }
        return false
    }
}
