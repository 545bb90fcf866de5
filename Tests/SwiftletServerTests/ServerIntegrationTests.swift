import NIOCore
import NIOPosix
import Swiftlet
import SwiftletClient
import SwiftletRESP
import SwiftletServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client for byte-level tests: sends raw bytes, reads until a reply is complete or the peer closes.
struct RawSocket {
    let fd: Int32

    init(port: Int) throws {
        self.fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw ConnectError() }
    }

    struct ConnectError: Error {}

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            offset += n
        }
    }

    func send(_ text: String) { self.send(Array(text.utf8)) }

    /// Reads until `count` complete replies were decoded, or until the peer closes.
    func read(replies count: Int) -> (values: [RESPValue], closed: Bool) {
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let decoder = RESPValueDecoder()
        while values.count < count {
            while values.count < count, let v = try? decoder.decode(&buffer) { values.append(v) }
            if values.count == count { break }
            let n = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return (values, true) }
            buffer.writeBytes(chunk[0..<n])
        }
        return (values, false)
    }

    /// True when the peer has closed the connection (reads return 0).
    func isClosed() -> Bool {
        var byte: UInt8 = 0
        return recv(self.fd, &byte, 1, 0) <= 0
    }

    func close() { _ = Glibc.close(self.fd) }
}

func command(_ args: String...) -> String {
    "*\(args.count)\r\n" + args.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
}

@Suite(.serialized) struct ServerIntegrationTests {
    @Test func pingOverRawSocketAndInline() async throws {
        let server = try await EmbeddedServer.start()
        let socket = try RawSocket(port: server.port)
        socket.send("PING\r\n")
        #expect(socket.read(replies: 1).values == [.simpleString(ByteBuffer(string: "PONG"))])
        socket.send(command("ECHO", "hi"))
        #expect(socket.read(replies: 1).values == [.bulkString(ByteBuffer(string: "hi"))])
        socket.close()
        await server.stop()
    }

    @Test func framesSplitAtEveryByte() async throws {
        let server = try await EmbeddedServer.start()
        let socket = try RawSocket(port: server.port)
        let request = Array((command("SET", "key", "value") + command("GET", "key")).utf8)
        for byte in request { socket.send([byte]) }
        let (values, _) = socket.read(replies: 2)
        #expect(values == [.simpleString(ByteBuffer(string: "OK")), .bulkString(ByteBuffer(string: "value"))])
        socket.close()
        await server.stop()
    }

    @Test func pipelineOfThousandCommands() async throws {
        let server = try await EmbeddedServer.start()
        let socket = try RawSocket(port: server.port)
        var request = ""
        for i in 0..<1000 { request += command("INCR", "counter") + (i % 100 == 0 ? command("PING") : "") }
        socket.send(request)
        let (values, closed) = socket.read(replies: 1010)
        #expect(!closed)
        let integers = values.compactMap { if case .integer(let i) = $0 { i } else { nil } }
        #expect(integers == Array(1...1000))
        socket.close()
        await server.stop()
    }

    @Test func tenMegabyteValue() async throws {
        let server = try await EmbeddedServer.start()
        let client = try await RESPClient.connect(port: server.port)
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 10 * 1024 * 1024)
        let set = try await client.send([Array("SET".utf8), Array("big".utf8), big])
        #expect(set == .simpleString(ByteBuffer(string: "OK")))
        let get = try await client.send("GET", "big")
        #expect(get.bytes == big)
        #expect(try await client.send("STRLEN", "big") == .integer(Int64(big.count)))
        try await client.close()
        await server.stop()
    }

    /// Replies go straight to the socket until it is full, then through NIO until NIO has written them all: a
    /// client that does not read for a while gets every reply, in order, and the direct path resumes afterwards.
    @Test func repliesKeepTheirOrderWhenTheSocketFills() async throws {
        let server = try await EmbeddedServer.start()
        let socket = try RawSocket(port: server.port)
        let value = String((0..<(1 << 22)).map { Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0 % 26))) })
        socket.send(command("SET", "big", value))
        #expect(socket.read(replies: 1).values == [.simpleString(ByteBuffer(string: "OK"))])
        // Several read batches while the client reads nothing (32 MB, more than the two socket buffers hold): the
        // first batches fill the socket, the rest queue in NIO.
        for _ in 0..<8 {
            socket.send(command("GET", "big") + command("INCR", "n"))
            try await Task.sleep(for: .milliseconds(20))
        }
        let (values, closed) = socket.read(replies: 16)
        #expect(!closed)
        #expect(values.count == 16)
        for round in 0..<8 where values.count == 16 {
            #expect(values[2 * round] == .bulkString(ByteBuffer(string: value)))
            #expect(values[2 * round + 1] == .integer(Int64(round + 1)))
        }
        for i in 9...20 {
            socket.send(command("INCR", "n"))
            #expect(socket.read(replies: 1).values == [.integer(Int64(i))])
        }
        socket.close()
        await server.stop()
    }

    @Test(arguments: [
        ("*abc\r\n", "invalid multibulk length"),
        ("*1\r\n%4\r\n", "expected '$', got '%'"),
        ("*1\r\n$-5\r\n", "invalid bulk length"),
        ("*1\r\n$600000000\r\n", "invalid bulk length"),
        ("SET \"a\r\n", "unbalanced quotes in request"),
    ])
    func protocolErrorsReplyThenClose(input: String, reason: String) async throws {
        let server = try await EmbeddedServer.start()
        let socket = try RawSocket(port: server.port)
        socket.send(command("PING") + input)
        let (values, _) = socket.read(replies: 2)
        #expect(values.first == .simpleString(ByteBuffer(string: "PONG")))
        #expect(values.last == .error(ByteBuffer(string: "ERR Protocol error: \(reason)")))
        #expect(socket.isClosed())
        socket.close()
        await server.stop()
    }

    @Test func tooBigInlineRequestCloses() async throws {
        let server = try await EmbeddedServer.start()
        let socket = try RawSocket(port: server.port)
        socket.send(String(repeating: "a", count: 70000))
        let (values, _) = socket.read(replies: 1)
        #expect(values == [.error(ByteBuffer(string: "ERR Protocol error: too big inline request"))])
        #expect(socket.isClosed())
        socket.close()
        await server.stop()
    }

    @Test func queryBufferLimitClosesConnection() async throws {
        let server = try await EmbeddedServer.start(options: ["client-query-buffer-limit": "1048576"])
        let socket = try RawSocket(port: server.port)
        // A bulk string announced at 2 MB but never finished: the buffer passes the 1 MB limit.
        socket.send("*2\r\n$3\r\nGET\r\n$2000000\r\n" + String(repeating: "z", count: 1_100_000))
        #expect(socket.isClosed())
        socket.close()
        await server.stop()
    }

    @Test func quitRepliesThenCloses() async throws {
        let server = try await EmbeddedServer.start()
        let socket = try RawSocket(port: server.port)
        socket.send(command("QUIT") + command("PING"))
        let (values, closed) = socket.read(replies: 2)
        #expect(values == [.simpleString(ByteBuffer(string: "OK"))])
        #expect(closed)
        socket.close()
        await server.stop()
    }

    @Test func shutdownCommandStopsServer() async throws {
        let server = try await EmbeddedServer.start()
        let socket = try RawSocket(port: server.port)
        socket.send(command("SHUTDOWN", "NOSAVE"))
        #expect(socket.isClosed())
        await server.server.waitUntilClosed()
        #expect(throws: (any Error).self) { try RawSocket(port: server.port) }
        socket.close()
    }

    @Test func resp3AfterHello() async throws {
        let server = try await EmbeddedServer.start()
        let client = try await RESPClient.connect(port: server.port)
        let hello = try await client.send("HELLO", "3")
        guard case .map(let fields) = hello else {
            Issue.record("HELLO 3 did not return a map: \(hello)")
            return
        }
        #expect(fields.count == 14)
        #expect(try await client.send("GET", "nothing") == .null)
        try await client.close()
        await server.stop()
    }

    @Test func clientListShowsConnections() async throws {
        let server = try await EmbeddedServer.start()
        let a = try await RESPClient.connect(port: server.port)
        let b = try await RESPClient.connect(port: server.port)
        _ = try await a.send("CLIENT", "SETNAME", "alpha")
        let list = try await b.send("CLIENT", "LIST").string ?? ""
        #expect(list.contains("name=alpha"))
        #expect(list.split(separator: "\n").count == 2)
        try await a.close()
        try await b.close()
        await server.stop()
    }
}

struct EmbeddedStoreTests {
    @Test func executeWithoutSocket() async throws {
        let store = SwiftletStore()
        #expect(try await store.execute("SET", "greeting", "hello") == .simpleString(ByteBuffer(string: "OK")))
        #expect(try await store.execute("GET", "greeting") == .bulkString(ByteBuffer(string: "hello")))
        #expect(try await store.execute("INCR", "greeting").string?.hasPrefix("ERR") == true)
    }
}
