import Swiftlet
import SwiftletRESP
import Testing

/// The SCAN family as `AsyncSequence`s on the embedded store.
struct ScanSequenceTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// How many times `command` ran on the store (INFO commandstats).
    static func calls(_ store: SwiftletStore, _ command: String) async throws -> Int {
        let info = try await store.execute("INFO", "commandstats").string ?? ""
        guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_\(command):") }),
            let field = line.split(separator: ",").first?.split(separator: "=").last
        else { return 0 }
        return Int(field) ?? 0
    }

    @Test func scanReturnsEveryKeyLazily() async throws {
        let store = SwiftletStore()
        for i in 0..<300 { _ = try await store.execute("SET", "key:\(i)", "v") }
        _ = try await store.execute("SADD", "other", "x")
        var iterator = store.scan(match: "key:*", count: 10).makeAsyncIterator()
        #expect(try await Self.calls(store, "scan") == 0)
        let first = try await iterator.next()
        #expect(first != nil)
        // One page fetched so far, however many keys it holds.
        #expect(try await Self.calls(store, "scan") == 1)
        var seen: Set<[UInt8]> = [try #require(first)]
        while let key = try await iterator.next() { seen.insert(key) }
        #expect(seen == Set((0..<300).map { Self.bytes("key:\($0)") }))
        #expect(try await Self.calls(store, "scan") > 10)
        // Exhausted iterators stay exhausted without running the command again.
        let calls = try await Self.calls(store, "scan")
        #expect(try await iterator.next() == nil)
        #expect(try await Self.calls(store, "scan") == calls)

        var sets: [[UInt8]] = []
        for try await key in store.scan(type: "set") { sets.append(key) }
        #expect(sets == [Self.bytes("other")])
    }

    @Test func collectionsAndErrors() async throws {
        let store = SwiftletStore()
        _ = try await store.execute("HSET", "h", "f1", "v1", "f2", "v2")
        _ = try await store.execute("SADD", "s", "a", "b", "c")
        _ = try await store.execute("ZADD", "z", "1.5", "a", "-inf", "b", "inf", "c")
        _ = try await store.execute("SET", "str", "x")

        var pairs: [String: String] = [:]
        for try await (field, value) in store.hscan("h") {
            pairs[String(decoding: field, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        #expect(pairs == ["f1": "v1", "f2": "v2"])

        var members: Set<[UInt8]> = []
        for try await member in store.sscan("s", match: "[ab]") { members.insert(member) }
        #expect(members == [Self.bytes("a"), Self.bytes("b")])

        var scores: [String: Double] = [:]
        for try await (member, score) in store.zscan("z") { scores[String(decoding: member, as: UTF8.self)] = score }
        #expect(scores == ["a": 1.5, "b": -.infinity, "c": .infinity])

        var none = 0
        for try await _ in store.sscan("missing") { none += 1 }
        #expect(none == 0)

        await #expect(throws: SwiftletReplyError("WRONGTYPE Operation against a key holding the wrong kind of value")) {
            for try await _ in store.sscan("str") {}
        }
    }

    /// Iterates while another task adds and removes many other elements (forcing the tables to grow and shrink):
    /// every element present for the whole iteration must come back at least once.
    @Test(arguments: ["scan", "hscan", "sscan", "zscan"])
    func elementsPresentThroughoutAreReturned(_ kind: String) async throws {
        let store = SwiftletStore()
        let stable = (0..<400).map { "stable:\($0)" }
        for name in stable { _ = try await Self.add(store, kind, name) }

        let seen = try await withThrowingTaskGroup(of: Set<[UInt8]>.self) { group in
            group.addTask {
                // The writer: waves of additions and removals of other elements.
                for wave in 0..<6 {
                    for i in 0..<800 { _ = try await Self.add(store, kind, "churn:\(wave):\(i)") }
                    for i in 0..<800 { _ = try await Self.remove(store, kind, "churn:\(wave):\(i)") }
                }
                return []
            }
            group.addTask { try await Self.collect(store, kind) }
            var all: Set<[UInt8]> = []
            for try await part in group { all.formUnion(part) }
            return all
        }
        let missing = stable.filter { !seen.contains(Self.bytes($0)) }
        #expect(missing.isEmpty, "\(kind) missed \(missing.prefix(5))")
    }

    static func add(_ store: SwiftletStore, _ kind: String, _ name: String) async throws -> RESPValue {
        switch kind {
        case "scan": return try await store.execute("SET", name, "v")
        case "hscan": return try await store.execute("HSET", "h", name, "v")
        case "sscan": return try await store.execute("SADD", "s", name)
        default: return try await store.execute("ZADD", "z", "1", name)
        }
    }

    static func remove(_ store: SwiftletStore, _ kind: String, _ name: String) async throws -> RESPValue {
        switch kind {
        case "scan": return try await store.execute("DEL", name)
        case "hscan": return try await store.execute("HDEL", "h", name)
        case "sscan": return try await store.execute("SREM", "s", name)
        default: return try await store.execute("ZREM", "z", name)
        }
    }

    /// The elements (keys, fields, members) one kind of scan returns, with a small COUNT so that there are many
    /// pages, letting the writer run between elements.
    static func collect(_ store: SwiftletStore, _ kind: String) async throws -> Set<[UInt8]> {
        var seen: Set<[UInt8]> = []
        switch kind {
        case "scan":
            for try await key in store.scan(count: 7) {
                seen.insert(key)
                await Task.yield()
            }
        case "hscan":
            for try await (field, _) in store.hscan("h", count: 7) {
                seen.insert(field)
                await Task.yield()
            }
        case "sscan":
            for try await member in store.sscan("s", count: 7) {
                seen.insert(member)
                await Task.yield()
            }
        default:
            for try await (member, _) in store.zscan("z", count: 7) {
                seen.insert(member)
                await Task.yield()
            }
        }
        return seen
    }
}
