import NIOCore
import SwiftletKeyspace
import SwiftletRESP
import Testing

@testable import SwiftletEngine

/// A second client of the harness's server, for blocking commands: its replies that end a wait are collected (it is
/// its own connection, as the transport's handler is for a real client).
final class SecondClient: ClientConnection {
    let session: ClientSession
    var context: CommandContext
    var delivered: [String] = []

    init(_ h: CommandHarness, protocolVersion: RESPVersion = .resp2) {
        self.session = h.state.connect(address: "127.0.0.1:5001", localAddress: "127.0.0.1:6379")
        self.session.protocolVersion = protocolVersion
        self.context = CommandContext(session: self.session, server: h.state, out: ByteBuffer())
        self.session.connection = self
    }

    func deliverUnblocked(_ reply: ByteBuffer) { self.delivered.append(String(buffer: reply)) }
    func close() {}
    func flushOutbox() {}
    func resumePostponed() {}

    /// Runs a command; returns its immediate reply bytes ("" when it blocked).
    @discardableResult
    func raw(_ arguments: String...) -> String {
        self.context.arguments = arguments.map { ByteBuffer(string: $0) }
        self.context.out.buffer.clear()
        let server = self.context.server
        server.execute(&self.context)
        return String(buffer: self.context.out.buffer)
    }
}

struct ListCommandsTests {
    @Test func pushAndRange() {
        let h = CommandHarness()
        #expect(h.run("RPUSH", "l", "a", "b", "c") == .int(3))
        #expect(h.run("LPUSH", "l", "z") == .int(4))
        #expect(h.run("LRANGE", "l", "0", "-1") == .bulks(["z", "a", "b", "c"]))
        #expect(h.run("LRANGE", "l", "-2", "100") == .bulks(["b", "c"]))
        #expect(h.raw("LRANGE", "l", "3", "1") == "*0\r\n")
        #expect(h.raw("LRANGE", "missing", "0", "-1") == "*0\r\n")
        #expect(h.run("LRANGE", "l", "x", "1") == .err("ERR value is not an integer or out of range"))
        #expect(h.run("LPUSHX", "nx", "a") == .int(0))
        #expect(h.run("EXISTS", "nx") == .int(0))
        #expect(h.run("OBJECT", "ENCODING", "l") == .bulk("quicklist"))
        #expect(h.run("TYPE", "l") == .simpleString(ByteBuffer(string: "list")))
    }

    @Test func integersComeBackAsText() {
        let h = CommandHarness()
        let values = [
            "0", "-1", "4095", "-4097", "32768", "8388608", "-2147483649", "9223372036854775807",
            "-9223372036854775808", "01", "-0", "+5",
        ]
        h.run(["RPUSH", "l"].map { Array($0.utf8) } + values.map { Array($0.utf8) })
        #expect(h.run("LRANGE", "l", "0", "-1") == .bulks(values))
    }

    @Test func popsAndDeletion() {
        let h = CommandHarness()
        h.run("RPUSH", "l", "a", "b", "c", "d")
        #expect(h.run("LPOP", "l") == .bulk("a"))
        #expect(h.run("RPOP", "l", "2") == .bulks(["d", "c"]))
        #expect(h.raw("LPOP", "l", "0") == "*0\r\n")
        #expect(h.run("LPOP", "l", "-1") == .err("ERR value is out of range, must be positive"))
        #expect(h.run("LPOP", "l", "1", "2") == .err("ERR wrong number of arguments for 'lpop' command"))
        #expect(h.run("LPOP", "l", "5") == .bulks(["b"]))
        #expect(h.run("EXISTS", "l") == .int(0))
        #expect(h.raw("LPOP", "l") == "$-1\r\n")
        #expect(h.raw("LPOP", "l", "1") == "*-1\r\n")
    }

    @Test func wrongType() {
        let h = CommandHarness()
        h.run("SET", "s", "v")
        let wrong = RESPValue.err("WRONGTYPE Operation against a key holding the wrong kind of value")
        for command in [
            ["LPUSH", "s", "a"], ["RPUSHX", "s", "a"], ["LPOP", "s"], ["RPOP", "s", "1"], ["LLEN", "s"],
            ["LRANGE", "s", "0", "1"], ["LINDEX", "s", "0"], ["LSET", "s", "0", "x"],
            ["LINSERT", "s", "BEFORE", "a", "b"],
            ["LREM", "s", "0", "a"], ["LTRIM", "s", "0", "1"], ["LPOS", "s", "a"], ["LMOVE", "s", "d", "LEFT", "LEFT"],
            ["RPOPLPUSH", "s", "d"], ["LMPOP", "1", "s", "LEFT"], ["BLPOP", "s", "0"],
            ["BLMOVE", "s", "d", "LEFT", "LEFT", "0"],
            ["BLMPOP", "0", "1", "s", "LEFT"],
        ] {
            #expect(h.run(command.map { Array($0.utf8) }) == wrong, "\(command)")
        }
    }

    @Test func setInsertRemoveTrimPos() {
        let h = CommandHarness()
        h.run("RPUSH", "l", "a", "b", "c", "b", "a")
        #expect(h.run("LSET", "l", "-1", "z") == .ok)
        #expect(h.run("LSET", "l", "5", "z") == .err("ERR index out of range"))
        #expect(h.run("LSET", "missing", "0", "z") == .err("ERR no such key"))
        #expect(h.run("LINSERT", "l", "AFTER", "c", "m") == .int(6))
        #expect(h.run("LINSERT", "l", "BEFORE", "nope", "m") == .int(-1))
        #expect(h.run("LINSERT", "l", "MIDDLE", "c", "m") == .err("ERR syntax error"))
        #expect(h.run("LPOS", "l", "b", "RANK", "-1") == .int(4))
        #expect(h.run("LPOS", "l", "b", "COUNT", "0") == .list([.int(1), .int(4)]))
        #expect(h.run("LPOS", "l", "b", "RANK", "0").isError)
        #expect(h.run("LREM", "l", "-1", "b") == .int(1))
        #expect(h.run("LRANGE", "l", "0", "-1") == .bulks(["a", "b", "c", "m", "z"]))
        #expect(h.run("LTRIM", "l", "1", "-2") == .ok)
        #expect(h.run("LRANGE", "l", "0", "-1") == .bulks(["b", "c", "m"]))
        #expect(h.run("LTRIM", "l", "5", "1") == .ok)
        #expect(h.run("EXISTS", "l") == .int(0))
    }

    @Test func moveAndMultiPop() {
        let h = CommandHarness()
        h.run("RPUSH", "a", "1", "2", "3")
        #expect(h.run("LMOVE", "a", "b", "LEFT", "RIGHT") == .bulk("1"))
        #expect(h.run("RPOPLPUSH", "a", "b") == .bulk("3"))
        #expect(h.run("LRANGE", "b", "0", "-1") == .bulks(["3", "1"]))
        #expect(h.run("LMOVE", "a", "a", "LEFT", "RIGHT") == .bulk("2"))
        #expect(h.run("LMPOP", "2", "missing", "b", "RIGHT", "COUNT", "5") == .list([.bulk("b"), .bulks(["1", "3"])]))
        #expect(h.run("EXISTS", "b") == .int(0))
        #expect(h.raw("LMPOP", "1", "missing", "LEFT") == "*-1\r\n")
        #expect(h.run("LMPOP", "0", "a", "LEFT") == .err("ERR numkeys should be greater than 0"))
        #expect(h.run("LMPOP", "2", "a", "LEFT") == .err("ERR syntax error"))
        #expect(h.run("LMPOP", "1", "a", "LEFT", "COUNT", "0") == .err("ERR count should be greater than 0"))
    }

    // MARK: - Blocking

    @Test func blockedClientIsServedByAPush() {
        let h = CommandHarness()
        let waiter = SecondClient(h)
        #expect(waiter.raw("BLPOP", "k", "0") == "")
        #expect(waiter.session.blocked != nil)
        #expect(h.state.blocking.blockedCount == 1)
        #expect(h.run("RPUSH", "k", "a", "b") == .int(2))
        #expect(waiter.delivered == ["*2\r\n$1\r\nk\r\n$1\r\na\r\n"])
        #expect(waiter.session.blocked == nil)
        #expect(h.run("LRANGE", "k", "0", "-1") == .bulks(["b"]))
        #expect(h.state.blocking.isEmpty)
    }

    @Test func firstComeFirstServed() {
        let h = CommandHarness()
        let first = SecondClient(h)
        let second = SecondClient(h)
        first.raw("BRPOP", "x", "k", "0")
        second.raw("BLMPOP", "0", "1", "k", "LEFT", "COUNT", "2")
        h.run("RPUSH", "k", "a", "b", "c")
        #expect(first.delivered == ["*2\r\n$1\r\nk\r\n$1\r\nc\r\n"])
        #expect(second.delivered == ["*2\r\n$1\r\nk\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"])
        #expect(h.run("EXISTS", "k") == .int(0))
    }

    @Test func blmoveServesAndSignalsItsDestination() {
        let h = CommandHarness()
        let mover = SecondClient(h)
        let consumer = SecondClient(h)
        mover.raw("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
        consumer.raw("BLPOP", "dst", "0")
        h.run("RPUSH", "src", "job")
        #expect(mover.delivered == ["$3\r\njob\r\n"])
        #expect(consumer.delivered == ["*2\r\n$3\r\ndst\r\n$3\r\njob\r\n"])
    }

    @Test func blmoveToWrongTypeFailsAndKeepsTheElement() {
        let h = CommandHarness()
        let mover = SecondClient(h)
        mover.raw("BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
        h.run("SET", "dst", "v")
        h.run("RPUSH", "src", "a")
        #expect(mover.delivered == ["-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"])
        #expect(h.run("LRANGE", "src", "0", "-1") == .bulks(["a"]))
    }

    @Test func timeoutsAndUnblock() {
        let h = CommandHarness()
        let waiter = SecondClient(h)
        #expect(waiter.raw("BLPOP", "k", "1.5").isEmpty)
        #expect(waiter.session.blocked?.deadline == h.clock.now + 1500)
        #expect(h.run("CLIENT", "UNBLOCK", "\(waiter.session.id)") == .int(1))
        #expect(waiter.delivered == ["*-1\r\n"])
        #expect(h.run("CLIENT", "UNBLOCK", "\(waiter.session.id)") == .int(0))
        waiter.raw("BLMOVE", "k", "d", "LEFT", "LEFT", "0.0001")
        #expect(waiter.session.blocked?.deadline == h.clock.now + 1)
        #expect(h.run("CLIENT", "UNBLOCK", "\(waiter.session.id)", "ERROR") == .int(1))
        #expect(waiter.delivered.last == "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
        #expect(
            h.run("CLIENT", "UNBLOCK", "1", "MAYBE") == .err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        )
        #expect(waiter.raw("BLPOP", "k", "-1") == "-ERR timeout is negative\r\n")
        #expect(waiter.raw("BLPOP", "k", "x") == "-ERR timeout is not a float or out of range\r\n")
    }

    @Test func disconnectRemovesTheWaiter() {
        let h = CommandHarness()
        let gone = SecondClient(h)
        gone.raw("BLPOP", "k", "0")
        h.state.disconnect(gone.session)
        #expect(h.state.blocking.isEmpty)
        h.run("RPUSH", "k", "a")
        #expect(gone.delivered.isEmpty)
        #expect(h.run("LLEN", "k") == .int(1))
    }

    @Test func insideTransactionsBlockingCommandsDoNotBlock() {
        let h = CommandHarness()
        #expect(h.run("MULTI") == .ok)
        for command in [
            ["BLPOP", "k", "0"], ["BLMPOP", "0", "1", "k", "LEFT"], ["BLMOVE", "k", "d", "LEFT", "LEFT", "0"],
            ["BRPOPLPUSH", "k", "d", "0"], ["RPUSH", "k", "a"], ["BRPOP", "k", "0"],
        ] {
            #expect(h.raw(command.map { Array($0.utf8) }) == "+QUEUED\r\n")
        }
        #expect(
            h.raw("EXEC")
                == "*6\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n:1\r\n*2\r\n$1\r\nk\r\n$1\r\na\r\n"
        )
        #expect(h.context.session.blocked == nil)
        #expect(h.state.blocking.isEmpty)
    }

    @Test func execServesWaitersAfterTheWholeTransaction() {
        let h = CommandHarness()
        let waiter = SecondClient(h)
        waiter.raw("BLPOP", "k1", "k2", "0")
        h.run("MULTI")
        h.run("RPUSH", "k2", "x")
        h.run("RPUSH", "k1", "y")
        #expect(h.run("EXEC") == .list([.int(1), .int(1)]))
        // Redis 7.0 serves the keys in the order they were signalled: k2 first.
        #expect(waiter.delivered == ["*2\r\n$2\r\nk2\r\n$1\r\nx\r\n"])
    }

    @Test func resp3NullsAndServedReplies() {
        let h = CommandHarness(protocolVersion: .resp3)
        #expect(h.raw("LPOP", "missing") == "_\r\n")
        #expect(h.raw("LPOP", "missing", "2") == "_\r\n")
        let waiter = SecondClient(h, protocolVersion: .resp3)
        waiter.raw("BLPOP", "k", "0")
        #expect(h.run("CLIENT", "UNBLOCK", "\(waiter.session.id)") == .int(1))
        #expect(waiter.delivered == ["_\r\n"])
    }
}

extension RESPValue {
    var isError: Bool {
        if case .error = self { return true }
        return false
    }
}
