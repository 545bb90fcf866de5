import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The options of HSCAN, SSCAN (and ZSCAN): `cursor [MATCH pattern] [COUNT count]`, parsed in Redis's order.
struct CollectionScan {
    var cursor: UInt64
    var count = 10
    /// Argument index of the MATCH pattern; `nil` when absent or `*`.
    var pattern: Int?

    /// Parses the cursor at argument 2 (before the key is looked up, as Redis does).
    init(_ context: CommandContext) throws(RedisError) {
        guard let cursor = context.arguments[2].withUnsafeReadableBytes({ CollectionScan.parseCursor($0) }) else {
            throw RedisError.invalidCursor
        }
        self.cursor = cursor
    }

    /// Redis's `parseScanCursorOrReply`: `strtoul` base 10 (an optional sign, a `-` wrapping around; no digits at
    /// all reads 0), then nothing may follow, no leading space, no overflow.
    static func parseCursor(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        if bytes.isEmpty { return 0 }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        guard i < bytes.count else { return nil }
        var value: UInt64 = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
            i += 1
        }
        return negative ? 0 &- value : value
    }

    /// Parses `MATCH` and `COUNT` from argument 3 on (after the key's type was checked, as Redis does).
    mutating func parseOptions(_ context: CommandContext) throws(RedisError) {
        var i = 3
        while i < context.count {
            let more = context.count - i
            if context.argument(i, is: "count") && more >= 2 {
                let v = try context.integer(i + 1)
                if v < 1 { throw RedisError.syntax }
                self.count = Int(clamping: v)
                i += 2
            } else if context.argument(i, is: "match") && more >= 2 {
                let isStar = context.arguments[i + 1].readableBytesView.elementsEqual([UInt8(ascii: "*")])
                self.pattern = isStar ? nil : i + 1
                i += 2
            } else {
                throw RedisError.syntax
            }
        }
    }

    /// Whether `bytes` pass the MATCH filter.
    func matches(_ context: CommandContext, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let pattern = self.pattern else { return true }
        return context.arguments[pattern].withUnsafeReadableBytes { Glob.match(pattern: $0, string: bytes) }
    }

    /// Scan steps over a hashtable, as Redis's loop: until the cursor wraps, `count * 10` steps were made, or
    /// `count` items (fields and values both count for hashes) were collected.
    func run(_ step: (UInt64) -> UInt64, collected: () -> Int) -> UInt64 {
        var cursor = self.cursor
        var iterations = self.count &* 10
        repeat {
            cursor = step(cursor)
            if cursor == 0 { break }
            if iterations == 0 { break }
            iterations -= 1
        } while collected() < self.count
        return cursor
    }

    /// The reply for a missing key: cursor 0 and no items.
    static func writeEmpty(_ context: inout CommandContext) {
        context.out.writeArrayHeader(2)
        context.out.writeBulkString("0")
        context.out.writeArrayHeader(0)
    }

    static func writeCursor(_ context: inout CommandContext, _ cursor: UInt64) {
        context.out.writeArrayHeader(2)
        context.out.writeBulkString(String(cursor))
    }
}

extension HashCommands {
    /// HSCAN key cursor [MATCH pattern] [COUNT count] — O(1) per call, O(N) for a whole iteration
    static func hscan(_ context: inout CommandContext) throws(RedisError) {
        var scan = try CollectionScan(context)
        guard let hash = try Self.readHash(context) else {
            CollectionScan.writeEmpty(&context)
            return
        }
        try scan.parseOptions(context)
        // Buffers stay valid while the command runs: nothing mutates the hash meanwhile.
        var pairs: [(UnsafeRawBufferPointer, UnsafeRawBufferPointer)] = []
        let cursor: UInt64
        if let table = hash.table {
            cursor = scan.run(
                { c in table.scan(c) { pairs.append((FieldTable.key($0), FieldTable.value($0))) } },
                collected: { pairs.count * 2 }
            )
        } else {
            cursor = hash.scan(0) { pairs.append(($0, $1)) }
        }
        if scan.pattern != nil { pairs.removeAll { !scan.matches(context, $0.0) } }
        CollectionScan.writeCursor(&context, cursor)
        context.out.writeArrayHeader(pairs.count * 2)
        for (field, value) in pairs {
            context.out.writeBulkString(field)
            context.out.writeBulkString(value)
        }
    }
}
