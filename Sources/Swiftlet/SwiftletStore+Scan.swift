import SwiftletRESP

/// An error reply from the store, such as `WRONGTYPE ...` or `ERR invalid cursor`.
public struct SwiftletReplyError: Error, Sendable, Hashable {
    /// The error text, starting with its code (`ERR`, `WRONGTYPE`).
    public let message: String

    public init(_ message: String) {
        self.message = message
    }
}

/// The elements of a SCAN-family iteration (SCAN, HSCAN, SSCAN, ZSCAN) as an `AsyncSequence`.
///
/// Each iterator drives the stateless cursor command itself, page by page, from cursor 0 until the server returns
/// cursor 0 again. It is lazy: a page is fetched only when the elements of the previous one are used up and the
/// consumer asks for more, and the store's loop runs other commands between pages.
///
/// Redis's guarantees hold: an element present for the whole iteration is returned at least once; elements added
/// or removed meanwhile may or may not be; an element may be returned more than once.
///
///     for try await key in store.scan(match: "user:*") { ... }
///     for try await (field, value) in store.hscan("h") { ... }
public struct ScanSequence<Element: Sendable>: AsyncSequence, Sendable {
    /// Turns the items of one page into elements (pairs for HSCAN and ZSCAN).
    typealias Decoder = @Sendable ([RESPValue]) throws -> [Element]

    let store: SwiftletStore
    /// The command and its key, before the cursor (`["HSCAN", key]`).
    let command: [[UInt8]]
    /// MATCH, COUNT and TYPE, after the cursor.
    let options: [[UInt8]]
    let decode: Decoder

    public func makeAsyncIterator() -> Iterator {
        Iterator(sequence: self)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let sequence: ScanSequence
        var cursor: [UInt8] = Array("0".utf8)
        var page: [Element] = []
        var position = 0
        var finished = false

        init(sequence: ScanSequence) {
            self.sequence = sequence
        }

        public mutating func next() async throws -> Element? {
            while self.position == self.page.count {
                if self.finished { return nil }
                try await self.fetchPage()
            }
            defer { self.position += 1 }
            return self.page[self.position]
        }

        /// Runs the command once with the current cursor; a page may be empty while the cursor is not 0.
        mutating func fetchPage() async throws {
            let reply = try await self.sequence.store.execute(
                self.sequence.command + [self.cursor] + self.sequence.options
            )
            if case .error = reply { throw SwiftletReplyError(reply.string ?? "ERR") }
            guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].bytes,
                case .array(let items?) = parts[1]
            else {
                throw SwiftletReplyError(
                    "ERR unexpected reply to \(String(decoding: self.sequence.command[0], as: UTF8.self))"
                )
            }
            self.page = try self.sequence.decode(items)
            self.position = 0
            self.cursor = next
            self.finished = next == Array("0".utf8)
        }
    }
}

extension SwiftletStore {
    // MARK: - SCAN / HSCAN / SSCAN / ZSCAN as sequences

    /// Every key of the selected database (SCAN), optionally only those matching a glob-style pattern, or of
    /// one type (`"string"`, `"list"`, `"hash"`, `"set"`, `"zset"`).
    /// - Parameter count: the COUNT hint per page (how much work one page does), not a limit.
    public func scan(match: [UInt8]? = nil, count: Int? = nil, type: String? = nil) -> ScanSequence<[UInt8]> {
        var options = Self.scanOptions(match: match, count: count)
        if let type { options += [Array("TYPE".utf8), Array(type.utf8)] }
        return ScanSequence(store: self, command: [Array("SCAN".utf8)], options: options, decode: Self.strings)
    }

    public func scan(match: String, count: Int? = nil, type: String? = nil) -> ScanSequence<[UInt8]> {
        self.scan(match: Array(match.utf8), count: count, type: type)
    }

    /// The fields and values of the hash at `key` (HSCAN); nothing when the key does not exist.
    public func hscan(
        _ key: [UInt8],
        match: [UInt8]? = nil,
        count: Int? = nil
    ) -> ScanSequence<(field: [UInt8], value: [UInt8])> {
        ScanSequence(
            store: self,
            command: [Array("HSCAN".utf8), key],
            options: Self.scanOptions(match: match, count: count)
        ) { items in
            let flat = try Self.strings(items)
            return stride(from: 0, to: flat.count - 1, by: 2).map { (field: flat[$0], value: flat[$0 + 1]) }
        }
    }

    public func hscan(
        _ key: String,
        match: String? = nil,
        count: Int? = nil
    ) -> ScanSequence<(field: [UInt8], value: [UInt8])> {
        self.hscan(Array(key.utf8), match: match.map { Array($0.utf8) }, count: count)
    }

    /// The members of the set at `key` (SSCAN); nothing when the key does not exist.
    public func sscan(_ key: [UInt8], match: [UInt8]? = nil, count: Int? = nil) -> ScanSequence<[UInt8]> {
        ScanSequence(
            store: self,
            command: [Array("SSCAN".utf8), key],
            options: Self.scanOptions(match: match, count: count),
            decode: Self.strings
        )
    }

    public func sscan(_ key: String, match: String? = nil, count: Int? = nil) -> ScanSequence<[UInt8]> {
        self.sscan(Array(key.utf8), match: match.map { Array($0.utf8) }, count: count)
    }

    /// The members of the sorted set at `key` with their scores (ZSCAN); nothing when the key does not exist.
    public func zscan(
        _ key: [UInt8],
        match: [UInt8]? = nil,
        count: Int? = nil
    ) -> ScanSequence<(member: [UInt8], score: Double)> {
        ScanSequence(
            store: self,
            command: [Array("ZSCAN".utf8), key],
            options: Self.scanOptions(match: match, count: count)
        ) { items in
            guard items.count % 2 == 0 else { throw SwiftletReplyError("ERR unexpected reply to ZSCAN") }
            return try stride(from: 0, to: items.count, by: 2).map { i in
                guard let member = items[i].bytes, let score = Self.score(items[i + 1]) else {
                    throw SwiftletReplyError("ERR unexpected reply to ZSCAN")
                }
                return (member: member, score: score)
            }
        }
    }

    public func zscan(
        _ key: String,
        match: String? = nil,
        count: Int? = nil
    ) -> ScanSequence<(member: [UInt8], score: Double)> {
        self.zscan(Array(key.utf8), match: match.map { Array($0.utf8) }, count: count)
    }

    // MARK: - Helpers

    static func scanOptions(match: [UInt8]?, count: Int?) -> [[UInt8]] {
        var options: [[UInt8]] = []
        if let match { options += [Array("MATCH".utf8), match] }
        if let count { options += [Array("COUNT".utf8), Array(String(count).utf8)] }
        return options
    }

    /// The items of a page as byte strings.
    @Sendable static func strings(_ items: [RESPValue]) throws -> [[UInt8]] {
        try items.map { item in
            guard let bytes = item.bytes else { throw SwiftletReplyError("ERR unexpected item in a scan reply") }
            return bytes
        }
    }

    /// A score: a bulk string in RESP2 (`%.17g`, `inf`, `-inf`), a double in RESP3.
    static func score(_ value: RESPValue) -> Double? {
        if case .double(let d) = value { return d }
        guard let text = value.bytes else { return nil }
        return Double(String(decoding: text, as: UTF8.self))
    }
}
