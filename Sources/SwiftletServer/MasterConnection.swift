import NIOCore
import NIOPosix
import SwiftletEngine

/// A replica's TCP connection to its master (REPLICAOF): opened on the engine's loop, its bytes handed to the engine's
/// master link as they arrive, and the engine's handshake, ACKs and GETACK replies written out. Everything here runs
/// on the one loop.
final class MasterConnection: ChannelInboundHandler, MasterTransport {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let events: any MasterLinkEvents
    private var channel: (any Channel)?
    private var context: ChannelHandlerContext?
    /// Closed by the engine or by the network: nothing more is sent, and the engine hears of the end once.
    private var closed = false
    /// Bytes the engine did not use yet (a partial line or request): kept for the next read.
    private var cumulation: ByteBuffer?

    private init(events: any MasterLinkEvents) {
        self.events = events
    }

    /// Starts connecting; the engine hears `masterConnected` or `masterClosed` on a later turn of the loop.
    static func open(
        host: String,
        port: Int,
        timeoutSeconds: Int64,
        loop: any EventLoop,
        events: any MasterLinkEvents
    ) -> MasterConnection {
        let connection = MasterConnection(events: events)
        let bound = NIOLoopBound(connection, eventLoop: loop)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(max(1, timeoutSeconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
        bootstrap.connect(host: host, port: port).whenComplete { result in
            let connection = bound.value
            switch result {
            case .success(let channel):
                if connection.closed {
                    channel.close(promise: nil)
                } else {
                    connection.channel = channel
                }
            case .failure(let error):
                connection.finish(reason: "\(error)")
            }
        }
        return connection
    }

    func send(_ bytes: ByteBuffer) {
        guard !self.closed, let context = self.context else { return }
        context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
    }

    /// Closed by the engine: it already knows, so it is not told.
    func close() {
        guard !self.closed else { return }
        self.closed = true
        self.cumulation = nil
        self.channel?.close(promise: nil)
        self.context?.close(promise: nil)
    }

    private func finish(reason: String) {
        guard !self.closed else { return }
        self.closed = true
        self.cumulation = nil
        self.events.masterClosed(self, reason: reason)
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        if self.closed {
            context.close(promise: nil)
            return
        }
        self.events.masterConnected(self)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        self.finish(reason: "connection closed")
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.closed else { return }
        var incoming = self.unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var kept = self.cumulation {
            self.cumulation = nil
            kept.writeBuffer(&incoming)
            buffer = kept
        } else {
            buffer = incoming
        }
        self.events.masterReceived(self, &buffer)
        guard !self.closed, buffer.readableBytes > 0 else { return }
        if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
        self.cumulation = buffer
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
