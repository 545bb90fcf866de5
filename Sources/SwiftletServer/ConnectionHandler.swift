import Logging
import NIOCore
import SwiftletConfig
import SwiftletEngine
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One client connection: bytes in, requests parsed in place, commands run to completion on the loop, replies
/// gathered in one buffer and handed to the server, which writes them once the loop iteration's reads are done.
///
/// Decoding and dispatch are fused in this one handler (no message objects between two handlers), and the
/// handler keeps partial requests in its own cumulation buffer.
final class ConnectionHandler: ChannelInboundHandler, ClientConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: ServerCore
    @exclusivity(unchecked)
    private var parser: RESPRequestParser
    @exclusivity(unchecked)
    private var cumulation: ByteBuffer?
    /// The client's session and reply buffer, made with the handler (an accepted socket knows its peer from the
    /// start) and kept until the handler goes.
    @exclusivity(unchecked)
    private var commandContext: CommandContext
    /// Set once the connection is inactive and the engine has forgotten the client.
    @exclusivity(unchecked)
    private var disconnected = false
    @exclusivity(unchecked)
    private var closing = false
    /// Inside this connection's own read batch: frames queued for it go out with its replies, after them.
    @exclusivity(unchecked)
    private var inBatch = false
    /// The timer that ends a blocking command's wait at its deadline.
    @exclusivity(unchecked)
    private var blockTimer: Scheduled<Void>?
    @exclusivity(unchecked)
    private var channelContext: ChannelHandlerContext?
    /// The connection's socket, written directly while NIO holds no bytes for it (see ``send(_:context:)``); -1
    /// once the channel is inactive (NIO has closed the descriptor, and its number may belong to another socket).
    @exclusivity(unchecked)
    private var socket: Int32 = -1
    /// Writes handed to NIO (the socket was full) and not complete yet. While there are any, later bytes go to NIO
    /// too, behind them.
    @exclusivity(unchecked)
    private var writesInNIO = 0
    private var logger: Logger

    /// Called on the loop by the channel initializer of an accepted connection: the client exists from here on.
    init(core: ServerCore, channel: any Channel) {
        self.core = core
        let state = core.state
        var limits = RESPRequestLimits()
        limits.maxBulkLength = state.hot.protoMaxBulkLen
        self.parser = RESPRequestParser(limits: limits)
        self.logger = core.logger
        let remote = channel.remoteAddress
        let local = Self.describe(channel.localAddress)
        // A Unix socket client has no name of its own: Redis shows the server's socket path for it too.
        let address: String
        if case .some(.unixDomainSocket) = remote { address = local } else { address = Self.describe(remote) }
        let session = state.connect(address: address, localAddress: local, fileDescriptor: Int(core.nextFD()))
        self.commandContext = CommandContext(
            session: session,
            server: state,
            out: channel.allocator.buffer(capacity: 1024)
        )
        self.logger[metadataKey: "client"] = "\(session.id)"
        session.connection = self
    }

    func channelActive(context: ChannelHandlerContext) {
        let state = self.core.state
        let remote = context.channel.remoteAddress
        self.channelContext = context
        self.socket = SocketWrite.descriptor(of: context)
        switch remote {
        case .some(.v4), .some(.v6):
            if self.socket >= 0 { Self.keepAlive(self.socket, seconds: state.config.number("tcp-keepalive")) }
        default:
            break  // a Unix socket has no TCP keepalive
        }
        let loopback = remote.map(ServerCore.isLoopback) ?? true
        if let refusal = state.admissionRefusal(peerIsLoopback: loopback) {
            var reply = RESPReplyWriter(buffer: context.channel.allocator.buffer(capacity: refusal.bytes.count + 3))
            reply.writeError(bytes: refusal.bytes)
            let buffer = reply.buffer
            self.closing = true
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.socket = -1
        self.disconnect()
        self.channelContext = nil
        context.fireChannelInactive()
    }

    /// A channel that never became active (its registration failed) is torn down without `channelInactive`.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.disconnect()
    }

    /// The engine forgets the client, once; this also breaks the session's reference back to the handler.
    private func disconnect() {
        guard !self.disconnected else { return }
        self.disconnected = true
        self.blockTimer?.cancel()
        self.blockTimer = nil
        self.commandContext.session.connection = nil
        self.core.state.disconnect(self.commandContext.session)
    }

    /// `tcp-keepalive`, as Redis sets it on every TCP client when it is above 0 (its `anetKeepAlive`): the kernel
    /// probes a peer that has been silent for `seconds`, then every third of that (at least 1 s), and resets the
    /// connection after three unanswered probes, so a client that vanished without closing (a crashed host, a cut
    /// link) does not keep its connection, and what it holds, for ever. A change applies to connections accepted
    /// after it. Failures are ignored, as Redis ignores them.
    static func keepAlive(_ socket: Int32, seconds: Int64) {
        guard seconds > 0 else { return }
        func set(_ level: Int32, _ name: Int32, _ value: Int32) {
            var value = value
            _ = setsockopt(socket, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        set(SOL_SOCKET, SO_KEEPALIVE, 1)
        #if os(Linux)
        let idle = Int32(clamping: seconds)
        set(Int32(IPPROTO_TCP), TCP_KEEPIDLE, idle)
        set(Int32(IPPROTO_TCP), TCP_KEEPINTVL, max(1, idle / 3))
        set(Int32(IPPROTO_TCP), TCP_KEEPCNT, 3)
        #endif
    }

    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "?:0" }
        switch address {
        case .v4: return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .v6: return "[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
        case .unixDomainSocket: return "\(address.pathname ?? ""):0"
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.closing, !self.disconnected else { return }
        var incoming = self.unwrapInboundIn(data)
        self.core.state.noteRead(bytes: incoming.readableBytes)
        if var buffer = self.cumulation {
            // Take the buffer out of `self` first so that appending to it does not copy (it is uniquely owned).
            self.cumulation = nil
            buffer.writeBuffer(&incoming)
            self.process(&buffer, context: context)
            self.keep(buffer)
        } else {
            self.process(&incoming, context: context)
            self.keep(incoming)
        }
    }

    /// A script is busy on the loop (``ServerState/processEventsWhileBusy()``): reads what the socket holds, without
    /// waiting, and runs it through the same path as a read from NIO. NIO itself is inside another connection's read
    /// and holds nothing of this socket's, so the bytes arrive in order; the next readiness NIO reports then finds
    /// the socket empty. A blocked or paused client's requests stay in its buffer, as always.
    func readWhileBusy() {
        guard let context = self.channelContext, self.socket >= 0, !self.closing, !self.disconnected, !self.inBatch
        else { return }
        for _ in 0..<4 {
            var incoming = context.channel.allocator.buffer(capacity: 16 * 1024)
            var received = 0
            var failure: Int32 = 0
            incoming.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { raw in
                let n = recv(self.socket, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
                received = n
                failure = n < 0 ? errno : 0
                return max(0, n)
            }
            guard received > 0 else {
                // The peer closed, or the socket failed: the client goes now, as Redis frees it while the script runs
                // (a client that reconnects on every BUSY must not fill maxclients until the script ends). -1 with
                // EAGAIN: nothing more now.
                if received == 0 || (failure != EAGAIN && failure != EWOULDBLOCK && failure != EINTR) {
                    context.close(promise: nil)
                }
                return
            }
            self.channelRead(context: context, data: NIOAny(incoming))
            if self.closing || self.disconnected { return }
        }
    }

    private func keep(_ buffer: ByteBuffer) {
        let state = self.core.state
        guard !self.closing, buffer.readableBytes > 0 else {
            self.cumulation = nil
            self.commandContext.session.queryBufferLength = 0
            self.commandContext.session.unparsedQueryBytes = 0
            self.commandContext.session.pendingRequestBytes = 0
            if state.evictsClients { state.noteClientMemory(self.commandContext.session) }
            return
        }
        var rest = buffer
        // The bytes already parsed go, as Redis trims its query buffer after each read: otherwise a pipeline whose
        // reads each end inside a request keeps every byte it sent (4 MB of pipelined 10 KB SETs held at once,
        // counted in used_memory, made eviction empty the database). Within a partial request only once the
        // parsed part is at least as long as the rest, so that a huge request is not copied on every read. The
        // parser keeps its offsets relative to the reader index, so moving the bytes is safe.
        if rest.readerIndex > 4096 && (!self.parser.hasPartialRequest || rest.readerIndex >= rest.readableBytes) {
            rest.discardReadBytes()
        }
        self.cumulation = rest
        self.commandContext.session.queryBufferLength = rest.readableBytes - self.parser.bytesBeforeLargeBulk
        self.commandContext.session.unparsedQueryBytes = self.commandContext.session.queryBufferLength
        // A request still arriving counts in the client's memory (CLIENT LIST's tot-mem, and maxmemory-clients:
        // Redis evicts a client for its query buffer).
        self.commandContext.session.pendingRequestBytes = self.parser.partialRequestBytes
        if state.evictsClients && state.noteClientMemory(self.commandContext.session) { self.closeEvicted() }
    }

    /// This client was evicted for maxmemory-clients: it closes at once, dropping its unsent output, as Redis frees an
    /// evicted client (waiting for the output to drain would keep forever a client that does not read, the very one
    /// holding the memory).
    private func closeEvicted() {
        guard let context = self.channelContext, !self.closing else { return }
        self.closing = true
        self.cumulation = nil
        self.commandContext.session.outbox.clear()
        self.commandContext.out.buffer.clear()
        context.close(promise: nil)
    }

    private func process(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        let state = self.core.state
        // Frames queued for this client (its pub/sub messages, invalidations) go out before the replies to its new
        // requests: the loop's outbox flush may run only after this read.
        if self.commandContext.session.outbox.readableBytes > 0 { self.flushOutbox() }
        state.beginBatch()
        self.inBatch = true
        defer {
            // The replies wait for the end of the loop iteration, ahead of any frame the batch's end queues for
            // this client (tracking broadcasts), as in Redis's reply buffer.
            if !self.closing && state.defersReplies { self.holdReplies() }
            state.endBatch()
            self.inBatch = false
        }
        // A blocked (or paused) client's further requests wait in the buffer until the wait ends.
        let session = self.commandContext.session
        // CLIENT LIST's qbuf: the whole query buffer, the running request included, as Redis trims it only after
        // the batch.
        session.queryBufferLength = buffer.readableBytes
        let batchEnd = buffer.writerIndex
        while !self.closing && session.blocked == nil && session.postponed == nil {
            do {
                guard try self.parser.next(from: &buffer, into: &self.commandContext.arguments) else { break }
                // What is left after this request: the query buffer a client's memory counts (maxmemory-clients).
                session.unparsedQueryBytes = batchEnd - buffer.readerIndex
            } catch {
                // Replies already produced in this batch go out first, then the error, then the connection closes.
                self.logger.debug("protocol error", metadata: ["reason": "\(error.reason)"])
                self.commandContext.out.writeError(bytes: error.messageBytes)
                self.closing = true
                self.flush(context: context)
                return
            }
            state.execute(&self.commandContext)
            // Drop the argument slices so the read buffer stays uniquely owned (no copy when more bytes arrive).
            self.commandContext.arguments.removeAllArguments()
            if self.commandContext.session.evicted {
                self.closeEvicted()
                return
            }
            if self.commandContext.session.closeAfterReply {
                self.closing = true
                self.flush(context: context)
                return
            }
            if let blocked = self.commandContext.session.blocked { self.armTimer(blocked, context: context) }
        }
        if buffer.readableBytes > state.hot.clientQueryBufferLimit {
            self.logger.warning(
                "closing client that reached max query buffer length",
                metadata: ["qbuf": "\(buffer.readableBytes)"]
            )
            self.closing = true
            self.flush(context: context)
        }
    }

    // MARK: - Blocking commands

    /// Schedules the timeout reply of a blocked client at its deadline (to the millisecond).
    private func armTimer(_ blocked: BlockedClient, context: ChannelHandlerContext) {
        self.blockTimer?.cancel()
        self.blockTimer = nil
        guard blocked.deadline > 0 else { return }
        let state = self.core.state
        let delay = max(0, blocked.deadline - state.clock())
        let bound = NIOLoopBound((state, blocked.session), eventLoop: context.eventLoop)
        self.blockTimer = context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
            let (state, session) = bound.value
            state.blockTimedOut(session)
        }
    }

    /// The wait ended (served by another client's write, timed out, or CLIENT UNBLOCK): send the reply now and
    /// go on with the requests that arrived meanwhile on a later turn of the loop, as Redis does with its
    /// unblocked-clients queue (never inside the command of the client that served this one).
    func deliverUnblocked(_ reply: ByteBuffer) {
        self.blockTimer?.cancel()
        self.blockTimer = nil
        guard let context = self.channelContext, !self.disconnected, !self.closing else { return }
        var reply = reply
        self.commandContext.out.buffer.writeBuffer(&reply)
        // Unblocked because the server became a replica: closed once the error is out.
        if self.commandContext.session.closeAfterReply { self.closing = true }
        self.flush(context: context)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { bound.value.resume() }
    }

    /// The pause that held this client's command ended: run it on a later turn of the loop (never inside the
    /// command that ended the pause).
    func resumePostponed() {
        guard let loop = self.channelContext?.eventLoop else { return }
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.execute { bound.value.runPostponed() }
    }

    /// Closes the connection from outside its own request (CLIENT KILL, SHUTDOWN, `timeout`).
    func close() {
        self.channelContext?.channel.close(promise: nil)
    }

    /// Runs the command the pause held, then the requests that came meanwhile.
    private func runPostponed() {
        guard let context = self.channelContext, !self.disconnected, !self.closing,
            let arguments = self.commandContext.session.postponed
        else { return }
        let state = self.core.state
        self.commandContext.session.postponed = nil
        state.beginBatch()
        self.inBatch = true
        self.commandContext.arguments = arguments
        state.execute(&self.commandContext)
        self.commandContext.arguments.removeAllArguments()
        state.endBatch()
        self.inBatch = false
        if self.commandContext.session.closeAfterReply { self.closing = true }
        if let blocked = self.commandContext.session.blocked { self.armTimer(blocked, context: context) }
        self.flush(context: context)
        self.resume()
    }

    private func resume() {
        guard let context = self.channelContext, !self.disconnected, !self.closing,
            self.commandContext.session.blocked == nil, self.commandContext.session.postponed == nil,
            var buffer = self.cumulation
        else { return }
        self.cumulation = nil
        self.process(&buffer, context: context)
        self.keep(buffer)
        if !self.closing { self.flush(context: context) }
    }

    /// The read batch is over. The event is not passed on: this is the pipeline's last handler (as for channelRead).
    func channelReadComplete(context: ChannelHandlerContext) {
        if !self.closing && self.commandContext.out.buffer.readableBytes > 0 { self.flush(context: context) }
    }

    /// Hands the replies produced so far to the server, which writes them once the loop has handled this
    /// iteration's reads (see ``ServerState/holdReply(_:_:)``).
    private func holdReplies() {
        guard self.commandContext.out.buffer.readableBytes > 0 else { return }
        self.core.state.holdReply(self.commandContext.session, &self.commandContext.out.buffer)
    }

    /// Writes what the batch produced in one write, and closes afterwards if asked to. Outside a closing
    /// connection the replies are held for the end of the loop iteration instead.
    private func flush(context: ChannelHandlerContext) {
        guard !self.disconnected else { return }
        let state = self.core.state
        if !self.closing && (state.defersReplies || state.repliesWaitForFsync) {
            // Also with appendfsync always: the replies leave after this loop iteration's AOF write and fsync,
            // together with every other client's (one fsync for all of them, as Redis's beforeSleep).
            self.holdReplies()
            return
        }
        if self.closing, self.commandContext.session.outbox.readableBytes > 0 {
            // Replies held earlier in this iteration go out before the last ones.
            var held = self.commandContext.session.outbox
            self.commandContext.session.outbox.clear()
            held.writeBuffer(&self.commandContext.out.buffer)
            self.commandContext.out.buffer = held
        }
        let out = self.commandContext.out.buffer
        let count = out.readableBytes
        if count > 0 {
            state.beforeRepliesLeave()
            state.noteWrite(bytes: count)
            if self.closing {
                let channel = context.channel
                context.writeAndFlush(self.wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
            if self.outputLimitReached(adding: count, context: context) { return }
            self.send(out, context: context)
            // The socket write usually completes at once, so nothing holds the buffer any more and clearing reuses
            // its storage. If NIO still holds it (the socket is full), a new buffer is started instead: clearing a
            // shared buffer allocates a copy of its whole capacity, and a client that does not read would hold
            // twice its unsent replies.
            if self.writesInNIO > 0 || self.commandContext.out.buffer.capacity > Self.keptReplyCapacity {
                self.commandContext.out.buffer = context.channel.allocator.buffer(capacity: 0)
            } else {
                self.commandContext.out.buffer.clear()
            }
            self.enforceOutputLimitIfSet(context: context)
        } else if self.closing {
            context.close(promise: nil)
        }
    }

    // MARK: - Writing

    /// A reply buffer larger than this is given back once written, not kept for the next replies, so that an idle
    /// client holds little (Redis frees its reply list as it writes, and shrinks its own reply buffer when idle).
    /// Kept at 1 MiB, twenty clients that once read a 100 KB value each held megabytes that maxmemory counted, and
    /// invalidation messages that evictions sent to tracking clients left buffers behind that caused more evictions
    /// (both in Redis's maxmemory unit). A batch of replies larger than this costs one allocation.
    static let keptReplyCapacity = 4096

    /// Writes `bytes` to the socket with one `send` when NIO holds nothing for this connection (`SocketWrite`); what
    /// the socket does not take (it is full), or an error, goes to NIO's write path, which waits for writability,
    /// closes on errors, and keeps the order of everything written after it.
    private func send(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        var rest = bytes
        if self.writesInNIO == 0 && self.socket >= 0 && SocketWrite.sendNow(self.socket, &rest) { return }
        self.writesInNIO += 1
        // NIO keeps the whole buffer until its last byte is written: that is the memory this client's unsent
        // output holds (maxmemory-clients, CLIENT LIST's omem and tot-mem).
        let held = rest.capacity
        self.commandContext.session.outputBufferMemory += held
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            self.writesInNIO -= 1
            let session = self.commandContext.session
            session.outputBufferMemory -= held
            if self.writesInNIO == 0 {
                session.outputBufferLength = 0
                // A replica's stream held back while NIO wrote (`flushOutbox`) goes now; on a later turn, as this
                // may run inside the `send` that queued the write, before its caller has taken the bytes out.
                if session.replica != nil && session.outbox.readableBytes > 0 {
                    context.eventLoop.assumeIsolated().execute { self.flushOutbox() }
                }
            }
            let state = self.core.state
            if state.evictsClients { state.noteClientMemory(session) }
        }
        context.writeAndFlush(self.wrapOutboundOut(rest), promise: promise)
    }

    // MARK: - Frames from other clients, output limits

    /// Writes the frames other clients' commands queued for this one (pub/sub messages), then applies the output
    /// buffer limit: a client that does not read its messages is disconnected, so the server's memory stays bounded.
    func flushOutbox() {
        guard let context = self.channelContext, !self.disconnected else { return }
        let session = self.commandContext.session
        guard !self.closing else {
            session.outbox.clear()
            return
        }
        if self.writesInNIO > 0, session.replica != nil, session.outbox.readableBytes > 0 {
            // A replica whose socket is full: its stream gathers in the outbox (INFO's mem_clients_slaves, left out
            // of maxmemory) and leaves in one write once NIO has written what it holds (`send`), as a slow Redis
            // replica's output waits in one growing buffer. A write handed to NIO every loop turn would add a
            // promise and a queue entry each, memory that nothing counts (unit/maxmemory's replica-buffer tests).
            _ = self.outputLimitReached(adding: session.outbox.readableBytes, context: context)
            return
        }
        if self.inBatch {
            // The batch's replies are flushed right after it ends; these frames follow them (Redis sends
            // invalidations and broadcasts for the running client after its reply).
            self.commandContext.out.buffer.writeImmutableBuffer(session.outbox)
            session.outbox.clear()
            return
        }
        guard session.outbox.readableBytes > 0 else { return }
        // Held replies and frames never overtake the fsync they wait for (appendfsync always).
        self.core.state.beforeRepliesLeave()
        do {
            // Scoped, so that this reference is gone before `clear()`: when the socket took every byte, the outbox
            // keeps its storage instead of allocating a new one.
            let frames = session.outbox
            if self.outputLimitReached(adding: frames.readableBytes, context: context) { return }
            self.core.state.noteWrite(bytes: frames.readableBytes)
            self.send(frames, context: context)
        }
        // As for the replies in `flush`: a buffer NIO still holds is left to it.
        if self.writesInNIO > 0 || session.outbox.capacity > Self.keptReplyCapacity {
            session.outbox = context.channel.allocator.buffer(capacity: 0)
        } else {
            session.outbox.clear()
        }
        self.enforceOutputLimitIfSet(context: context)
    }

    /// The output buffer check, skipped for a class of clients without limits (normal clients by default): asking
    /// the channel for its buffered bytes costs more than a small reply.
    private func enforceOutputLimitIfSet(context: ChannelHandlerContext) {
        let session = self.commandContext.session
        let state = self.core.state
        let limit = state.outputLimit(of: session)
        if limit.hard > 0 || limit.soft > 0 || state.evictsClients { self.enforceOutputLimit(context: context) }
    }

    /// Before `bytes` of output are written: as Redis checks its reply buffer when a reply is added, before any of it
    /// reaches the socket, output that would pass client-output-buffer-limit with what NIO still holds closes the
    /// connection instead of being sent (a single reply over the hard limit never leaves).
    private func outputLimitReached(adding bytes: Int, context: ChannelHandlerContext) -> Bool {
        let session = self.commandContext.session
        let state = self.core.state
        let limit = state.outputLimit(of: session)
        guard limit.hard > 0 || limit.soft > 0 else { return false }
        let held = self.writesInNIO > 0 ? (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0 : 0
        guard state.outputBufferOverLimit(session, pending: held + bytes, now: state.clock()) else { return false }
        self.closeForOutputLimit(held + bytes, context: context)
        return true
    }

    /// Closes the connection when the bytes NIO still holds for it pass client-output-buffer-limit.
    private func enforceOutputLimit(context: ChannelHandlerContext) {
        let session = self.commandContext.session
        let pending = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        session.outputBufferLength = pending
        let state = self.core.state
        guard state.outputBufferOverLimit(session, pending: pending, now: state.clock()) else {
            // What the socket has not taken counts toward maxmemory-clients.
            if state.evictsClients && state.noteClientMemory(session) { self.closeEvicted() }
            return
        }
        self.closeForOutputLimit(pending, context: context)
    }

    /// Closes the connection at once for client-output-buffer-limit, dropping the output it has not sent.
    private func closeForOutputLimit(_ omem: Int, context: ChannelHandlerContext) {
        let session = self.commandContext.session
        self.logger.warning(
            "Client \(session.id) closed for overcoming of output buffer limits.",
            metadata: ["omem": "\(omem)", "class": "\(self.core.state.outputLimitClass(of: session))"]
        )
        self.core.state.noteOutputLimitDisconnection()
        self.closing = true
        session.outbox.clear()
        self.commandContext.out.buffer.clear()
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
