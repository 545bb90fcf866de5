public import NIOCore
import NIOPosix
public import SwiftletRESP

/// A small RESP client on SwiftNIO: send commands (pipelined or one by one), get typed replies back in order.
/// Used by the tests and the tools.
public final class RESPClient: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<ReplyHandler>

    private init(channel: any Channel, handler: NIOLoopBound<ReplyHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Connects to `host:port`. Pushes (RESP3 `>` frames, pub/sub messages) go to `onPush`.
    public static func connect(
        host: String = "127.0.0.1",
        port: Int,
        group: (any EventLoopGroup)? = nil,
        onPush: (@Sendable (RESPValue) -> Void)? = nil
    ) async throws -> RESPClient {
        let group = group ?? MultiThreadedEventLoopGroup.singleton
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port).get()
        let handler = try await channel.eventLoop.submit {
            let handler = ReplyHandler(onPush: onPush)
            try channel.pipeline.syncOperations.addHandler(handler)
            return NIOLoopBound(handler, eventLoop: channel.eventLoop)
        }.get()
        return RESPClient(channel: channel, handler: handler)
    }

    /// Encodes one command as a RESP multibulk array.
    public static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for a in arguments {
            buffer.writeString("$\(a.count)\r\n")
            buffer.writeBytes(a)
            buffer.writeString("\r\n")
        }
    }

    /// Sends one command and returns its reply.
    public func send(_ arguments: String...) async throws -> RESPValue {
        try await self.send(arguments.map { Array($0.utf8) })
    }

    public func send(_ arguments: [[UInt8]]) async throws -> RESPValue {
        try await self.pipeline([arguments])[0]
    }

    /// Sends all commands in one write and returns their replies in order.
    public func pipeline(_ commands: [[[UInt8]]]) async throws -> [RESPValue] {
        var buffer = self.channel.allocator.buffer(capacity: 64 * commands.count)
        for c in commands { Self.encode(c, into: &buffer) }
        return try await self.sendRaw(buffer, expecting: commands.count)
    }

    /// Writes raw bytes and waits for `count` replies (protocol tests).
    public func sendRaw(_ bytes: ByteBuffer, expecting count: Int) async throws -> [RESPValue] {
        let loop = self.channel.eventLoop
        let promise = loop.makePromise(of: [RESPValue].self)
        let handler = self.handler
        let channel = self.channel
        loop.execute {
            handler.value.expect(count, promise)
            channel.writeAndFlush(bytes, promise: nil)
        }
        return try await promise.futureResult.get()
    }

    public func close() async throws {
        try await self.channel.close()
    }

    /// A future that completes when the connection closes.
    public var closeFuture: EventLoopFuture<Void> { self.channel.closeFuture }
}

/// Decodes replies and hands them to waiting requests in order.
final class ReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct ClosedError: Error {}

    private var buffer = ByteBuffer()
    private var pending: [(count: Int, replies: [RESPValue], promise: EventLoopPromise<[RESPValue]>)] = []
    private let decoder = RESPValueDecoder()
    private let onPush: (@Sendable (RESPValue) -> Void)?

    init(onPush: (@Sendable (RESPValue) -> Void)?) {
        self.onPush = onPush
    }

    func expect(_ count: Int, _ promise: EventLoopPromise<[RESPValue]>) {
        if count == 0 {
            promise.succeed([])
            return
        }
        self.pending.append((count, [], promise))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = self.unwrapInboundIn(data)
        self.buffer.writeBuffer(&incoming)
        do {
            while let value = try self.decoder.decode(&self.buffer) {
                if case .push = value, let onPush {
                    onPush(value)
                    continue
                }
                guard !self.pending.isEmpty else {
                    self.onPush?(value)
                    continue
                }
                self.pending[0].replies.append(value)
                if self.pending[0].replies.count == self.pending[0].count {
                    let done = self.pending.removeFirst()
                    done.promise.succeed(done.replies)
                }
            }
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
        self.buffer.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        for p in self.pending { p.promise.fail(ClosedError()) }
        self.pending.removeAll()
        context.fireChannelInactive()
    }
}
