#if os(Linux)
import CSwiftletSupport
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import SwiftletMemcached
import Glibc

/// The memcached front end on a transport of its own: one thread, level-triggered epoll, plain `read(2)` and
/// `send(2)`, no SwiftNIO. `swiftlet-memcached` runs on it; `swiftlet-server --memcached-port` keeps
/// `MemcachedFrontEnd` on NIO, beside RESP on one loop.
///
/// Why a second transport: without pipelining, a request costs two system calls and the request itself, and NIO's
/// channel machinery around each read (the pipeline's read and read-complete hops, the lifecycle checks, the receive
/// buffer pool) cost more user time than memcached spends on the whole request. Here a read is one `read(2)` into
/// the connection's buffer, `MemcachedConnection.process`, and one `send(2)` (docs/PERFORMANCE.md has the figures).
///
/// Everything (the engine, its store, the connections) is touched only by the thread in `run()`. Other threads
/// reach it through `requestShutdown()`, which wakes the loop with an eventfd.
public final class MemcachedEpollFrontEnd: @unchecked Sendable {
    /// The engine; touch it only before `run()` or from the loop (the shutdown hook, tests).
    public let engine: MemcachedEngine
    let logger: Logger
    private let epoll: Int32
    private let wakeup: Int32
    /// What each descriptor is, by its number.
    private var slots: [Slot?] = []
    private var listeners: [Int32] = []
    /// Connections asked to close by the engine (idle timeout) while it walked them: closed after the walk.
    private var pendingCloses: [EpollConnection] = []
    private var stopping = false
    private var acceptPaused = false
    /// Watchers with lines to send, and when they go (`watcherHasLines`).
    private var dirtyWatchers: [EpollConnection] = []
    private var watchFlushDeadline: Int64? = nil
    private let stopRequested = NIOLockedValueBox(false)
    private let reloadRequested = NIOLockedValueBox(false)

    private enum Slot {
        case listener
        case wakeup
        case connection(EpollConnection)
        case udp(UDPSocket)
    }

    /// A UDP socket and the one connection memcached keeps for it.
    final class UDPSocket {
        let fd: Int32
        let connection: MemcachedConnection
        /// The datagram being answered: its request id and sender (replies go there).
        var requestID: UInt16 = 0
        var peer = [UInt8](repeating: 0, count: 128)
        var peerLength: UInt32 = 0
        /// The sender of the datagram just read: it becomes `peer` only when that datagram starts a request (a value's
        /// continuation, or a dropped datagram, does not redirect the replies).
        var sender = [UInt8](repeating: 0, count: 128)
        var out = ByteBufferAllocator().buffer(capacity: 2048)

        init(fd: Int32, connection: MemcachedConnection) {
            self.fd = fd
            self.connection = connection
        }
    }

    /// memcached's UDP framing: an 8-byte header (request id, sequence number, datagram count, reserved), and
    /// replies cut into datagrams of 1400 bytes with the header.
    static let udpHeaderSize = 8
    static let udpDataSize = 1392
    static let udpReadSize = 65536
    private let udpBuffer = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 8)

    public struct ListenError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(settings: MemcachedSettings, logger: Logger) {
        self.logger = logger
        self.engine = MemcachedFrontEnd.makeEngine(settings: settings)
        self.epoll = swiftlet_epoll_create()
        self.wakeup = swiftlet_eventfd()
        precondition(self.epoll >= 0 && self.wakeup >= 0, "epoll: \(String(cString: strerror(errno)))")
        self.setSlot(self.wakeup, .wakeup)
        _ = swiftlet_epoll_control(self.epoll, 0, self.wakeup, SWIFTLET_READABLE)
        // The `shutdown` command (with -A): `run()` returns after this wake-up, once the replies are out.
        self.engine.onShutdown = { [unowned self] _ in self.stopping = true }
    }

    deinit {
        Glibc.close(self.epoll)
        Glibc.close(self.wakeup)
        self.udpBuffer.deallocate()
    }

    // MARK: - Listeners

    /// Binds `-l` (every interface when empty) on `-p` (-1: a free port; `-p 0` or `-s` mean no TCP listener) and the
    /// Unix socket of `-s`, as `MemcachedFrontEnd.start` does.
    /// - Returns: the TCP port bound (0 when none).
    @discardableResult
    public func start() throws -> Int {
        let settings = self.engine.settings
        var port = settings.port
        var bound: [(fd: Int32, description: String)] = []
        var portFile = ""
        if settings.socketPath == nil && settings.port != 0 {
            if port < 0 { port = 0 }
            let hosts = settings.listen.isEmpty ? ["0.0.0.0", "::"] : settings.listen
            for host in hosts {
                do {
                    let (fd, family) = try self.listenSocket(
                        host: host,
                        port: port,
                        type: Int32(SOCK_STREAM.rawValue),
                        backlog: Int32(settings.backlog)
                    )
                    let local = Self.describe(fd, peer: false)
                    if port == 0 { port = Self.port(of: fd) }
                    bound.append((fd, local))
                    portFile += family == AF_INET6 ? "TCP INET6: \(port)\n" : "TCP INET: \(port)\n"
                } catch {
                    // As memcached, an IPv6 wildcard that cannot be bound is not fatal when IPv4 was.
                    if settings.listen.isEmpty && host == "::" && !bound.isEmpty { continue }
                    for (fd, _) in bound { Glibc.close(fd) }
                    throw error
                }
            }
        }
        // As memcached: `-U` binds UDP on the same interfaces (-1: a free port), never beside a Unix socket.
        var udpPort = settings.udpPort
        var udpBound: [(fd: Int32, description: String)] = []
        if settings.socketPath == nil && settings.udpPort != 0 {
            if udpPort < 0 { udpPort = 0 }
            let hosts = settings.listen.isEmpty ? ["0.0.0.0", "::"] : settings.listen
            for host in hosts {
                do {
                    let (fd, family) = try self.listenSocket(
                        host: host,
                        port: udpPort,
                        type: Int32(SOCK_DGRAM.rawValue),
                        backlog: 0
                    )
                    if udpPort == 0 { udpPort = Self.port(of: fd) }
                    udpBound.append((fd, Self.describe(fd, peer: false, udp: true)))
                    portFile += family == AF_INET6 ? "UDP INET6: \(udpPort)\n" : "UDP INET: \(udpPort)\n"
                } catch {
                    if settings.listen.isEmpty && host == "::" && !udpBound.isEmpty { continue }
                    for (fd, _) in bound + udpBound { Glibc.close(fd) }
                    throw error
                }
            }
        }
        if let path = settings.socketPath {
            let fd = try self.listenUnix(path: path, backlog: Int32(settings.backlog))
            chmod(path, mode_t(settings.socketMode))
            bound.append((fd, "unix:\(path)"))
        }
        if settings.socketPath == nil, let name = getenv("MEMCACHED_PORT_FILENAME") {
            MemcachedFrontEnd.writePortFile(String(cString: name), portFile)
        }
        for (fd, _) in bound {
            self.listeners.append(fd)
            self.setSlot(fd, .listener)
            _ = swiftlet_epoll_control(self.epoll, 0, fd, SWIFTLET_READABLE)
        }
        self.engine.listeners = bound.map(\.description)
        self.engine.settings.port = port
        self.engine.settings.udpPort = udpPort
        self.engine.transportName = "epoll"
        for (fd, description) in udpBound {
            let connection = MemcachedConnection(engine: self.engine)
            connection.isUDP = true
            connection.listenAddress = description
            connection.responseEnds = []
            self.engine.connectionOpened(connection)
            self.setSlot(fd, .udp(UDPSocket(fd: fd, connection: connection)))
            _ = swiftlet_epoll_control(self.epoll, 0, fd, SWIFTLET_READABLE)
        }
        return port
    }

    /// A TCP listener (`type` SOCK_STREAM) or a UDP socket (SOCK_DGRAM) bound on `host`'s first address.
    private func listenSocket(host: String, port: Int, type: Int32, backlog: Int32) throws -> (Int32, Int32) {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_socktype = type
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw ListenError(description: "getaddrinfo(\(host)): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        let family = info.pointee.ai_family
        let fd = socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.error("socket()") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        // `v6only`, so that `::` and `0.0.0.0` can share the port, as memcached sets it.
        if family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let failure = Self.error("bind(\(host):\(port))")
            Glibc.close(fd)
            throw failure
        }
        guard type == Int32(SOCK_DGRAM.rawValue) || listen(fd, backlog) == 0 else {
            let failure = Self.error("listen()")
            Glibc.close(fd)
            throw failure
        }
        return (fd, family)
    }

    private func listenUnix(path: String, backlog: Int32) throws -> Int32 {
        unlink(path)
        let fd = socket(
            AF_UNIX,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        guard fd >= 0 else { throw Self.error("socket()") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let room = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < room else {
            Glibc.close(fd)
            throw ListenError(description: "unix socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let failure = Self.error("bind(\(path))")
            Glibc.close(fd)
            throw failure
        }
        return fd
    }

    private static func error(_ what: String) -> ListenError {
        ListenError(description: "\(what): \(String(cString: strerror(errno)))")
    }

    // MARK: - The loop

    /// Serves until `requestShutdown()` or the `shutdown` command, then closes the listeners and every connection.
    public func run() {
        let capacity = 256
        let fds = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        let events = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        defer {
            fds.deallocate()
            events.deallocate()
        }
        // memcached's clock ticks once a second; the LRU maintainer and the crawler run in between. Ten times a
        // second here, as on NIO: the clock, then a slice of background work.
        var nextTick = Self.monotonicMilliseconds() + 100
        while !self.stopping {
            var now = Self.monotonicMilliseconds()
            if now >= nextTick {
                self.engine.tick(monotonicTime: MemcachedFrontEnd.monotonicSeconds())
                self.closePending()
                nextTick = now + 100
                now = Self.monotonicMilliseconds()
            }
            if let deadline = self.watchFlushDeadline, now >= deadline {
                self.flushDirtyWatchers()
            }
            let wake = min(nextTick, self.watchFlushDeadline ?? nextTick)
            let timeout = Int32(clamping: max(0, wake - now))
            let count = swiftlet_epoll_wait(self.epoll, fds, events, Int32(capacity), timeout)
            if count < 0 {
                self.logger.error("epoll_wait: \(String(cString: strerror(errno)))")
                break
            }
            for i in 0..<Int(count) {
                self.handle(fds[i], events[i])
            }
            self.closePending()
        }
        self.closeEverything()
    }

    /// From any thread: ends `run()` (signals).
    public func requestShutdown() {
        self.stopRequested.withLockedValue { $0 = true }
        var one: UInt64 = 1
        _ = write(self.wakeup, &one, 8)
    }

    /// From any thread (SIGHUP): the loop reads the -Y file again.
    public func requestAuthReload() {
        self.reloadRequested.withLockedValue { $0 = true }
        var one: UInt64 = 1
        _ = write(self.wakeup, &one, 8)
    }

    private func handle(_ fd: Int32, _ events: Int32) {
        guard Int(fd) < self.slots.count, let slot = self.slots[Int(fd)] else { return }
        switch slot {
        case .connection(let connection):
            if events & SWIFTLET_WRITABLE != 0 && connection.waitingToWrite {
                self.flush(connection)
                if connection.connection.isWatching { self.flushWatcher(connection) }
            }
            if events & SWIFTLET_READABLE != 0 && !connection.waitingToWrite && !connection.closed {
                self.readable(connection)
            }
        case .listener:
            self.accept(from: fd)
        case .udp(let socket):
            self.receiveDatagrams(socket)
        case .wakeup:
            var value: UInt64 = 0
            _ = read(self.wakeup, &value, 8)
            if self.stopRequested.withLockedValue({ $0 }) { self.stopping = true }
            if self.reloadRequested.withLockedValue({
                let asked = $0
                $0 = false
                return asked
            }) {
                self.engine.reloadAuthFile()
            }
        }
    }

    private func setSlot(_ fd: Int32, _ slot: Slot?) {
        let index = Int(fd)
        if index >= self.slots.count {
            self.slots.append(contentsOf: repeatElement(nil, count: max(index + 1 - self.slots.count, 64)))
        }
        self.slots[index] = slot
    }

    // MARK: - Connections

    private func accept(from listener: Int32) {
        while true {
            let fd = swiftlet_accept(listener)
            if fd < 0 {
                if errno == EINTR { continue }
                if errno == EMFILE || errno == ENFILE {
                    // Out of descriptors: the listeners would stay readable and spin the loop. As memcached, stop
                    // accepting until a connection closes.
                    self.logger.warning(
                        "accept: \(String(cString: strerror(errno))); not accepting until a client closes"
                    )
                    self.pauseAccepting(true)
                } else if errno != EAGAIN && errno != EWOULDBLOCK {
                    self.logger.warning("accept: \(String(cString: strerror(errno)))")
                }
                return
            }
            self.opened(fd)
        }
    }

    private func pauseAccepting(_ pause: Bool) {
        guard pause != self.acceptPaused else { return }
        self.acceptPaused = pause
        for fd in self.listeners { _ = swiftlet_epoll_control(self.epoll, 1, fd, pause ? 0 : SWIFTLET_READABLE) }
    }

    private func opened(_ fd: Int32) {
        let engine = self.engine
        guard engine.acceptsConnections else {
            // As memcached (`maxconns_fast`): the client is told and the socket closed.
            engine.stats.rejectedConnections += 1
            let text: StaticString = "ERROR Too many open connections\r\n"
            _ = Glibc.send(fd, text.utf8Start, text.utf8CodeUnitCount, Int32(MSG_NOSIGNAL))
            Glibc.close(fd)
            return
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let connection = MemcachedConnection(engine: engine)
        connection.peerAddress = Self.describe(fd, peer: true)
        connection.listenAddress = Self.describe(fd, peer: false)
        let client = EpollConnection(fd: fd, connection: connection)
        connection.closeHandler = { [unowned self, unowned client] in self.pendingCloses.append(client) }
        connection.watchReady = { [unowned self, unowned client] in self.watcherHasLines(client) }
        connection.watchFlushNow = { [unowned self, unowned client] in self.flushWatcher(client) }
        engine.connectionOpened(connection)
        self.setSlot(fd, .connection(client))
        _ = swiftlet_epoll_control(self.epoll, 0, fd, SWIFTLET_READABLE)
    }

    /// Reads what the socket has, answers every complete request in it, and sends the replies; reads again only
    /// when the read filled the buffer (the rest is most likely not there yet: the next wake-up brings it).
    private func readable(_ client: EpollConnection) {
        // At most 16 full reads a wake-up: a client that keeps its socket full must not keep the others (and the
        // clock) waiting; level-triggered epoll brings it back on the next wake-up.
        for _ in 0..<16 {
            if client.input.writableBytes < 4096 {
                client.input.reserveCapacity(minimumWritableBytes: 16384)
            }
            let room = client.input.writableBytes
            let n = client.input.withUnsafeMutableWritableBytes { read(client.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                client.input.moveWriterIndex(forwardBy: n)
                let keepOpen = client.connection.process(&client.input, into: &client.out)
                if client.input.readableBytes == 0 {
                    client.input.clear()
                } else if client.input.readerIndex > 65536 {
                    client.input.discardReadBytes()
                }
                if !keepOpen {
                    // As on NIO: what the socket takes now is sent, then the connection closes.
                    if client.out.readableBytes > 0 { self.send(client) }
                    self.close(client)
                    return
                }
                if client.out.readableBytes > 0 {
                    self.flush(client)
                    if client.waitingToWrite || client.closed { return }
                }
                if n < room { return }
                continue
            }
            if n == 0 {
                self.close(client)
                return
            }
            if errno == EINTR { continue }
            if errno != EAGAIN && errno != EWOULDBLOCK {
                client.connection.closeReason = .error
                self.close(client)
            }
            return
        }
    }

    /// Sends as much of the replies as the socket takes. Returns false when it failed (not for a full socket).
    @discardableResult
    private func send(_ client: EpollConnection) -> Bool {
        while client.out.readableBytes > 0 {
            let n = client.out.withUnsafeReadableBytes {
                Glibc.send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                client.out.moveReaderIndex(forwardBy: n)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
        }
        return true
    }

    /// Sends the replies; while the socket is full the connection waits for it and reads nothing more (as memcached
    /// does), and once it is empty the connection reads again.
    private func flush(_ client: EpollConnection) {
        guard self.send(client) else {
            self.close(client)
            return
        }
        if client.out.readableBytes > 0 {
            if !client.waitingToWrite {
                client.waitingToWrite = true
                _ = swiftlet_epoll_control(self.epoll, 1, client.fd, SWIFTLET_WRITABLE)
            }
            return
        }
        if client.out.capacity > 65536 {
            client.out = ByteBufferAllocator().buffer(capacity: 1024)
        } else {
            client.out.clear()
        }
        if client.waitingToWrite {
            client.waitingToWrite = false
            _ = swiftlet_epoll_control(self.epoll, 1, client.fd, SWIFTLET_READABLE)
        }
    }

    /// A watcher got a line. Lines go out in batches, as memcached's logger thread writes them (a few ms late): a
    /// `send(2)` per line would fill the socket's buffer with per-write overhead after a few hundred lines.
    private func watcherHasLines(_ client: EpollConnection) {
        if !client.watchDirty {
            client.watchDirty = true
            self.dirtyWatchers.append(client)
            if self.watchFlushDeadline == nil { self.watchFlushDeadline = Self.monotonicMilliseconds() + 5 }
        }
    }

    private func flushDirtyWatchers() {
        self.watchFlushDeadline = nil
        let watchers = self.dirtyWatchers
        self.dirtyWatchers = []
        for client in watchers {
            client.watchDirty = false
            self.flushWatcher(client)
        }
    }

    /// A watcher's log lines: handed to the socket once what it holds is sent; what the socket has not taken counts
    /// against the watcher's buffer (`watchBacklog`), so that a watcher that does not read skips lines.
    private func flushWatcher(_ client: EpollConnection) {
        guard !client.closed else { return }
        if client.out.readableBytes == 0, let lines = self.engine.takeWatchOutput(client.connection) {
            client.out = lines
        }
        if client.out.readableBytes > 0 && !client.waitingToWrite { self.flush(client) }
        client.connection.watchBacklog = client.closed ? 0 : client.out.readableBytes
    }

    private func close(_ client: EpollConnection) {
        guard !client.closed else { return }
        client.closed = true
        _ = swiftlet_epoll_control(self.epoll, 2, client.fd, 0)
        Glibc.close(client.fd)
        self.slots[Int(client.fd)] = nil
        self.engine.connectionClosed(client.connection)
        client.connection.closeHandler = nil
        client.connection.watchReady = nil
        client.connection.watchFlushNow = nil
        if self.acceptPaused { self.pauseAccepting(false) }
    }

    private func closePending() {
        guard !self.pendingCloses.isEmpty else { return }
        let closing = self.pendingCloses
        self.pendingCloses = []
        for client in closing { self.close(client) }
    }

    private func closeEverything() {
        for fd in self.listeners {
            _ = swiftlet_epoll_control(self.epoll, 2, fd, 0)
            Glibc.close(fd)
            self.slots[Int(fd)] = nil
        }
        self.listeners = []
        for case .connection(let client)? in self.slots {
            client.connection.closeReason = .shutdown
            self.close(client)
        }
        for case .udp(let socket)? in self.slots {
            _ = swiftlet_epoll_control(self.epoll, 2, socket.fd, 0)
            Glibc.close(socket.fd)
            self.slots[Int(socket.fd)] = nil
            self.engine.connectionClosed(socket.connection)
        }
    }

    // MARK: - UDP

    /// Serves the datagrams waiting on a UDP socket (at most 64 per wake-up, so that TCP clients get their turn).
    private func receiveDatagrams(_ socket: UDPSocket) {
        for _ in 0..<64 {
            var peerLength: UInt32 = 0
            let n = socket.sender.withUnsafeMutableBytes { sender in
                swiftlet_udp_receive(socket.fd, self.udpBuffer, Self.udpReadSize, sender.baseAddress, &peerLength)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            self.serveDatagram(socket, length: n, peerLength: peerLength)
        }
    }

    /// memcached's `try_read_udp`: a datagram of more than the header is counted, its request id kept, and served
    /// unless it claims to be one of several (memcached drops multi-datagram requests). A connection in the middle of
    /// a value reads the whole datagram as value bytes, header included, and answers with the previous request id,
    /// as memcached's `conn_nread` does.
    private func serveDatagram(_ socket: UDPSocket, length: Int, peerLength: UInt32) {
        let connection = socket.connection
        var input: ByteBuffer
        if connection.isInsideValue {
            // memcached's `conn_nread` and `conn_swallow` read(2) what the value still needs: a datagram read so is
            // cut there, the rest of it lost.
            let used = min(length, connection.bytesExpected)
            input = ByteBufferAllocator().buffer(capacity: used)
            input.writeBytes(UnsafeRawBufferPointer(start: self.udpBuffer, count: used))
        } else {
            guard length > Self.udpHeaderSize else { return }
            self.engine.stats.bytesRead += Self.udpHeaderSize
            let header = self.udpBuffer.assumingMemoryBound(to: UInt8.self)
            guard header[4] == 0 && header[5] == 1 else {
                self.engine.stats.bytesRead += length - Self.udpHeaderSize
                return
            }
            socket.requestID = UInt16(header[0]) << 8 | UInt16(header[1])
            socket.peer = socket.sender
            socket.peerLength = peerLength
            input = ByteBufferAllocator().buffer(capacity: length - Self.udpHeaderSize)
            input.writeBytes(
                UnsafeRawBufferPointer(
                    start: self.udpBuffer + Self.udpHeaderSize,
                    count: length - Self.udpHeaderSize
                )
            )
        }
        connection.startDatagram()
        var text = [CChar](repeating: 0, count: 160)
        _ = socket.peer.withUnsafeBytes {
            swiftlet_address_text($0.baseAddress, socket.peerLength, 1, &text, text.count)
        }
        let end = text.firstIndex(of: 0) ?? text.count
        connection.peerAddress = String(decoding: text[0..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        connection.udpServing = true
        connection.responseEnds = []
        socket.out.clear()
        _ = connection.process(&input, into: &socket.out)
        connection.udpServing = false
        // What is left is a partial command: the next datagram does not continue it (memcached overwrites it).
        self.sendResponses(socket)
    }

    /// Sends each response as its own datagrams, numbered from 0 with their count in every header (memcached's
    /// `build_udp_header`); an empty response goes as a header alone when it must, and not at all when it was
    /// silenced.
    private func sendResponses(_ socket: UDPSocket) {
        let ends = socket.connection.responseEnds ?? []
        socket.connection.responseEnds = []
        var header = [UInt8](repeating: 0, count: Self.udpHeaderSize)
        header[0] = UInt8(truncatingIfNeeded: socket.requestID >> 8)
        header[1] = UInt8(truncatingIfNeeded: socket.requestID)
        var start = 0
        socket.out.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < ends.count {
                let end = min(ends[index].end, bytes.count)
                let forced = ends[index].forced
                index += 1
                guard end >= start else { continue }
                let length = end - start
                if length == 0 && !forced { continue }
                // memcached's `_transmit_post` retires the empty responses after one along with it: one empty
                // datagram stands for a run of them.
                if length == 0 {
                    while index < ends.count && min(ends[index].end, bytes.count) == start { index += 1 }
                }
                let total = min((length + Self.udpDataSize - 1) / Self.udpDataSize, Int(UInt16.max))
                var sequence = 0
                repeat {
                    header[2] = UInt8(truncatingIfNeeded: sequence >> 8)
                    header[3] = UInt8(truncatingIfNeeded: sequence)
                    header[4] = UInt8(truncatingIfNeeded: total >> 8)
                    header[5] = UInt8(truncatingIfNeeded: total)
                    let offset = start + sequence * Self.udpDataSize
                    let count = min(Self.udpDataSize, end - offset)
                    let sent = header.withUnsafeBytes { head in
                        socket.peer.withUnsafeBytes { peer in
                            swiftlet_udp_send(
                                socket.fd,
                                head.baseAddress,
                                bytes.baseAddress.map { $0 + offset },
                                count,
                                peer.baseAddress,
                                socket.peerLength
                            )
                        }
                    }
                    if sent > 0 { self.engine.stats.bytesWritten += Self.udpHeaderSize }
                    sequence += 1
                } while sequence < total
                start = end
            }
        }
    }

    // MARK: - Addresses and time

    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    private static func port(of fd: Int32) -> Int {
        var text = [CChar](repeating: 0, count: 160)
        return Int(swiftlet_socket_address(fd, 0, 0, &text, text.count))
    }

    /// The peer's or the local address as `stats conns` prints it (the same text as `MemcachedFrontEnd.describe`):
    /// "tcp:127.0.0.1:11211", "tcp6:[::1]:11211", "unix:/path".
    static func describe(_ fd: Int32, peer: Bool, udp: Bool = false) -> String {
        var text = [CChar](repeating: 0, count: 160)
        _ = swiftlet_socket_address(fd, peer ? 1 : 0, udp ? 1 : 0, &text, text.count)
        let end = text.firstIndex(of: 0) ?? text.count
        return String(decoding: text[0..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One client of `MemcachedEpollFrontEnd`: its socket, the bytes read and not yet consumed, the replies not yet sent.
final class EpollConnection {
    let fd: Int32
    let connection: MemcachedConnection
    var input = ByteBufferAllocator().buffer(capacity: 16384)
    var out = ByteBufferAllocator().buffer(capacity: 1024)
    /// The socket was full: the connection waits for it to drain and reads nothing meanwhile.
    var waitingToWrite = false
    /// A watcher with lines waiting for the next batch.
    var watchDirty = false
    var closed = false

    init(fd: Int32, connection: MemcachedConnection) {
        self.fd = fd
        self.connection = connection
    }
}
#endif
