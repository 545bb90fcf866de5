public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
public import SwiftletMemcached

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The memcached front end: listeners and connections on one event loop, over a `MemcachedEngine` (its store lives
/// on that loop, as the Redis keyspace lives on its own). `swiftlet-memcached` runs one on a loop of its own;
/// `swiftlet-server --memcached-port` runs one beside RESP on the server's loop.
public final class MemcachedFrontEnd: @unchecked Sendable {
    /// Only touched on `loop` (the unchecked `Sendable`): the engine, the tick, the listeners.
    let engine: MemcachedEngine
    public let loop: any EventLoop
    let logger: Logger
    private var channels: [any Channel] = []
    private var tick: RepeatedTask?
    private let closed: EventLoopPromise<Void>

    /// Must be called on `loop`.
    public init(settings: MemcachedSettings, loop: any EventLoop, logger: Logger) {
        loop.preconditionInEventLoop()
        self.loop = loop
        self.logger = logger
        self.engine = Self.makeEngine(settings: settings)
        self.closed = loop.makePromise()
    }

    /// The engine a front end serves (both transports): its clock started now, this process's id for `stats`.
    static func makeEngine(settings: MemcachedSettings) -> MemcachedEngine {
        let engine = MemcachedEngine(
            settings: settings,
            unixTime: Int64(time(nil)),
            monotonicTime: Self.monotonicSeconds()
        )
        engine.processID = Int(getpid())
        return engine
    }

    static func monotonicSeconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec)
    }

    /// Runs `body` with the engine on its loop (tests, the executable's shutdown hook).
    public func withEngine<T: Sendable>(_ body: @escaping @Sendable (MemcachedEngine) throws -> T) async throws -> T {
        try await self.loop.submit { try body(self.engine) }.get()
    }

    /// Binds `-l` (every interface when empty) on `-p` (0: a free port, unless `-s` asks for a Unix socket only)
    /// and the Unix socket of `-s`, and starts the clock and the background work.
    /// - Returns: the TCP port bound (0 when none).
    @discardableResult
    public func start() async throws -> Int {
        let (settings, _) = try await self.loop.submit { (self.engine.settings, 0) }.get()
        var bound: [any Channel] = []
        var port = settings.port
        let bootstrap = self.bootstrap(backlog: Int32(clamping: settings.backlog))
        let v6Bootstrap = self.bootstrap(backlog: Int32(clamping: settings.backlog), v6only: true)
        // As memcached: a Unix socket (`-s`) replaces the TCP listeners, `-p 0` means none, `-p -1` a free port.
        if settings.socketPath == nil && settings.port != 0 {
            if port < 0 { port = 0 }
            // memcached's default: every interface, IPv4 and IPv6.
            let hosts = settings.listen.isEmpty ? ["0.0.0.0", "::"] : settings.listen
            for host in hosts {
                do {
                    let channel = try await (host.contains(":") ? v6Bootstrap : bootstrap).bind(host: host, port: port)
                        .get()
                    if port == 0 { port = channel.localAddress?.port ?? 0 }
                    bound.append(channel)
                } catch {
                    // As memcached, an IPv6 wildcard that cannot be bound is not fatal when IPv4 was.
                    if settings.listen.isEmpty && host == "::" && !bound.isEmpty { continue }
                    for c in bound { try? await c.close() }
                    throw error
                }
            }
        }
        if let path = settings.socketPath {
            unlink(path)
            let channel = try await self.bootstrap(backlog: Int32(clamping: settings.backlog))
                .bind(unixDomainSocketPath: path).get()
            chmod(path, mode_t(settings.socketMode))
            bound.append(channel)
        }
        if settings.socketPath == nil, let name = getenv("MEMCACHED_PORT_FILENAME") {
            Self.writePortFile(String(cString: name), bound)
        }
        let finalPort = port
        let listeners = bound
        try await self.loop.submit {
            self.channels = listeners
            self.engine.listeners = listeners.map { Self.describe($0.localAddress) }
            self.engine.settings.port = finalPort
            self.startTick()
        }.get()
        return finalPort
    }

    /// memcached's `MEMCACHED_PORT_FILENAME`: one line per TCP listener ("TCP INET: 11211", "TCP INET6: 11211"),
    /// written to `<name>.lck` and renamed into place, for scripts (and memcached's tests) that start it on port -1.
    private static func writePortFile(_ name: String, _ listeners: [any Channel]) {
        var text = ""
        for channel in listeners {
            switch channel.localAddress {
            case .some(.v4): text += "TCP INET: \(channel.localAddress?.port ?? 0)\n"
            case .some(.v6): text += "TCP INET6: \(channel.localAddress?.port ?? 0)\n"
            default: break
            }
        }
        Self.writePortFile(name, text)
    }

    /// Writes the port file's text to `<name>.lck` and renames it into place (both transports).
    static func writePortFile(_ name: String, _ text: String) {
        let temporary = name + ".lck"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        Glibc.close(fd)
        rename(temporary, name)
    }

    /// `v6only` for an IPv6 listener, so that `::` and `0.0.0.0` can share the port, as memcached sets it.
    private func bootstrap(backlog: Int32, v6only: Bool = false) -> ServerBootstrap {
        var bootstrap = ServerBootstrap(group: self.loop)
        if v6only { bootstrap = bootstrap.serverChannelOption(.ipOption(.ipv6_v6only), value: 1) }
        return
            bootstrap
            .serverChannelOption(.backlog, value: backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 65536)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(MemcachedConnectionHandler(frontEnd: self))
                }
            }
    }

    /// memcached's clock ticks once a second; the LRU maintainer and the crawler run in between. Ten times a second
    /// here: the clock, then a slice of background work.
    private func startTick() {
        self.tick = self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) {
            _ in
            self.engine.tick(monotonicTime: Self.monotonicSeconds())
        }
    }

    /// The ports bound, for tests.
    public var boundPorts: [Int] {
        get async throws {
            try await self.loop.submit { self.channels.compactMap { $0.localAddress?.port } }.get()
        }
    }

    /// Stops listening and closes every connection.
    public func shutdown() async {
        let done = self.loop.submit { self.close() }
        _ = try? await done.flatMap { $0 }.get()
    }

    /// On the loop: stops the tick and the listeners and closes every connection; the future completes once the
    /// listeners are closed (`waitUntilClosed` returns then).
    func close() -> EventLoopFuture<Void> {
        self.loop.preconditionInEventLoop()
        self.tick?.cancel()
        self.tick = nil
        let closes = self.channels.map { $0.close() }
        self.channels = []
        for connection in self.handlers { connection.close() }
        let all = EventLoopFuture.andAllComplete(closes, on: self.loop)
        all.whenComplete { _ in self.closed.succeed(()) }
        return all
    }

    /// Returns once `shutdown` has run.
    public func waitUntilClosed() async {
        try? await self.closed.futureResult.get()
    }

    /// The open connections' handlers (to close them at shutdown).
    var handlers: [MemcachedConnectionHandler] = []

    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "" }
        switch address {
        case .unixDomainSocket: return "unix:\(address.pathname ?? "")"
        case .v4: return "tcp:\(address.ipAddress ?? ""):\(address.port ?? 0)"
        case .v6: return "tcp6:[\(address.ipAddress ?? "")]:\(address.port ?? 0)"
        }
    }
}

/// One memcached client connection: bytes in, requests answered by its `MemcachedConnection`, replies out with
/// one write per read.
final class MemcachedConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let frontEnd: MemcachedFrontEnd
    private var connection: MemcachedConnection?
    private var cumulation: ByteBuffer?
    private var context: ChannelHandlerContext?
    private var closing = false
    /// The reply buffer, reused from read to read while the socket takes every reply at once.
    private var out: ByteBuffer
    private var socket: Int32 = -1
    /// Writes handed to NIO and not complete: later replies go to NIO too, behind them.
    private var writesInNIO = 0
    private var watchFlushScheduled = false
    /// Bytes handed to NIO and not written yet: a watcher's lines count them against its buffer.
    private var bytesInNIO = 0

    init(frontEnd: MemcachedFrontEnd) {
        self.frontEnd = frontEnd
        self.out = ByteBufferAllocator().buffer(capacity: 1024)
    }

    func channelActive(context: ChannelHandlerContext) {
        let engine = self.frontEnd.engine
        guard engine.acceptsConnections else {
            // As memcached (`maxconns_fast`): the client is told and the socket closed.
            engine.stats.rejectedConnections += 1
            var buffer = context.channel.allocator.buffer(capacity: 40)
            buffer.writeStaticString("ERROR Too many open connections\r\n")
            let channel = context.channel
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
            self.closing = true
            return
        }
        let connection = MemcachedConnection(engine: engine)
        let channel = context.channel
        connection.closeHandler = { channel.close(promise: nil) }
        connection.watchReady = { [weak self] in self?.watcherHasLines() }
        connection.watchFlushNow = { [weak self] in self?.flushWatcher() }
        connection.peerAddress = MemcachedFrontEnd.describe(context.channel.remoteAddress)
        connection.listenAddress = MemcachedFrontEnd.describe(context.channel.localAddress)
        engine.connectionOpened(connection)
        self.connection = connection
        self.context = context
        self.socket = SocketWrite.descriptor(of: context)
        self.frontEnd.handlers.append(self)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.socket = -1
        if let connection = self.connection {
            self.frontEnd.engine.connectionClosed(connection)
            self.connection = nil
        }
        self.frontEnd.handlers.removeAll { $0 === self }
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let connection = self.connection, !self.closing else { return }
        var incoming = self.unwrapInboundIn(data)
        let keepOpen: Bool
        if var pending = self.cumulation {
            // Taken out of `self` first, so that appending does not copy it.
            self.cumulation = nil
            pending.writeBuffer(&incoming)
            keepOpen = connection.process(&pending, into: &self.out)
            self.keep(pending, keepOpen)
        } else {
            keepOpen = connection.process(&incoming, into: &self.out)
            self.keep(incoming, keepOpen)
        }
        if self.out.readableBytes > 0 { self.send(context: context) }
        if !keepOpen {
            self.closing = true
            context.close(promise: nil)
        }
    }

    /// Nothing after this handler needs to know (the replies went out in `channelRead`): not forwarded, which saves
    /// a pipeline hop per read.
    func channelReadComplete(context: ChannelHandlerContext) {}

    private func keep(_ buffer: ByteBuffer, _ keepOpen: Bool) {
        guard keepOpen, buffer.readableBytes > 0 else { return }
        var rest = buffer
        if rest.readerIndex > 65536 { rest.discardReadBytes() }
        self.cumulation = rest
    }

    /// Sends the replies: straight to the socket while NIO holds nothing for it (the buffer is then reused), else,
    /// or for what the socket did not take, through NIO (and the next read gets a new buffer).
    private func send(context: ChannelHandlerContext) {
        if self.writesInNIO == 0 && self.socket >= 0 && SocketWrite.sendNow(self.socket, &self.out) {
            if self.out.capacity > 65536 {
                self.out = context.channel.allocator.buffer(capacity: 1024)
            } else {
                self.out.clear()
            }
            return
        }
        let rest = self.out
        let size = rest.readableBytes
        self.out = context.channel.allocator.buffer(capacity: 1024)
        self.writesInNIO += 1
        self.bytesInNIO += size
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            self.writesInNIO -= 1
            self.bytesInNIO -= size
            if self.writesInNIO == 0 && self.connection?.isWatching == true { self.flushWatcher() }
        }
        context.writeAndFlush(NIOAny(rest), promise: promise)
    }

    /// A watcher got a line: lines go out in batches a few ms later, as memcached's logger thread writes them.
    private func watcherHasLines() {
        guard !self.watchFlushScheduled, let context = self.context else { return }
        self.watchFlushScheduled = true
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(5)) {
            self.watchFlushScheduled = false
            self.flushWatcher()
        }
    }

    /// A watcher's log lines go out once what NIO holds for the socket is written; while it holds some, the lines
    /// wait in the watcher's buffer (and skip when it is full, as memcached's do).
    private func flushWatcher() {
        guard let connection = self.connection, let context = self.context, !self.closing else { return }
        if self.writesInNIO == 0 && self.out.readableBytes == 0,
            let lines = self.frontEnd.engine.takeWatchOutput(connection)
        {
            self.out = lines
            self.send(context: context)
        }
        connection.watchBacklog = self.bytesInNIO
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func close() {
        self.connection?.closeReason = .shutdown
        self.context?.close(promise: nil)
    }
}
