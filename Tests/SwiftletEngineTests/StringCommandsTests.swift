import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

struct StringCommandsTests {
    @Test func setAndGet() {
        let h = CommandHarness()
        #expect(h.run("SET", "k", "v") == .ok)
        #expect(h.run("GET", "k") == .bulk("v"))
        #expect(h.run("GET", "missing") == .nullBulk)
    }

    @Test func setOptions() {
        let h = CommandHarness()
        #expect(h.run("SET", "k", "1", "NX") == .ok)
        #expect(h.run("SET", "k", "2", "NX") == .nullBulk)
        #expect(h.run("SET", "k", "3", "XX", "GET") == .bulk("1"))
        #expect(h.run("SET", "other", "3", "XX") == .nullBulk)
        #expect(h.run("SET", "k", "v", "NX", "XX") == .err("ERR syntax error"))
        #expect(h.run("SET", "k", "v", "EX", "0") == .err("ERR invalid expire time in 'set' command"))
        #expect(h.run("SET", "k", "v", "EX", "x") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("SET", "k", "v", "EX", "10", "PX", "10") == .err("ERR syntax error"))
        #expect(h.run("SET", "k", "v", "KEEPTTL", "EX", "10") == .err("ERR syntax error"))
    }

    @Test func expiryWithInjectedClock() {
        let h = CommandHarness()
        #expect(h.run("SET", "k", "v", "PX", "1000") == .ok)
        #expect(h.run("PTTL", "k") == .int(1000))
        h.advance(by: 999)
        #expect(h.run("GET", "k") == .bulk("v"))
        h.advance(by: 1)
        #expect(h.run("GET", "k") == .nullBulk)
        #expect(h.run("TTL", "k") == .int(-2))
        #expect(h.state.keyspace.stats.expiredKeys == 1)
    }

    @Test func keepTTLAndOverwrite() {
        let h = CommandHarness()
        h.run("SET", "k", "v", "EX", "100")
        h.run("SET", "k", "w", "KEEPTTL")
        #expect(h.run("TTL", "k") == .int(100))
        h.run("SET", "k", "x")
        #expect(h.run("TTL", "k") == .int(-1))
    }

    @Test func counters() {
        let h = CommandHarness()
        #expect(h.run("INCR", "n") == .int(1))
        #expect(h.run("INCRBY", "n", "41") == .int(42))
        #expect(h.run("DECRBY", "n", "2") == .int(40))
        #expect(h.run("DECR", "n") == .int(39))
        h.run("SET", "n", "9223372036854775807")
        #expect(h.run("INCR", "n") == .err("ERR increment or decrement would overflow"))
        h.run("SET", "s", "abc")
        #expect(h.run("INCR", "s") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("DECRBY", "x", "-9223372036854775808") == .err("ERR decrement would overflow"))
        #expect(h.run("INCRBYFLOAT", "f", "10.5") == .bulk("10.5"))
        #expect(h.run("INCRBYFLOAT", "f", "0.1") == .bulk("10.6"))
        #expect(h.run("INCRBYFLOAT", "f", "abc") == .err("ERR value is not a valid float"))
    }

    @Test func encodingsFollowRedis() {
        let h = CommandHarness()
        h.run("SET", "i", "12345")
        h.run("SET", "e", "hello")
        h.run("SET", "r", String(repeating: "x", count: 45))
        #expect(h.run("OBJECT", "ENCODING", "i") == .bulk("int"))
        #expect(h.run("OBJECT", "ENCODING", "e") == .bulk("embstr"))
        #expect(h.run("OBJECT", "ENCODING", "r") == .bulk("raw"))
        h.run("APPEND", "e", "!")
        #expect(h.run("OBJECT", "ENCODING", "e") == .bulk("raw"))
        #expect(h.run("GET", "e") == .bulk("hello!"))
    }

    @Test func embeddedValuesAreRewrittenInPlaceOrReplaced() {
        let h = CommandHarness()
        for n in [1, 10, 44, 3, 30, 44, 0] {
            let value = String(repeating: "v", count: n)
            #expect(h.run("SET", "k", value) == .ok)
            #expect(h.run("GET", "k") == .bulk(value))
            #expect(h.run("STRLEN", "k") == .int(Int64(n)))
        }
        #expect(h.run("DBSIZE") == .int(1))
    }

    @Test func ranges() {
        let h = CommandHarness()
        h.run("SET", "k", "Hello World")
        #expect(h.run("GETRANGE", "k", "0", "4") == .bulk("Hello"))
        #expect(h.run("GETRANGE", "k", "-5", "-1") == .bulk("World"))
        #expect(h.run("GETRANGE", "k", "5", "3") == .bulk(""))
        #expect(h.run("SETRANGE", "k", "6", "Redis") == .int(11))
        #expect(h.run("GET", "k") == .bulk("Hello Redis"))
        #expect(h.run("SETRANGE", "new", "3", "x") == .int(4))
        #expect(h.run("GET", "new") == .bulk("\0\0\0x"))
        #expect(h.run("SETRANGE", "k", "-1", "x") == .err("ERR offset is out of range"))
    }

    @Test func multipleKeys() {
        let h = CommandHarness()
        #expect(h.run("MSET", "a", "1", "b", "2") == .ok)
        #expect(h.run("MGET", "a", "b", "c") == .list([.bulk("1"), .bulk("2"), .nullBulk]))
        #expect(h.run("MSETNX", "c", "3", "a", "x") == .int(0))
        #expect(h.run("MSETNX", "c", "3", "d", "4") == .int(1))
        #expect(h.run("MSET", "a") == .err("ERR wrong number of arguments for 'mset' command"))
        #expect(h.run("MSET", "a", "1", "b") == .err("ERR wrong number of arguments for 'mset' command"))
    }

    @Test func lcs() {
        let h = CommandHarness()
        h.run("MSET", "key1", "ohmytext", "key2", "mynewtext")
        #expect(h.run("LCS", "key1", "key2") == .bulk("mytext"))
        #expect(h.run("LCS", "key1", "key2", "LEN") == .int(6))
    }

    @Test func getexAndGetdel() {
        let h = CommandHarness()
        h.run("SET", "k", "v")
        #expect(h.run("GETEX", "k", "EX", "50") == .bulk("v"))
        #expect(h.run("TTL", "k") == .int(50))
        #expect(h.run("GETEX", "k", "PERSIST") == .bulk("v"))
        #expect(h.run("TTL", "k") == .int(-1))
        #expect(h.run("GETDEL", "k") == .bulk("v"))
        #expect(h.run("EXISTS", "k") == .int(0))
        // Redis looks the key up before it checks the expire value: nil or WRONGTYPE first.
        #expect(h.run("GETEX", "k", "EX", "abc") == .nullBulk)
        h.run("RPUSH", "l", "a")
        #expect(
            h.run("GETEX", "l", "EX", "0") == .err("WRONGTYPE Operation against a key holding the wrong kind of value")
        )
        h.run("SET", "k", "v")
        #expect(h.run("GETEX", "k", "EX", "abc") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("GETEX", "k", "EX", "0") == .err("ERR invalid expire time in 'getex' command"))
    }
}
