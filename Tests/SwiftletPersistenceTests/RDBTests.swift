import Foundation
import SwiftletKeyspace
import Synchronization
import Testing

@testable import SwiftletPersistence

struct CRC64Tests {
    /// Bit-at-a-time reference implementation of the reflected Jones CRC.
    static func naive(_ bytes: [UInt8]) -> UInt64 {
        var crc: UInt64 = 0
        for b in bytes {
            crc ^= UInt64(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ CRC64.reflectedPolynomial : crc >> 1 }
        }
        return crc
    }

    @Test func checkValue() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xe9c6_d914_c4b8_d9ca)
        #expect(CRC64.checksum([UInt8]()) == 0)
    }

    @Test func slicingMatchesBitwise() {
        var rng = SplitMix64(seed: 7)
        for length in [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(CRC64.checksum(bytes) == Self.naive(bytes), "length \(length)")
        }
    }

    @Test func incremental() {
        let bytes = Array("hello world, this is a longer text for the checksum".utf8)
        let whole = CRC64.checksum(bytes)
        let first = bytes.withUnsafeBytes { CRC64.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<13])) }
        let both = bytes.withUnsafeBytes { CRC64.update(first, UnsafeRawBufferPointer(rebasing: $0[13...])) }
        #expect(both == whole)
    }
}

struct LZFTests {
    static func roundTrip(_ input: [UInt8]) throws -> [UInt8]? {
        guard let packed = input.withUnsafeBytes({ LZF.compress($0, limit: input.count) }) else { return nil }
        #expect(packed.count < input.count)
        return try packed.withUnsafeBytes { try LZF.decompress($0, count: input.count) }
    }

    @Test func compressibleRoundTrips() throws {
        let inputs: [[UInt8]] = [
            Array(repeating: UInt8(ascii: "a"), count: 1000),
            Array(String(repeating: "hello world ", count: 200).utf8),
            Array((0..<5000).map { UInt8(truncatingIfNeeded: $0 % 7) }),
            Array(repeating: 0, count: 70000),
        ]
        for input in inputs {
            #expect(try Self.roundTrip(input) == input)
        }
    }

    @Test func randomRoundTrips() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let length = Int(rng.next() % 3000) + 1
            // Mix of random bytes and repeated runs so that both literals and references occur.
            var input: [UInt8] = []
            while input.count < length {
                if rng.next() % 2 == 0 {
                    input.append(
                        contentsOf: (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    )
                } else if !input.isEmpty {
                    let start = Int(rng.next() % UInt64(input.count))
                    input.append(contentsOf: input[start..<min(input.count, start + Int(rng.next() % 300))])
                } else {
                    input.append(UInt8(truncatingIfNeeded: rng.next()))
                }
            }
            if let result = try Self.roundTrip(input) { #expect(result == input) }
        }
    }

    /// The bytes Redis 7.0's lzf_compress produces (read from redis-server's DUMP payloads): Swiftlet's compressor
    /// is a port with the same settings, so DUMP payloads and RDB files are byte for byte Redis's.
    @Test func sameBytesAsRedis() {
        let cases: [([UInt8], [UInt8])] = [
            (
                Array("value:1".utf8) + [UInt8](repeating: 0, count: 93),
                [0x07, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x3a, 0x31, 0x00, 0xe0, 0x51, 0x00, 0x01, 0x00, 0x00]
            ),
            (
                Array(String(repeating: "hello world ", count: 20).utf8),
                [
                    0x0c, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x20, 0x68, 0xe0, 0xd8,
                    0x0b,
                    0x01, 0x64, 0x20,
                ]
            ),
            (
                Array(0..<40) + Array("abcabcabcabcabcabc".utf8) + Array(0..<40),
                [0x1f] + Array(0..<32) + [0x0a] + Array(32..<40)
                    + [0x61, 0x62, 0x63, 0xe0, 0x06, 0x02, 0x00, 0x00, 0xe0, 0x1c, 0x39, 0x01, 0x26, 0x27]
            ),
        ]
        for (input, expected) in cases {
            #expect(input.withUnsafeBytes { LZF.compress($0, limit: input.count - 4) } == expected)
        }
    }

    /// Each compression starts from an empty table, whatever came before (the table is reused, not cleared).
    @Test func outputDependsOnTheInputAlone() {
        let input = Array(String(repeating: "abcdefgh", count: 30).utf8)
        let first = input.withUnsafeBytes { LZF.compress($0, limit: input.count) }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<50 {
            let other = (0..<2000).map { _ in UInt8(truncatingIfNeeded: rng.next() % 5) }
            _ = other.withUnsafeBytes { LZF.compress($0, limit: other.count) }
        }
        #expect(input.withUnsafeBytes { LZF.compress($0, limit: input.count) } == first)
    }

    /// Compressions on several threads at once each take a table of their own from the shared pool: every output
    /// equals the one computed alone. (Under ThreadSanitizer, in scripts/test, this also checks the pool's lock.)
    @Test func concurrentCompressionsShareNothing() {
        var rng = SplitMix64(seed: 11)
        let inputs = (0..<64).map { i in
            (0..<(200 + i * 37)).map { _ in UInt8(truncatingIfNeeded: rng.next() % UInt64(3 + i % 7)) }
        }
        let expected = inputs.map { input in input.withUnsafeBytes { LZF.compress($0, limit: input.count) } }
        let mismatches = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<20 {
                let i = (worker * 7 + round * 3) % inputs.count
                let output = inputs[i].withUnsafeBytes { LZF.compress($0, limit: inputs[i].count) }
                if output != expected[i] { mismatches.add(1, ordering: .relaxed) }
            }
        }
        #expect(mismatches.load(ordering: .relaxed) == 0)
    }

    @Test func incompressibleIsRefused() {
        var rng = SplitMix64(seed: 1)
        let input = (0..<200).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        #expect(input.withUnsafeBytes { LZF.compress($0, limit: input.count - 4) } == nil)
    }

    @Test func decompressErrors() {
        // A back reference before the start.
        #expect(throws: LZF.Failure.badReference) {
            try [UInt8]([0x20, 0x05]).withUnsafeBytes { try LZF.decompress($0, count: 3) }
        }
        // A literal run longer than the output.
        #expect(throws: LZF.Failure.outputTooLong) {
            try [UInt8]([0x05, 1, 2, 3, 4, 5, 6]).withUnsafeBytes { try LZF.decompress($0, count: 3) }
        }
        // A literal run cut short.
        #expect(throws: LZF.Failure.truncated) {
            try [UInt8]([0x05, 1, 2]).withUnsafeBytes { try LZF.decompress($0, count: 6) }
        }
    }
}

struct RDBRoundTripTests {
    static let now: Int64 = 1_700_000_000_000

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// A keyspace with every type in every encoding.
    static func sample() -> Keyspace {
        let ks = Keyspace()
        let db = ks[0]
        func key(_ s: String, _ body: (UnsafeRawBufferPointer) -> Void) { Array(s.utf8).withUnsafeBytes(body) }
        key("int") { k in Array("12345".utf8).withUnsafeBytes { _ = db.setString(k, $0, now: now) } }
        key("bigint") { k in Array("-9223372036854775808".utf8).withUnsafeBytes { _ = db.setString(k, $0, now: now) } }
        key("short") { k in Array("hello".utf8).withUnsafeBytes { _ = db.setString(k, $0, now: now) } }
        key("long") { k in
            Array(String(repeating: "abcdefgh", count: 100).utf8).withUnsafeBytes { _ = db.setString(k, $0, now: now) }
        }
        key("empty") { k in [UInt8]().withUnsafeBytes { _ = db.setString(k, $0, now: now) } }
        key("list") { k in
            _ = db.set(
                k,
                .list(ListValue(["a", "1", "-300", "70000", String(repeating: "x", count: 5000)].map(bytes))),
                now: now
            )
        }
        key("biglist") { k in _ = db.set(k, .list(ListValue((0..<5000).map { bytes("element-\($0)") })), now: now) }
        let small = HashValue()
        let limits = HashLimits(maxEntries: 512, maxValue: 64)
        for i in 0..<10 {
            Array("f\(i)".utf8).withUnsafeBytes { f in
                Array("\(i * 1000)".utf8).withUnsafeBytes { _ = small.set(f, $0, limits: limits) }
            }
        }
        key("hash") { _ = db.set($0, .hash(small), now: now) }
        let big = HashValue()
        for i in 0..<1000 {
            Array("field\(i)".utf8).withUnsafeBytes { f in
                Array("value\(i)".utf8).withUnsafeBytes { _ = big.set(f, $0, limits: limits) }
            }
        }
        key("bighash") { _ = db.set($0, .hash(big), now: now) }
        let ints = SetValue()
        for v in [-5, 0, 7, 100_000, 5_000_000_000] {
            Array("\(v)".utf8).withUnsafeBytes { _ = ints.add($0, maxIntsetEntries: 512) }
        }
        key("intset") { _ = db.set($0, .set(ints), now: now) }
        let strings = SetValue()
        for m in ["a", "b", "c", "1"] { Array(m.utf8).withUnsafeBytes { _ = strings.add($0, maxIntsetEntries: 512) } }
        key("set") { _ = db.set($0, .set(strings), now: now) }
        let z = SortedSetValue()
        for (m, s) in [("a", 1.5), ("b", -2.0), ("c", 1e300), ("d", 3.0)] {
            _ = Array(m.utf8).withUnsafeBytes { z.add($0, score: s) }
        }
        key("zset") { _ = db.set($0, .sortedSet(z), now: now) }
        let bz = SortedSetValue()
        for i in 0..<500 { _ = Array("m\(i)".utf8).withUnsafeBytes { bz.add($0, score: Double(i) / 3) } }
        key("bigzset") { _ = db.set($0, .sortedSet(bz), now: now) }
        key("expiring") { k in
            let e = Array("v".utf8).withUnsafeBytes { db.setString(k, $0, now: now) }
            db.setExpireTime(of: e, to: now + 100_000)
        }
        let db3 = ks[3]
        key("other") { k in Array("x".utf8).withUnsafeBytes { _ = db3.setString(k, $0, now: now) } }
        return ks
    }

    /// Type, encoding and contents of every key, for comparison.
    static func describe(_ ks: Keyspace) -> [String: String] {
        var out: [String: String] = [:]
        for db in ks.databases {
            db.table.visitAll { entry in
                let name = "\(db.index):\(String(decoding: entry.keyBytes, as: UTF8.self))"
                var text = "\(entry.value.typeName)/"
                switch entry.value {
                case .embedded: text += "embstr"
                case .int: text += "int"
                case .raw: text += "raw"
                default: text += entry.value.collection!.encodingName
                }
                switch entry.value {
                case .embedded, .int, .raw: text += " \(entry.stringBytes!)"
                case .list(let l): text += " \(l.elements)"
                case .hash(let h):
                    var pairs: [String] = []
                    h.forEachPair { f, v in pairs.append("\(Array(f))=\(Array(v))") }
                    text += " \(pairs.sorted())"
                case .set(let s):
                    var members: [String] = []
                    s.forEachMember { members.append("\(Array($0))") }
                    text += " \(members.sorted())"
                case .sortedSet(let z):
                    z.walk { node in
                        text += " \(node.member):\(node.score)"
                        return true
                    }
                }
                if let at = db.expireTime(of: entry) { text += " @\(at)" }
                out[name] = text
            }
        }
        return out
    }

    static func encode(_ ks: Keyspace, compression: Bool = true, checksum: Bool = true) throws -> [UInt8] {
        var options = RDBWriter.Options()
        options.compression = compression
        options.checksum = checksum
        return try RDBWriter.write(keyspace: ks, to: ArraySink(computesChecksum: true), options: options).bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> (Keyspace, RDBReader.Summary) {
        let ks = Keyspace()
        var reader = RDBReader(source: RDBByteSource(bytes: bytes))
        let summary = try reader.load(into: ks, now: now)
        return (ks, summary)
    }

    @Test(arguments: [true, false])
    func everyTypeAndEncoding(compression: Bool) throws {
        let original = Self.sample()
        let bytes = try Self.encode(original, compression: compression)
        #expect(Array(bytes.prefix(9)) == Array("REDIS0010".utf8))
        let (loaded, summary) = try Self.decode(bytes)
        #expect(summary.checksumVerified)
        #expect(summary.keysLoaded == 15)
        #expect(summary.aux["redis-ver"] == "7.0.15")
        let expected = Self.describe(original)
        let actual = Self.describe(loaded)
        #expect(expected.count == 15)
        for (key, value) in expected { #expect(actual[key] == value, "\(key)") }
    }

    @Test func zeroChecksumAccepted() throws {
        let bytes = try Self.encode(Self.sample(), checksum: false)
        #expect(bytes.suffix(8).allSatisfy { $0 == 0 })
        let (_, summary) = try Self.decode(bytes)
        #expect(!summary.checksumVerified)
        #expect(summary.keysLoaded == 15)
    }

    @Test func wrongChecksumRefused() throws {
        var bytes = try Self.encode(Self.sample())
        bytes[bytes.count - 1] ^= 1
        #expect(throws: RDBError.self) { try Self.decode(bytes) }
    }

    @Test func truncationNamesTheOffset() throws {
        let bytes = try Self.encode(Self.sample())
        for cut in [5, 20, bytes.count / 2, bytes.count - 3] {
            do {
                _ = try Self.decode(Array(bytes.prefix(cut)))
                Issue.record("truncated file at \(cut) loaded")
            } catch let error as RDBError {
                #expect(error.offset <= cut)
                #expect(error.description.contains("offset"))
            }
        }
    }

    @Test func expiredKeysAreSkipped() throws {
        let ks = Keyspace()
        Array("k".utf8).withUnsafeBytes { k in
            let e = Array("v".utf8).withUnsafeBytes { ks[0].setString(k, $0, now: Self.now) }
            ks[0].setExpireTime(of: e, to: Self.now - 1)
        }
        let (loaded, summary) = try Self.decode(try Self.encode(ks))
        #expect(summary.expiredKeysSkipped == 1)
        #expect(loaded.totalKeys == 0)
    }

    @Test func fileWriteAndLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdbtest-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("dump.rdb").path
        let original = Self.sample()
        try RDBWriter.write(keyspace: original, to: path)
        let loaded = Keyspace()
        let summary = try RDBReader.load(path: path, into: loaded, now: Self.now)
        #expect(summary.checksumVerified)
        #expect(Self.describe(loaded) == Self.describe(original))
        // Only the final file remains (the temp file was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["dump.rdb"])
    }

    @Test func streamsAndModulesAreRefused() {
        for type: UInt8 in [7, 15, 19] {
            var bytes = Array("REDIS0010".utf8)
            bytes += [0xFE, 0, type, 1, UInt8(ascii: "k"), 0]
            do {
                _ = try Self.decode(bytes)
                Issue.record("type \(type) loaded")
            } catch let error as RDBError {
                guard case .unsupported = error.kind else {
                    Issue.record("type \(type): \(error)")
                    continue
                }
                #expect(error.offset == 14)
            } catch {
                Issue.record("\(error)")
            }
        }
    }
}

struct RDBLegacyEncodingTests {
    func decodeValue(_ type: UInt8, _ payload: [UInt8], limits: RDBLoadLimits = RDBLoadLimits()) throws -> Value {
        let decoder = RDBDecoder(source: RDBByteSource(bytes: [type] + payload), limits: limits)
        let t = try decoder.readValueType()
        guard case .collection(let v) = try decoder.readValue(t) else { throw RDBError(offset: 0, .corrupt("string")) }
        return v
    }

    /// A ziplist of "ab", 5 (immediate), 300 (int16), -70000 (int32).
    static let ziplist: [UInt8] = {
        var entries: [UInt8] = []
        var prev = 0
        for e: [UInt8] in [[0x02, 0x61, 0x62], [0xF6], [0xC0, 0x2C, 0x01], [0xD0] + [0x90, 0xEE, 0xFE, 0xFF]] {
            entries += [UInt8(prev)] + e
            prev = e.count + 1
        }
        let total = 10 + entries.count + 1
        var blob: [UInt8] = [UInt8(total), 0, 0, 0, 0, 0, 0, 0, 4, 0]
        blob += entries + [0xFF]
        return blob
    }()

    @Test func ziplistList() throws {
        let v = try decodeValue(10, [UInt8(Self.ziplist.count)] + Self.ziplist)
        guard case .list(let l) = v else {
            Issue.record("not a list")
            return
        }
        #expect(l.elements == [Array("ab".utf8), Array("5".utf8), Array("300".utf8), Array("-70000".utf8)])
    }

    @Test func quicklistV1() throws {
        let v = try decodeValue(
            14,
            [2, UInt8(Self.ziplist.count)] + Self.ziplist + [UInt8(Self.ziplist.count)] + Self.ziplist
        )
        guard case .list(let l) = v else {
            Issue.record("not a list")
            return
        }
        #expect(l.count == 8)
    }

    @Test func quicklistV2PlainNode() throws {
        let v = try decodeValue(18, [1, 1, 3] + Array("big".utf8))
        guard case .list(let l) = v else {
            Issue.record("not a list")
            return
        }
        #expect(l.elements == [Array("big".utf8)])
    }

    @Test func zipmapHash() throws {
        // 1 pair: "f" -> "val" with 2 free bytes.
        let blob: [UInt8] = [1, 1, UInt8(ascii: "f"), 3, 2] + Array("val".utf8) + [0, 0, 0xFF]
        let v = try decodeValue(9, [UInt8(blob.count)] + blob)
        guard case .hash(let h) = v else {
            Issue.record("not a hash")
            return
        }
        #expect(h.encodingName == "listpack")
        #expect(Array("f".utf8).withUnsafeBytes { h.value(of: $0).map { Array($0) } } == Array("val".utf8))
    }

    @Test func ziplistZsetAndAsciiZset() throws {
        // ZSET (type 3) with ASCII doubles: "a" 1.5, "b" +inf.
        let v = try decodeValue(3, [2, 1, UInt8(ascii: "a"), 3] + Array("1.5".utf8) + [1, UInt8(ascii: "b"), 254])
        guard case .sortedSet(let z) = v else {
            Issue.record("not a zset")
            return
        }
        #expect(Array("b".utf8).withUnsafeBytes { z.score(of: $0) } == .infinity)
        #expect(z.encodingName == "listpack")
    }

    @Test func intsetConvertsAboveTheLimit() throws {
        var blob: [UInt8] = [2, 0, 0, 0, 3, 0, 0, 0]
        for v in [1, 2, 3] { blob += [UInt8(v), 0] }
        let small = try decodeValue(11, [UInt8(blob.count)] + blob)
        guard case .set(let s) = small else {
            Issue.record("not a set")
            return
        }
        #expect(s.encodingName == "intset")
        let big = try decodeValue(11, [UInt8(blob.count)] + blob, limits: RDBLoadLimits(setMaxIntsetEntries: 2))
        guard case .set(let s2) = big else {
            Issue.record("not a set")
            return
        }
        #expect(s2.encodingName == "hashtable")
    }

    @Test func emptyCollectionsAreEmptyKeys() {
        for type: UInt8 in [1, 2, 4, 5, 18] {
            #expect(throws: RDBError(offset: 1, .emptyKey)) { try decodeValue(type, [0]) }
        }
    }
}

struct RDBFormatTests {
    /// Persisted codes never change.
    @Test func codesAreStable() {
        #expect(
            RDBFormat.ValueType.allCases.map(\.rawValue) == [
                0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
            ]
        )
        #expect(RDBFormat.Opcode.allCases.map(\.rawValue) == [245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255])
    }

    @Test func lengthEncodings() throws {
        for (value, expected) in [
            (UInt64(5), [UInt8(5)]), (300, [0x41, 0x2C]), (70000, [0x80, 0, 1, 0x11, 0x70]),
            (1 << 33, [0x81, 0, 0, 0, 2, 0, 0, 0, 0]),
        ] {
            var e = RDBEncoder(sink: ArraySink(), compression: false)
            try e.writeLength(value)
            #expect(e.sink.bytes == expected)
            let d = RDBDecoder(source: RDBByteSource(bytes: expected))
            #expect(try d.readLength("x").value == value)
        }
    }

    @Test func integerStrings() throws {
        for (text, expected) in [
            ("12", [UInt8(0xC0), 12]), ("-300", [0xC1, 0xD4, 0xFE]), ("0123", [4] + Array("0123".utf8)),
        ] {
            var e = RDBEncoder(sink: ArraySink(), compression: true)
            try e.writeString(Array(text.utf8))
            #expect(e.sink.bytes == expected, "\(text)")
            #expect(try RDBDecoder(source: RDBByteSource(bytes: expected)).readString("s") == Array(text.utf8))
        }
    }
}
