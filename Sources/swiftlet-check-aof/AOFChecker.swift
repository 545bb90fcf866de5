import SwiftletPersistence

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What checking one file found (redis-check-aof's `AOF_CHECK_*` codes).
enum FileCheckResult {
    case valid
    case empty
    /// `--fix` cut a torn tail.
    case truncated
    /// `--truncate-to-timestamp` cut the file at a `#TS:` annotation.
    case truncatedToTimestamp
}

/// Checks the files of an append-only log one at a time, as `redis-check-aof` does: the commands are read with the
/// server's own ``AOFCommandReader`` (so that the checker and the loader agree on where a file is torn), MULTI/EXEC
/// nesting is tracked on top, and an RDB preamble is read with the server's ``RDBReader``.
///
/// Every failure that ends the check prints its message and exits with status 1, as the C tool does.
struct AOFChecker {
    /// `--fix`: truncate the last file to its last complete command (or transaction).
    var fix = false
    /// `--yes`: answer the `--fix` confirmation prompt without reading stdin.
    var assumeYes = false
    /// `--truncate-to-timestamp`: cut the last file at the first `#TS:` annotation later than this. 0 is off, as in
    /// Redis.
    var truncateToTimestamp: Int64 = 0
    /// Redis's `line`: starts at 1 and counts every CRLF the parser consumed (annotations excepted), across all the
    /// files checked, including those of a command or transaction that turned out to be incomplete.
    private(set) var line = 1

    /// Checks one file (Redis's `checkSingleAof`).
    /// - Parameters:
    ///   - name: the name printed in messages (the manifest's name for a file of a multi-part log).
    ///   - path: where the file is.
    ///   - isLast: whether this is the last file of the log, the only one `--fix` may cut.
    ///   - rdbPreamble: whether the file starts with an RDB.
    mutating func check(name: String, path: String, isLast: Bool, rdbPreamble: Bool) -> FileCheckResult {
        // Opened for writing, as Redis's `fopen(path, "r+")`, for the truncations.
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { fail("Cannot open file \(path): \(errnoText()), aborting...") }
        defer { close(fd) }
        let bytes: [UInt8]
        do {
            bytes = try AOFFile.read(path)
        } catch {
            fail("Failed to read from AOF \(name), aborting...")
        }
        if bytes.isEmpty { return .empty }

        var start = 0
        if rdbPreamble {
            var check = RDBCheck()
            let now = Int64(time(nil)) * 1000
            guard let end = check.run(source: RDBByteSource(bytes: bytes), name: name, now: now) else {
                fail("RDB preamble of AOF file is not sane, aborting.")
            }
            print("RDB preamble is OK, proceeding with AOF tail...")
            start = end
        }

        var reader = AOFCommandReader(bytes: bytes, offset: start)
        // Where the valid part ends: the start of the current item, or of the MULTI of an open transaction.
        var okUpTo = start
        var multi = 0
        // Redis's `epos`: where the last read began, the offset its error messages show.
        var errorOffset = 0
        // Bytes, not a String: a message may echo a byte of the file as it is, as redis-check-aof prints it.
        var problem: [UInt8]?
        var reachedEnd = false
        scan: while true {
            if multi == 0 { okUpTo = reader.offset }
            let item: AOFCommandReader.Item?
            do {
                item = try reader.next()
            } catch {
                let itemStart = reader.offset
                if let next = Self.emptyCommandEnd(at: itemStart, in: bytes) {
                    // `*0` or a negative count: an empty command to redis-check-aof (not to Redis's loader).
                    self.line += 1
                    reader = AOFCommandReader(bytes: bytes, offset: next)
                    continue scan
                }
                switch error.kind {
                case .truncated(let valid):
                    self.line += Self.lineEnds(in: bytes[valid...])
                    errorOffset = valid
                    problem = Array("Reached EOF inside the command starting here (\(bytes.count - valid) bytes)".utf8)
                case .badFormat where error.position == itemStart && bytes[itemStart] != UInt8(ascii: "*"):
                    // Neither '*' nor '#' where an item starts: Redis prints this line instead of an error.
                    print("AOF \(name) format error")
                case .badFormat(let what):
                    // An argument longer than its length says: Redis read the length line and the data and failed
                    // on the CRLF, reporting the start of the data.
                    let position =
                        Self.dataStart(endingAt: error.position, after: itemStart, in: bytes) ?? error.position
                    self.line += Self.lineEnds(in: bytes[itemStart..<position])
                    errorOffset = position
                    problem = Self.describe(what, at: error.position, in: bytes)
                case .manifest(let what), .io(let what):
                    errorOffset = error.position
                    problem = Array(what.utf8)
                }
                break scan
            }
            switch item {
            case nil:
                reachedEnd = true
                break scan
            case .annotation(_, let span):
                errorOffset = span.lowerBound
                if self.cutsAtTimestamp(bytes[span], path: path, isLast: isLast, fd: fd) {
                    return .truncatedToTimestamp
                }
            case .command(let arguments, _):
                // Redis checks the name as soon as it has read it, before the other arguments.
                let command = bytes[arguments[0]]
                if Self.equalsIgnoringCase(command, "multi") {
                    multi += 1
                    if multi > 1 {
                        self.line += 3
                        errorOffset = arguments[0].lowerBound
                        problem = Array("Unexpected MULTI in AOF \(path)".utf8)
                        break scan
                    }
                } else if Self.equalsIgnoringCase(command, "exec") {
                    multi -= 1
                    if multi != 0 {
                        self.line += 3
                        errorOffset = arguments[0].lowerBound
                        problem = Array("Unexpected EXEC in AOF \(path)".utf8)
                        break scan
                    }
                }
                self.line += 1 + 2 * arguments.count
                errorOffset = arguments[arguments.count - 1].lowerBound
            }
        }
        if reachedEnd && multi != 0 && problem == nil {
            problem = Array("Reached EOF before reading EXEC for MULTI".utf8)
        }
        if let problem { printLine(Self.errorLine(problem, at: errorOffset)) }

        let size = bytes.count
        let diff = size - okUpTo
        if diff == 0 && self.truncateToTimestamp != 0 {
            print("Truncate nothing in AOF \(name) to timestamp \(self.truncateToTimestamp)")
            return .valid
        }
        print(
            "AOF analyzed: filename=\(name), size=\(size), ok_up_to=\(okUpTo), ok_up_to_line=\(self.line), "
                + "diff=\(diff)"
        )
        guard diff > 0 else { return .valid }
        guard self.fix else { fail("AOF \(name) is not valid. Use the --fix option to try fixing it.") }
        guard isLast else { fail("Failed to truncate AOF \(name) because it is not the last file") }
        print("This will shrink the AOF \(name) from \(size) bytes, with \(diff) bytes, to \(okUpTo) bytes")
        guard self.confirm() else { fail("Aborting...") }
        guard ftruncate(fd, off_t(okUpTo)) == 0 else { fail("Failed to truncate AOF \(name)") }
        return .truncated
    }

    // MARK: - --truncate-to-timestamp

    /// Handles an annotation line in `--truncate-to-timestamp` mode (Redis's `processAnnotations`): a `#TS:` later
    /// than the limit cuts the file there.
    /// - Returns: whether the file was cut.
    private func cutsAtTimestamp(_ line: ArraySlice<UInt8>, path: String, isLast: Bool, fd: Int32) -> Bool {
        let limit = self.truncateToTimestamp
        guard limit != 0, line.starts(with: "#TS:".utf8) else { return false }
        guard let timestamp = Self.timestamp(line.dropFirst(4)) else { fail("Invalid timestamp annotation") }
        if timestamp <= limit { return false }
        let offset = line.startIndex
        if offset == 0 { fail("AOF \(path) has nothing before timestamp \(limit), aborting...") }
        guard isLast else {
            print(
                "Failed to truncate AOF \(path) to timestamp \(limit) to offset \(offset) because it is not the last "
                    + "file."
            )
            fail(
                "If you insist, please delete all files after this file according to the manifest file and delete "
                    + "the corresponding records in manifest file manually. Then re-run swiftlet-check-aof."
            )
        }
        guard ftruncate(fd, off_t(offset)) == 0 else { fail("Failed to truncate AOF \(path) to timestamp \(limit)") }
        return true
    }

    /// The number after `#TS:` as Redis reads it, which must stop at a `\r`: nil if it does not, or if it
    /// overflows.
    static func timestamp(_ text: ArraySlice<UInt8>) -> Int64? {
        guard let (value, end) = Self.strtol(text), end < text.endIndex, text[end] == 13 else { return nil }
        return value
    }

    /// Where the next item starts if the item at `start` is a count line `*<n>\r\n` with n ≤ 0, which
    /// redis-check-aof reads (with `strtol`) as a command without arguments.
    static func emptyCommandEnd(at start: Int, in bytes: [UInt8]) -> Int? {
        guard bytes[start] == UInt8(ascii: "*") else { return nil }
        let lineEnd = bytes[start...].firstIndex(of: 10) ?? bytes.count
        guard let (count, end) = Self.strtol(bytes[(start + 1)..<lineEnd]), count <= 0,
            end + 1 < bytes.count, bytes[end] == 13, bytes[end + 1] == 10
        else { return nil }
        return end + 2
    }

    /// C's `strtol` in base 10: leading blanks, a sign, digits. Returns the value and the index after the digits
    /// (the start when there are none, the value then 0), or nil on overflow.
    static func strtol(_ text: ArraySlice<UInt8>) -> (Int64, Int)? {
        var rest = text.drop { $0 == 32 || (9...13).contains($0) }
        let negative = rest.first == UInt8(ascii: "-")
        if negative || rest.first == UInt8(ascii: "+") { rest = rest.dropFirst() }
        let digits = rest.prefix { $0 >= 48 && $0 <= 57 }
        guard !digits.isEmpty else { return (0, text.startIndex) }
        var value: Int64 = 0
        for digit in digits {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit - 48))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return (negative ? -value : value, digits.endIndex)
    }

    // MARK: - Helpers

    /// Asks before `--fix` cuts a file; `--yes` answers for the user.
    private func confirm() -> Bool {
        print("Continue? [y/N]: ", terminator: "")
        if self.assumeYes {
            print("y (--yes)")
            return true
        }
        fflush(nil)
        guard let answer = readLine(), let first = answer.first else { return false }
        return first == "y" || first == "Y"
    }

    /// Redis's error line: the offset as `0x%16llx`, then the message.
    static func errorLine(_ message: [UInt8], at offset: Int) -> [UInt8] {
        let hex = String(offset, radix: 16)
        return Array(("0x" + String(repeating: " ", count: max(0, 16 - hex.count)) + hex + ": ").utf8) + message
    }

    /// The reader's bad-format reasons in redis-check-aof's words where they have one.
    static func describe(_ what: String, at offset: Int, in bytes: [UInt8]) -> [UInt8] {
        switch what {
        case "expected '$' to start an argument":
            // The byte found, as it is (Redis prints it with %c).
            return Array("Expected prefix '$', got: '".utf8) + [bytes[offset], UInt8(ascii: "'")]
        case "argument not followed by CRLF":
            return Array(
                ("Expected \\r\\n, got: " + Self.hexByte(bytes[offset]) + Self.hexByte(bytes[offset + 1])).utf8
            )
        default:
            return Array((what.prefix(1).uppercased() + what.dropFirst()).utf8)
        }
    }

    static func hexByte(_ byte: UInt8) -> String {
        byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
    }

    /// The CRLFs in `bytes`: the lines Redis's parser consumed in a command it could not finish.
    static func lineEnds(in bytes: ArraySlice<UInt8>) -> Int {
        var count = 0
        var previous: UInt8 = 0
        for byte in bytes {
            if previous == 13 && byte == 10 { count += 1 }
            previous = byte
        }
        return count
    }

    /// Where the data of an argument ending at `end` starts when `end` holds no CRLF: after the `$<length>` line
    /// whose length reaches `end`, searched backwards. Nil when `end` holds a CRLF, or no such line is found.
    static func dataStart(endingAt end: Int, after start: Int, in bytes: [UInt8]) -> Int? {
        guard end + 1 < bytes.count, bytes[end] != 13 || bytes[end + 1] != 10 else { return nil }
        var data = end
        while data >= start + 4 {
            let header = Array("$\(end - data)\r\n".utf8)
            if data - header.count >= start && bytes[(data - header.count)..<data].elementsEqual(header) { return data }
            data -= 1
        }
        return nil
    }

    /// Whether `bytes` spells `lowercase` in any case (`lowercase` is ASCII letters only).
    static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lowercase: String) -> Bool {
        bytes.count == lowercase.utf8.count && zip(bytes, lowercase.utf8).allSatisfy { $0 | 0x20 == $1 }
    }
}

/// Prints `line` and a newline as bytes, after what `print` has buffered.
func printLine(_ line: [UInt8]) {
    fflush(nil)
    let bytes = line + [10]
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

/// Prints `message` and exits with status 1.
func fail(_ message: String) -> Never {
    print(message)
    exit(1)
}

/// `strerror(errno)`.
func errnoText() -> String {
    String(cString: strerror(errno))
}
