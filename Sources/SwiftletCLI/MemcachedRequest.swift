/// How `swiftlet-cli --memcached` turns command words into one memcached request, and how it knows where the
/// reply to that request ends. Pure: no I/O.
///
/// Storage commands take their data block as the LAST word, and the byte count the protocol wants is inserted
/// where it belongs, so nobody counts bytes by hand:
///
/// | words | request |
/// |---|---|
/// | `set k v` | `set k 0 0 1\r\nv\r\n` (flags and exptime default to 0) |
/// | `set k 5 60 v` | `set k 5 60 1\r\nv\r\n` |
/// | `set k 5 60 noreply v` | `set k 5 60 1 noreply\r\nv\r\n` |
/// | `cas k 42 v` | `cas k 0 0 1 42\r\nv\r\n` |
/// | `cas k 5 60 42 [noreply] v` | `cas k 5 60 1 42 [noreply]\r\nv\r\n` |
/// | `ms k [flags...] v` | `ms k 1 [flags...]\r\nv\r\n` |
///
/// `add`, `replace`, `append` and `prepend` take the same forms as `set`. Every other command is its words joined
/// by single spaces.
struct MemcachedRequest: Sendable, Hashable {
    /// What the reply to the request looks like, so the reader knows when it is complete.
    enum ReplyShape: Sendable, Hashable {
        /// No reply: `noreply`, or `quit`.
        case none
        /// One line (`STORED`, `DELETED`, a number, `VERSION ...`, `OK`, an error).
        case line
        /// `VALUE` lines each followed by a data block, until `END` (get, gets, gat, gats).
        case values
        /// Lines until `END` (or a one-line answer: `RESET`, `OK`, an error): stats, `lru_crawler metadump`.
        case linesUntilEnd
        /// One meta reply: a line, and when it is `VA <size> ...` its data block.
        case meta
        /// Meta commands with the `q` flag followed by `mn`: replies until `MN`.
        case metaUntilNoop
        /// Lines until the connection ends (`watch`).
        case stream
    }

    /// The bytes to send.
    var bytes: [UInt8]
    var shape: ReplyShape

    /// Why words cannot make a request (printed as is, exit status 1).
    struct Invalid: Error, Hashable, Sendable {
        var message: String
    }

    static let classicStorage: Set<String> = ["set", "add", "replace", "append", "prepend"]
    static let retrieval: Set<String> = ["get", "gets", "gat", "gats"]
    static let meta: Set<String> = ["mg", "ms", "md", "ma", "mn", "me"]

    /// Builds the request for one command.
    /// - Throws: ``Invalid`` (its usage line) for a storage command whose words fit none of the forms above.
    init(words: [[UInt8]]) throws(Invalid) {
        guard let first = words.first else { throw Invalid(message: "ERROR: empty command") }
        let name = String(decoding: first, as: UTF8.self).lowercased()
        let space: [UInt8] = [32]
        let crlf: [UInt8] = [13, 10]
        func line(_ parts: [[UInt8]]) -> [UInt8] { Array(parts.joined(separator: space)) + crlf }
        func count(_ data: [UInt8]) -> [UInt8] { Array(String(data.count).utf8) }
        let noreply = words.count > 1 && String(decoding: words[words.count - 1], as: UTF8.self) == "noreply"

        if Self.classicStorage.contains(name) || name == "cas" {
            let isCAS = name == "cas"
            let usage = Invalid(
                message: "(error) usage: \(name) key [flags exptime] \(isCAS ? "cas-unique " : "")[noreply] data"
            )
            guard words.count >= 3, let data = words.last else { throw usage }
            var head = Array(words.dropLast())
            let storingQuietly = String(decoding: head.last ?? [], as: UTF8.self) == "noreply"
            if storingQuietly { head.removeLast() }
            // After the name and the key: either nothing or `flags exptime`, then for cas the unique.
            let optional = head.count - 2 - (isCAS ? 1 : 0)
            switch optional {
            case 0: head.insert(contentsOf: [Array("0".utf8), Array("0".utf8)], at: 2)
            case 2: break
            default: throw usage
            }
            head.insert(count(data), at: 4)
            if storingQuietly { head.append(Array("noreply".utf8)) }
            self.bytes = line(head) + data + crlf
            self.shape = storingQuietly ? .none : .line
            return
        }
        if name == "ms" {
            guard words.count >= 3, let data = words.last else {
                throw Invalid(message: "(error) 'ms' needs a key and a data block as its last word")
            }
            var head = Array(words.dropLast())
            head.insert(count(data), at: 2)
            let quiet = Self.hasQuietFlag(head.dropFirst(2))
            self.bytes = line(head) + data + crlf + (quiet ? Array("mn\r\n".utf8) : [])
            self.shape = quiet ? .metaUntilNoop : .meta
            return
        }
        self.bytes = line(words)
        if Self.meta.contains(name) {
            let quiet = name != "mn" && Self.hasQuietFlag(words.dropFirst(2))
            if quiet { self.bytes += Array("mn\r\n".utf8) }
            self.shape = quiet ? .metaUntilNoop : .meta
        } else if noreply || name == "quit" {
            self.shape = .none
        } else if Self.retrieval.contains(name) {
            self.shape = .values
        } else if name == "stats"
            || (name == "lru_crawler" && words.count >= 2
                && ["metadump", "mgdump"].contains(String(decoding: words[1], as: UTF8.self).lowercased()))
        {
            self.shape = .linesUntilEnd
        } else if name == "watch" {
            self.shape = .stream
        } else {
            self.shape = .line
        }
    }

    /// Whether meta flags include `q` (the server then answers only failures, so `mn` is sent to end the reply).
    static func hasQuietFlag(_ flags: ArraySlice<[UInt8]>) -> Bool {
        flags.contains { $0 == [UInt8(ascii: "q")] }
    }
}

/// Reads a reply of a known ``MemcachedRequest/ReplyShape`` line by line, telling the caller when it ends.
struct MemcachedReplyTracker: Sendable, Hashable {
    /// What the next read should be.
    enum Next: Sendable, Hashable {
        /// Another line.
        case line
        /// A data block of this many bytes, then its `\r\n`.
        case data(Int)
        /// The reply is complete.
        case done
        /// The server announced a data block larger than any item can be: the reply cannot be read.
        case tooLarge(String)
    }

    /// memcached's largest item (`-I` is at most 1 GiB): a larger announced block is a protocol error.
    static let maximumDataSize = 1024 * 1024 * 1024

    /// `.data` for a size word that is a valid block size, `.tooLarge` for one beyond ``maximumDataSize``.
    private static func block(_ word: String) -> Next? {
        let isNumber = !word.isEmpty && word.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
        guard isNumber else { return nil }
        // A size too big for `Int` is too big for an item as well.
        guard let size = Int(word), size <= Self.maximumDataSize else {
            return .tooLarge("Protocol error: data block of \(word) bytes is larger than 1 GiB")
        }
        return .data(size)
    }

    let shape: MemcachedRequest.ReplyShape

    /// Whether the line is one of the protocol's one-line errors.
    static func isError(_ line: [UInt8]) -> Bool {
        line == Array("ERROR".utf8) || line.starts(with: Array("CLIENT_ERROR".utf8))
            || line.starts(with: Array("SERVER_ERROR".utf8))
    }

    /// Takes one reply line (without `\r\n`).
    /// - Returns: what to read next.
    func next(after line: [UInt8]) -> Next {
        let words = line.split(separator: 32, omittingEmptySubsequences: true).map {
            String(decoding: $0, as: UTF8.self)
        }
        let first = words.first ?? ""
        switch self.shape {
        case .none: return .done
        case .line: return .done
        case .stream: return .line
        case .values:
            if first == "VALUE", words.count >= 4, let next = Self.block(words[3]) { return next }
            return first == "END" || Self.isError(line) ? .done : .line
        case .linesUntilEnd:
            if ["END", "RESET", "OK", "EN"].contains(first) || Self.isError(line) || first == "BUSY" { return .done }
            return .line
        case .meta:
            if first == "VA", words.count >= 2, let next = Self.block(words[1]) { return next }
            return .done
        case .metaUntilNoop:
            if first == "VA", words.count >= 2, let next = Self.block(words[1]) { return next }
            // The server still answers the `mn` after an error, so only `MN` ends the reply.
            return first == "MN" ? .done : .line
        }
    }

    /// After a data block: what to read next.
    func nextAfterData() -> Next {
        // A meta reply ends with its value; `VALUE` blocks are followed by more values or `END`.
        self.shape == .meta ? .done : .line
    }
}
