public import NIOCore
import NIOPosix
public import SwiftletConfig
import SwiftletEngine
public import SwiftletRESP
public import SwiftletServer

/// A Swiftlet server running inside this process, on a given port or on a free one.
///
///     let server = try await EmbeddedServer.start(port: 0)
///     print(server.port)
///     await server.stop()
public struct EmbeddedServer: Sendable {
    public let server: Server
    public let port: Int

    /// Starts a server on 127.0.0.1. `port: 0` picks a free port.
    /// - Parameter options: extra config directives, as in redis.conf (`["maxmemory": "100mb"]`).
    public static func start(port: Int = 0, options: [String: String] = [:]) async throws -> EmbeddedServer {
        let config = ConfigStore()
        var pairs = [("port", String(port)), ("bind", "127.0.0.1")]
        for (k, v) in options { pairs.append((k, v)) }
        for (k, v) in pairs { try config.setFromConfigFile(k, v.split(separator: " ").map(String.init)) }
        let server = Server(config: config)
        let bound = try await server.start()
        return EmbeddedServer(server: server, port: bound)
    }

    public func stop() async {
        await self.server.shutdown()
    }
}

/// An in-process store without a socket: commands go straight to the dispatcher on the store's own event loop
/// and come back as typed replies.
///
///     let store = SwiftletStore()
///     _ = try await store.execute("SET", "greeting", "hello")
///     let reply = try await store.execute("GET", "greeting")   // .bulkString("hello")
public final class SwiftletStore: Sendable {
    let loop: any EventLoop
    private let box: NIOLoopBound<Box>
    /// The same box, for creating further sessions (transactions) on the same server state.
    var stateBox: NIOLoopBound<Box> { self.box }

    /// One session on the store's server state: a client without a socket.
    final class Box {
        let state: ServerState
        var context: CommandContext

        init(state: ServerState) {
            self.state = state
            let session = state.connect(address: "embedded:0", localAddress: "embedded:0")
            self.context = CommandContext(session: session, server: state, out: ByteBuffer())
        }

        func close() {
            self.state.disconnect(self.context.session)
        }
    }

    /// Creates a store with its own event loop (or on `loop`).
    public init(loop: (any EventLoop)? = nil, config: ConfigStore = ConfigStore()) {
        let loop = loop ?? MultiThreadedEventLoopGroup.singleton.next()
        self.loop = loop
        // The box is created on the loop that will own it; the config is handed over to it and not used here again.
        nonisolated(unsafe) let handedOver = config
        self.box = try! loop.submit { NIOLoopBound(Box(state: ServerState(config: handedOver)), eventLoop: loop) }
            .wait()
    }

    /// Runs one command and returns its reply (errors come back as `.error`, as a client sees them).
    public func execute(_ arguments: [[UInt8]]) async throws -> RESPValue {
        try await Self.run(arguments, in: self.box, on: self.loop)
    }

    /// Runs one command on a session, on the loop that owns it.
    static func run(_ arguments: [[UInt8]], in box: NIOLoopBound<Box>, on loop: any EventLoop) async throws -> RESPValue
    {
        try await loop.submit {
            let b = box.value
            b.context.arguments = arguments.map { ByteBuffer(bytes: $0) }
            b.context.out.buffer.clear()
            b.state.beginBatch()
            b.state.execute(&b.context)
            b.state.endBatch()
            var out = b.context.out.buffer
            return try RESPValueDecoder().decode(&out) ?? .null
        }.get()
    }

    public func execute(_ arguments: String...) async throws -> RESPValue {
        try await self.execute(arguments.map { Array($0.utf8) })
    }

    public func execute(_ arguments: [String]) async throws -> RESPValue {
        try await self.execute(arguments.map { Array($0.utf8) })
    }
}
