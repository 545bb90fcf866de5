import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

/// maxmemory through the dispatcher, with a memory gauge that counts 1000 bytes per key (and an injected clock).
struct MemoryLimitTests {
    static let oom = RESPValue.err("OOM command not allowed when used memory > 'maxmemory'.")

    /// A harness whose used memory is 1000 bytes per key, limited to `keys` keys' worth.
    static func limited(keys: Int, policy: String) -> CommandHarness {
        let h = CommandHarness(memoryGauge: { $0.keyspace.totalKeys * 1000 })
        h.run("CONFIG", "SET", "maxmemory-policy", policy)
        h.run("CONFIG", "SET", "maxmemory", "\(keys * 1000)")
        return h
    }

    static func info(_ h: CommandHarness, _ field: String) -> String? {
        guard case .bulkString(let text?) = h.run("INFO", "everything") else { return nil }
        for line in String(buffer: text).split(separator: "\r\n") where line.hasPrefix(field + ":") {
            return String(line.dropFirst(field.count + 1))
        }
        return nil
    }

    @Test func noevictionRefusesWritesAndKeepsReads() {
        let h = Self.limited(keys: 3, policy: "noeviction")
        for i in 0..<4 { #expect(h.run("SET", "k\(i)", "v") == .ok) }
        // Four keys are over the limit of three: writes that may grow memory are refused, the rest go on.
        #expect(h.run("SET", "k9", "v") == Self.oom)
        #expect(h.run("LPUSH", "l", "v") == Self.oom)
        #expect(h.run("GET", "k0") == .bulk("v"))
        #expect(h.run("DEL", "k0") == .int(1))
        #expect(h.run("SET", "k9", "v") == .ok)
        #expect(Self.info(h, "evicted_keys") == "0")
        #expect(Self.info(h, "errorstat_OOM") == "count=2")
    }

    @Test func allkeysLRUEvictsTheIdlestKey() {
        let h = Self.limited(keys: 3, policy: "allkeys-lru")
        h.run("CONFIG", "SET", "maxmemory-samples", "10")
        for i in 0..<3 {
            h.run("SET", "k\(i)", "v")
            h.advance(by: 10_000)
        }
        h.run("GET", "k0")  // k1 is now the idlest
        h.run("SET", "k3", "v")  // four keys: over the limit
        h.run("PING")  // the check before each command evicts
        #expect(h.run("EXISTS", "k1") == .int(0))
        #expect(h.run("EXISTS", "k0", "k2", "k3") == .int(3))
        #expect(Self.info(h, "evicted_keys") == "1")
    }

    @Test func volatilePoliciesRefuseWhenNoKeyHasATimeToLive() {
        for policy in ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] {
            let h = Self.limited(keys: 2, policy: policy)
            h.run("SET", "a", "v")
            h.run("SET", "b", "v")
            h.run("SET", "c", "v", "EX", "100")
            #expect(h.run("SET", "d", "v") == .ok, "\(policy): c is evicted to make room")
            #expect(h.run("EXISTS", "c") == .int(0))
            #expect(h.run("SET", "e", "v") == Self.oom, "\(policy): nothing left to evict")
        }
    }

    @Test func transactionsOutOfMemory() {
        let h = Self.limited(keys: 1, policy: "noeviction")
        h.run("SET", "a", "v")
        h.run("SET", "b", "v")  // two keys: over the limit
        h.run("MULTI")
        // Inside MULTI, out of memory, every command but EXEC/DISCARD/QUIT/RESET is refused.
        #expect(h.run("GET", "a") == Self.oom)
        #expect(h.run("EXEC") == .err("EXECABORT Transaction discarded because of previous errors."))
        h.run("MULTI")
        #expect(h.run("DISCARD") == .ok)
    }

    @Test func execOfAQueueWithADenyoomCommandIsAborted() {
        let h = Self.limited(keys: 1, policy: "noeviction")
        h.run("MULTI")
        h.run("SET", "b", "v")
        h.run("GET", "b")
        // Over the limit after the commands were queued (as another client's writes would put it).
        for key in ["x", "y"] {
            Array(key.utf8).withUnsafeBytes { k in _ = h.db.set(k, .int(1), now: 0) }
        }
        #expect(
            h.run("EXEC")
                == .err(
                    "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'."
                )
        )
    }

    @Test func evictedKeysFireTheEvictedEvent() {
        let h = Self.limited(keys: 1, policy: "allkeys-random")
        h.run("CONFIG", "SET", "notify-keyspace-events", "Ee")
        let listener = h.state.connect(address: "127.0.0.1:5001", localAddress: "127.0.0.1:6379")
        var context = CommandContext(session: listener, server: h.state, out: ByteBuffer())
        context.arguments = ["SUBSCRIBE", "__keyevent@0__:evicted"].map { ByteBuffer(string: $0) }
        h.state.execute(&context)
        h.run("SET", "a", "v")
        h.run("SET", "b", "v")
        h.run("PING")
        #expect(h.run("DBSIZE") == .int(1))
        let frames = String(buffer: listener.outbox)
        #expect(frames.contains("__keyevent@0__:evicted"))
    }

    @Test func resetstatClearsTheEvictionCounters() {
        let h = Self.limited(keys: 1, policy: "allkeys-lru")
        h.run("SET", "a", "v")
        h.run("SET", "b", "v")
        h.run("PING")
        #expect(Self.info(h, "evicted_keys") == "1")
        h.run("CONFIG", "RESETSTAT")
        #expect(Self.info(h, "evicted_keys") == "0")
        #expect(Self.info(h, "total_eviction_exceeded_time") == "0")
    }

    @Test func tenacityBoundsTheTimePerCommand() {
        #expect(MemoryLimit.timeLimit(tenacity: 0) == 0)
        #expect(MemoryLimit.timeLimit(tenacity: 10) == 500)
        #expect(MemoryLimit.timeLimit(tenacity: 11) == 575)
        #expect(MemoryLimit.timeLimit(tenacity: 100) == Int64.max)
    }

    @Test func infoReportsTheLimit() {
        let h = Self.limited(keys: 100, policy: "volatile-ttl")
        #expect(Self.info(h, "maxmemory") == "100000")
        #expect(Self.info(h, "maxmemory_human") == "97.66K")
        #expect(Self.info(h, "maxmemory_policy") == "volatile-ttl")
        h.run("CONFIG", "SET", "maxmemory", "1125899906842624")
        #expect(Self.info(h, "maxmemory_human") == "1.00P")
    }
}

/// maxmemory-clients through the dispatcher: clients' memory as CLIENT LIST reports it, and who is evicted.
struct ClientEvictionTests {
    /// A second client of `h` that WATCHes `keys` keys of 100 bytes (about 164 bytes each in its memory).
    static func watcher(_ h: CommandHarness, keys: Int, noEvict: Bool = false) -> ClientSession {
        let session = h.state.connect(address: "127.0.0.1:6000", localAddress: "127.0.0.1:6379")
        var context = CommandContext(session: session, server: h.state, out: ByteBuffer())
        if noEvict {
            context.arguments = ["CLIENT", "NO-EVICT", "on"].map { ByteBuffer(string: $0) }
            h.state.execute(&context)
        }
        let names = (0..<keys).map { "k\($0)" + String(repeating: "x", count: 98) }
        context.arguments = (["WATCH"] + names).map { ByteBuffer(string: $0) }
        h.state.execute(&context)
        return session
    }

    @Test func theLargestClientIsEvictedWhenTheTotalPassesTheLimit() {
        let h = CommandHarness()
        h.run("CONFIG", "SET", "maxmemory-clients", "100000")
        let small = Self.watcher(h, keys: 10)
        let big = Self.watcher(h, keys: 1000)
        #expect(big.evicted)
        #expect(big.closeAfterReply)
        #expect(!small.evicted)
        #expect(MemoryLimitTests.info(h, "evicted_clients") == "1")
    }

    @Test func noEvictClientsAreKept() {
        let h = CommandHarness()
        h.run("CONFIG", "SET", "maxmemory-clients", "100000")
        let big = Self.watcher(h, keys: 1000, noEvict: true)
        #expect(!big.evicted)
        #expect(MemoryLimitTests.info(h, "evicted_clients") == "0")
    }

    @Test func loweringTheLimitEvictsAtOnce() {
        let h = CommandHarness()
        let big = Self.watcher(h, keys: 1000)
        #expect(!big.evicted)
        let figure = h.state.clientMemory(big).total
        #expect(figure > 1000 * 100)
        h.run("CONFIG", "SET", "maxmemory-clients", "\(figure / 2)")
        #expect(big.evicted)
    }

    @Test func clientListReportsTheFigures() {
        let h = CommandHarness()
        let big = Self.watcher(h, keys: 100)
        guard case .bulkString(let list?) = h.run("CLIENT", "LIST") else {
            Issue.record("CLIENT LIST")
            return
        }
        let line = String(buffer: list).split(separator: "\n").first { $0.hasPrefix("id=\(big.id) ") } ?? ""
        #expect(line.contains("tot-mem=\(h.state.clientMemory(big).total) "))
        #expect(h.state.clientMemory(big).total >= ClientMemory.fixedBytes + 100 * 100)
    }
}
