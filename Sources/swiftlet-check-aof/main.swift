import SwiftletPersistence

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// swiftlet-check-aof [--fix [--yes]|--truncate-to-timestamp TS] FILE — checks an append-only file as Redis 7.0's
/// `redis-check-aof` does: its verdicts, `ok_up_to` offsets, messages (a torn command is described in our own words)
/// and exit status (0 valid, 1 not).
///
/// FILE is a manifest (`appendonlydir/appendonly.aof.manifest`: its base and incremental files are checked in
/// order, resolved against the manifest's directory), or an old-style single file, with or without an RDB preamble.
/// `--fix` cuts a torn or malformed tail off the last file after asking; `--yes` (Swiftlet's addition) answers for
/// the user. `--truncate-to-timestamp TS` cuts the last file at its first `#TS:` annotation later than TS.
func usageExit(_ status: Int32) -> Never {
    print("Usage: swiftlet-check-aof [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>")
    print(
        """
          --fix                        truncate the last file to its last complete command, after asking
          --yes                        answer the --fix question "Continue? [y/N]" with yes, without reading stdin
          --truncate-to-timestamp TS   truncate the last file at its first #TS annotation later than TS (unix seconds)
        """
    )
    exit(status)
}

var checker = AOFChecker()
var inputPath: String?
var arguments = CommandLine.arguments.dropFirst()
var timestampGiven = false
while let argument = arguments.popFirst() {
    switch argument {
    case "--fix":
        checker.fix = true
    case "--yes":
        checker.assumeYes = true
    case "--truncate-to-timestamp":
        guard let text = arguments.popFirst() else { usageExit(1) }
        // Read as Redis reads it, with strtol; 0 leaves the option off.
        let digits = Array(text.utf8)[...]
        guard let (timestamp, end) = AOFChecker.strtol(digits), end == digits.endIndex else {
            fail("Invalid timestamp, aborting...")
        }
        checker.truncateToTimestamp = timestamp
        timestampGiven = true
    case "-h", "--help":
        usageExit(0)
    default:
        guard inputPath == nil, !argument.hasPrefix("--") else { usageExit(1) }
        inputPath = argument
    }
}
// Redis takes either --fix or --truncate-to-timestamp, not both.
guard let inputPath, !(checker.fix && timestampGiven) else { usageExit(1) }

/// The whole file, or exit with Redis's message when it cannot be opened.
func readInput(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { fail("Cannot open file \(path): \(errnoText())") }
    close(fd)
    do {
        return try AOFFile.read(path)
    } catch {
        fail("Cannot read file: \(path)")
    }
}

/// Redis's `fileIsManifest`: a line that is not a comment starts with `file`.
func isManifest(_ bytes: [UInt8]) -> Bool {
    bytes.split(separator: 10, omittingEmptySubsequences: false).contains { line in
        line.first != UInt8(ascii: "#") && line.starts(with: "file".utf8)
    }
}

/// Redis's `fileIsRDB`: room for an RDB header, which starts with `REDIS`.
func isRDB(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 8 && AOFCommandReader.hasRDBPreamble(bytes)
}

/// `dirname(3)`.
func directoryName(_ path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    var directory = trimmed[..<slash]
    while directory.hasSuffix("/") { directory.removeLast() }
    return directory.isEmpty ? "/" : String(directory)
}

/// The line after a file's check, for `kind` "BASE ", "INCR " or "" (old style).
func report(_ result: FileCheckResult, kind: String, name: String, timestamp: Int64) {
    switch result {
    case .valid: print("\(kind)AOF \(name) is valid")
    case .empty: print("\(kind)AOF \(name) is empty")
    case .truncatedToTimestamp: print("Successfully truncated AOF \(name) to timestamp \(timestamp)")
    case .truncated: print("Successfully truncated AOF \(name)")
    }
}

/// The manifest, or exit with the loader's fatal error.
func loadManifest(_ bytes: [UInt8], path: String) -> AOFManifest {
    let text = String(decoding: bytes, as: UTF8.self)
    let name = path.split(separator: "/").last.map(String.init) ?? path
    let prefix = name.hasSuffix(".manifest") ? String(name.dropLast(".manifest".count)) : name
    func fatal(_ message: String, line: Int) -> Never {
        print("*** FATAL AOF MANIFEST FILE ERROR ***")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if line > 0 && line <= lines.count {
            print("Reading the manifest file, at line \(line)")
            print(">>> '\(lines[line - 1].trimmingCharacters(" \t\r"))'")
        }
        fail(message)
    }
    let manifest: AOFManifest
    do {
        manifest = try AOFManifest.parse(text, prefix: prefix)
    } catch {
        guard case .manifest(let message) = error.kind else { fatal("\(error)", line: 0) }
        fatal(message, line: error.position)
    }
    for info in (manifest.base.map { [$0] } ?? []) + manifest.history + manifest.incrs where info.name.contains("/") {
        // The parser takes any name; Redis refuses paths, at the line that names one.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let index = lines.firstIndex { !$0.hasPrefix("#") && $0.contains(info.name) }
        fatal("File can't be a path, just a filename", line: index.map { $0 + 1 } ?? 0)
    }
    return manifest
}

extension Substring {
    func trimmingCharacters(_ set: String) -> Substring {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return s
    }
}

// MARK: - Main

let input = readInput(inputPath)
if isManifest(input) {
    let directory = directoryName(inputPath)
    print("Start checking Multi Part AOF")
    let manifest = loadManifest(input, path: inputPath)
    let files = manifest.filesToLoad
    for (index, info) in files.enumerated() {
        let path = directory + "/" + info.name
        let isLast = index == files.count - 1
        let kind = info.type == .base ? "BASE " : "INCR "
        let rdbPreamble: Bool
        if info.type == .base {
            rdbPreamble = isRDB(readInput(path))
            print("Start to check BASE AOF (\(rdbPreamble ? "RDB" : "RESP") format).")
        } else {
            rdbPreamble = false
            if index == 0 || files[index - 1].type == .base { print("Start to check INCR files.") }
        }
        let result = checker.check(name: info.name, path: path, isLast: isLast, rdbPreamble: rdbPreamble)
        report(result, kind: kind, name: info.name, timestamp: checker.truncateToTimestamp)
    }
    print("All AOF files and manifest are valid")
} else {
    print("Start checking Old-Style AOF")
    let result = checker.check(name: inputPath, path: inputPath, isLast: true, rdbPreamble: isRDB(input))
    report(result, kind: "", name: inputPath, timestamp: checker.truncateToTimestamp)
}
exit(0)
