import NIOCore
import SwiftletEngine
import SwiftletRESP
import Testing

/// Keyspace notifications delivered to the harness's own RESP3 client, which subscribes to every event: the
/// pushes arrive in its reply stream, where Redis puts them.
struct NotificationsTests {
    static func push(_ channel: String, _ message: String) -> String {
        ">4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$\(channel.utf8.count)\r\n\(channel)\r\n"
            + "$\(message.utf8.count)\r\n\(message)\r\n"
    }

    static func event(_ event: String, _ key: String, db: Int = 0) -> String {
        Self.push("__keyspace@\(db)__:\(key)", event) + Self.push("__keyevent@\(db)__:\(event)", key)
    }

    static func subscribed(_ flags: String = "KEA") -> CommandHarness {
        let h = CommandHarness(protocolVersion: .resp3)
        _ = h.run("CONFIG", "SET", "notify-keyspace-events", flags)
        _ = h.run("PSUBSCRIBE", "__key*__:*")
        return h
    }

    @Test func offByDefaultSendsNothing() {
        let h = CommandHarness(protocolVersion: .resp3)
        _ = h.run("PSUBSCRIBE", "__key*__:*")
        #expect(h.raw("SET", "k", "v") == "+OK\r\n")
        #expect(h.raw("CONFIG", "GET", "notify-keyspace-events") == "%1\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n")
    }

    @Test func eventBeforeOrAfterTheReplyAsRedis() {
        let h = Self.subscribed()
        #expect(h.raw("SET", "k", "v") == Self.event("set", "k") + "+OK\r\n")
        // LPUSH replies first, then notifies (t_list.c pushGenericCommand).
        #expect(h.raw("LPUSH", "l", "a") == ":1\r\n" + Self.event("lpush", "l"))
        #expect(h.raw("RPOP", "l") == "$1\r\na\r\n" + Self.event("rpop", "l") + Self.event("del", "l"))
        #expect(h.raw("GET", "nosuch") == "_\r\n")
    }

    @Test func spopWithCountThatLeavesMembers() {
        let h = Self.subscribed("Es")
        _ = h.run("SADD", "s", "1", "2", "3", "4", "5")
        let reply = h.raw("SPOP", "s", "2")
        #expect(reply.hasPrefix(Self.push("__keyevent@0__:spop", "s") + "~2\r\n"))
        #expect(!reply.contains("__keyevent@0__:del"))
    }

    @Test func expiredAndNewAndKeymiss() {
        let h = Self.subscribed("KEAnm")
        #expect(
            h.raw("SET", "k", "v", "PX", "10") == Self.event("new", "k") + Self.event("set", "k")
                + Self.event("expire", "k") + "+OK\r\n"
        )
        h.advance(by: 20)
        #expect(h.raw("GET", "k") == Self.event("expired", "k") + Self.event("keymiss", "k") + "_\r\n")
    }

    @Test func eventsOfOtherDatabasesAndMoves() {
        let h = Self.subscribed("Eg")
        _ = h.run("SET", "k", "v")
        #expect(
            h.raw("MOVE", "k", "3") == Self.push("__keyevent@0__:move_from", "k")
                + Self.push("__keyevent@3__:move_to", "k") + ":1\r\n"
        )
    }

    @Test func millionPopsStayCheapWithNotificationsOff() {
        let h = CommandHarness()
        let elements = (0..<1000).map { String($0) }
        for _ in 0..<10 { _ = h.run(["RPUSH", "l"].map { Array($0.utf8) } + elements.map { Array($0.utf8) }) }
        let clock = ContinuousClock()
        let elapsed = clock.measure { for _ in 0..<10_000 { _ = h.raw("LPOP", "l") } }
        #expect(elapsed < .seconds(5))
    }
}
