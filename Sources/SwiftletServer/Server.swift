public import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
public import SwiftletConfig
public import SwiftletEngine
import SwiftletKeyspace
public import SwiftletMemcached

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The state of a running server, owned by its one event loop. Every access happens on that loop, which is what
/// makes the unchecked `Sendable` sound: handlers, the tick and the embedded API all hop onto the loop first.
final class ServerCore: @unchecked Sendable {
    let state: ServerState
    let loop: any EventLoop
    let logger: Logger
    private var fdCounter: Int32 = 7

    init(state: ServerState, loop: any EventLoop, logger: Logger) {
        self.state = state
        self.loop = loop
        self.logger = logger
    }

    func nextFD() -> Int32 {
        self.fdCounter += 1
        return self.fdCounter
    }

    static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4: return address.ipAddress?.hasPrefix("127.") ?? false
        case .v6: return address.ipAddress == "::1" || (address.ipAddress?.hasPrefix("::ffff:127.") ?? false)
        case .unixDomainSocket: return true
        }
    }
}

/// The Unix socket of `unixsocket` could not be opened (the server does not start, as Redis's "Failed opening Unix
/// socket").
public struct UnixSocketError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { self.reason }
}

/// A Swiftlet server: binds, accepts, serves, ticks, and shuts down gracefully.
///
/// All connections and the keyspace live on one event loop: every command runs to completion there, one at a
/// time, so the data needs no locks.
public final class Server: Sendable {
    private let core: ServerCore
    private let group: MultiThreadedEventLoopGroup
    private let ownsGroup: Bool
    private let channels: NIOLockedValueBox<[any Channel]> = NIOLockedValueBox([])
    private let closed: EventLoopPromise<Void>
    private let tick: NIOLockedValueBox<RepeatedTask?> = NIOLockedValueBox(nil)
    /// The `pidfile` this server wrote, removed again at shutdown.
    private let pidFile: NIOLockedValueBox<String?> = NIOLockedValueBox(nil)
    /// The `unixsocket` this server listens on, removed at shutdown.
    private let unixSocket: NIOLockedValueBox<String?> = NIOLockedValueBox(nil)
    private let portZeroNoTCP = NIOLockedValueBox(false)
    /// The memcached front end on this server's loop (`memcached-port`), closed with the server.
    private let memcached: NIOLockedValueBox<MemcachedFrontEnd?> = NIOLockedValueBox(nil)

    /// `port 0` means no TCP listener, as in redis-server (swiftlet-server sets this); by default (the embedded API,
    /// tests) port 0 picks a free port.
    public var portZeroDisablesTCP: Bool {
        get { self.portZeroNoTCP.withLockedValue { $0 } }
        set { self.portZeroNoTCP.withLockedValue { $0 = newValue } }
    }

    /// - Parameters:
    ///   - config: the configuration; `port`, `bind` and the limits are read from it at start.
    ///   - group: an event loop group to run on; by default the server makes its own one-thread group.
    public init(config: ConfigStore = ConfigStore(), group: MultiThreadedEventLoopGroup? = nil, logger: Logger? = nil) {
        let ownsGroup = group == nil
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.ownsGroup = ownsGroup
        let loop = self.group.next()
        let state = ServerState(config: config)
        // Saves by itself only once it owns its dump (loadDataFromDisk).
        state.persistence.automaticSaves = false
        state.startupAllocated = MemoryInfo.current().allocated
        self.core = ServerCore(state: state, loop: loop, logger: logger ?? Logger(label: "swiftlet"))
        self.closed = loop.makePromise()
    }

    /// The event loop that owns the keyspace.
    public var eventLoop: any EventLoop { self.core.loop }

    /// Runs `body` with the server state on its loop (embedded API, tests).
    public func withState<T: Sendable>(_ body: @escaping @Sendable (ServerState) throws -> T) async throws -> T {
        let core = self.core
        return try await self.core.loop.submit { try body(core.state) }.get()
    }

    /// Binds every address of `bind` on `port` (0 picks a free port) and starts serving.
    /// - Returns: the port bound.
    @discardableResult
    public func start() async throws -> Int {
        let core = self.core
        let (port, addresses, unixSocket, unixPermissions, backlog) = try await core.loop.submit {
            let config = core.state.config
            return (
                config.port, config.bindAddresses, config.string("unixsocket"),
                config.number("unixsocketperm"), Int32(clamping: config.number("tcp-backlog"))
            )
        }.get()
        Self.checkBacklog(backlog, logger: core.logger)
        let bootstrap = Self.bootstrap(core, tcp: true, backlog: backlog)
        var bound: [any Channel] = []
        var boundPort = port
        let tcpAddresses = port == 0 && self.portZeroDisablesTCP ? [] : addresses
        for address in tcpAddresses {
            var host = address.hasPrefix("-") ? String(address.dropFirst()) : address
            // `*` and `::*` are redis.conf's wildcards for every IPv4 and IPv6 interface.
            if host == "*" { host = "0.0.0.0" }
            if host == "::*" { host = "::" }
            do {
                let channel = try await bootstrap.bind(host: host, port: boundPort).get()
                if boundPort == 0 { boundPort = channel.localAddress?.port ?? 0 }
                bound.append(channel)
            } catch {
                // A leading '-' marks an optional address, as in redis.conf's `bind * -::*`.
                if address.hasPrefix("-") { continue }
                for c in bound { try? await c.close() }
                throw error
            }
        }
        if !unixSocket.isEmpty {
            do {
                bound.append(
                    try await Self.bindUnixSocket(
                        unixSocket,
                        permissions: unixPermissions,
                        backlog: backlog,
                        core: core
                    )
                )
                self.unixSocket.withLockedValue { $0 = unixSocket }
            } catch {
                for c in bound { try? await c.close() }
                throw UnixSocketError(reason: "\(error)")
            }
        }
        self.channels.withLockedValue { $0 = bound }
        let finalPort = boundPort
        try await core.loop.submit {
            core.state.boundPort = finalPort
            Self.attachHost(core).server = self
            self.startTick()
        }.get()
        let (showLogo, logFile) = try await core.loop.submit {
            (core.state.config.bool("always-show-logo"), core.state.config.logFile)
        }.get()
        // As Redis: the logo with `always-show-logo yes` or when the log is a terminal, else one line. Redis's test
        // harness waits for the logo's " PID: <pid>" before it talks to a server it started.
        if showLogo || (logFile.isEmpty && isatty(1) != 0) {
            RedisLogHandler.writeRaw(Self.logo(port: finalPort), path: logFile)
        } else {
            core.logger.notice("Running mode=standalone, port=\(finalPort).")
        }
        core.logger.notice("Ready to accept connections", metadata: ["port": "\(finalPort)"])
        // The `replicaof` directive, and the replication cron's first run now, as Redis's first serverCron a millisecond
        // after start: it connects to the master at once, and its first loop (the one that PINGs replicas) comes
        // before any replica can connect.
        try await core.loop.submit {
            core.state.replicateFromConfig()
            core.state.replicationTick()
        }.get()
        return finalPort
    }

    /// Starts the memcached front end on this server's loop, beside RESP (swiftlet-server's `memcached-port`); its
    /// `shutdown` command (with `-A`) shuts the whole server down, and the server's shutdown closes it.
    /// - Returns: the TCP port it listens on.
    public func startMemcached(_ settings: MemcachedSettings) async throws -> Int {
        let core = self.core
        let frontEnd = try await core.loop.submit {
            MemcachedFrontEnd(settings: settings, loop: core.loop, logger: core.logger)
        }.get()
        let port = try await frontEnd.start()
        try await frontEnd.withEngine { engine in engine.onShutdown = { _ in self.initiateShutdown() } }
        self.memcached.withLockedValue { $0 = frontEnd }
        return port
    }

    /// The start-up logo: a swiftlet in flight, with what Redis's logo tells (version, mode, port, process id).
    static func logo(port: Int) -> String {
        let version = "Swiftlet \(SwiftletBuild.version) (Redis \(ConnectionCommands.redisVersion) compatible) 64 bit"
        let art = [
            "",
            "         __          \(version)",
            "    ___ / _)",
            "   /  _ \\/           Running in standalone mode",
            "  / /  \\ \\          Port: \(port)",
            " /_/    \\_\\         PID: \(getpid())",
            "",
            "",
        ]
        return art.joined(separator: "\n")
    }

    /// Redis's `checkTcpBacklogSettings`: a warning when the kernel caps the listen queue below `tcp-backlog`.
    private static func checkBacklog(_ backlog: Int32, logger: Logger) {
        #if os(Linux)
        let fd = open("/proc/sys/net/core/somaxconn", O_RDONLY)
        guard fd >= 0 else { return }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = read(fd, &bytes, bytes.count)
        close(fd)
        guard count > 0, let limit = Int32(String(decoding: bytes[..<count], as: UTF8.self).filter(\.isNumber)),
            limit < backlog
        else { return }
        logger.warning(
            "WARNING: The TCP backlog setting of \(backlog) cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of \(limit)."
        )
        #endif
    }

    /// The listening side for clients: TCP (with `TCP_NODELAY`, as Redis sets it) or a Unix socket. `tcp-backlog` is
    /// the listen queue of both, as in Redis (the kernel caps it at `net.core.somaxconn`).
    private static func bootstrap(_ core: ServerCore, tcp: Bool, backlog: Int32) -> ServerBootstrap {
        var bootstrap = ServerBootstrap(group: core.loop).serverChannelOption(.backlog, value: backlog)
        if tcp {
            bootstrap = bootstrap.serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        }
        // Reads of 16 KiB at most, as Redis reads (PROTO_IOBUF_LEN). The channel keeps its last read buffer for the
        // next read, so a 1 MiB maximum left every client that once sent a large request holding 1-2 MiB (used_memory
        // stayed up after the big SADD of Redis's lazyfree test); and a pipeline's unparsed bytes count in
        // used_memory, so at 64 KiB a batch that crossed maxmemory under noeviction went 74 KB over it where Redis
        // went 20 KB (benchmarks/eviction.py).
        return bootstrap.childChannelOption(.recvAllocator, value: Self.clientReads)
            .childChannelInitializer(Self.clientInitializer(core))
    }

    private static let clientReads = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 16384)

    private static func clientInitializer(_ core: ServerCore) -> @Sendable (any Channel) -> EventLoopFuture<Void> {
        { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ConnectionHandler(core: core, channel: channel))
            }
        }
    }

    // MARK: - Accepting while a script is busy

    /// A script passed busy-reply-threshold and holds the loop (``ServerState/processEventsWhileBusy()``): accepts the
    /// connections waiting on the listeners, as Redis's processEventsWhileBlocked runs its accept handlers too, so
    /// that a new redis-cli can send SCRIPT KILL. Each socket becomes a channel at once (NIO registers an accepted
    /// socket synchronously on its own loop), with the options and handler the listener gives its children; the
    /// engine then reads it with the other clients.
    func acceptWhileBusy() {
        let core = self.core
        for listener in self.channels.withLockedValue({ $0 }) {
            guard let descriptor = Self.descriptor(of: listener) else { continue }
            let tcp = !Self.isUnixSocket(listener)
            // A few at a time: the script's count hook calls again soon.
            for _ in 0..<16 {
                let client = accept(descriptor, nil, nil)
                guard client >= 0 else { break }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                var bootstrap = ClientBootstrap(group: core.loop).channelOption(.recvAllocator, value: Self.clientReads)
                if tcp { bootstrap = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1) }
                bootstrap.channelInitializer(Self.clientInitializer(core)).withConnectedSocket(client).whenFailure {
                    core.logger.warning("Accepting a client while a script is busy: \($0)")
                }
            }
        }
    }

    /// A listener's socket descriptor (on the loop).
    private static func descriptor(of channel: any Channel) -> CInt? {
        if #available(macOS 13, iOS 16, tvOS 16, watchOS 9, *) {
            let handle = try? channel.pipeline.syncOperations.withUnsafeTransportIfAvailable(
                of: NIOBSDSocket.Handle.self
            ) { $0 }
            return handle.flatMap { $0 }
        }
        return nil
    }

    // MARK: - CONFIG SET port / bind

    /// Listens on the configured `bind` addresses and `port` in place of the current TCP listeners (on the loop,
    /// from CONFIG SET). The new sockets are bound and listening before the old ones close, so a port that cannot be
    /// bound leaves the server as it was and returns `false` (CONFIG SET then fails and rolls back); Redis closes
    /// first and listens on the old port again when the new one fails. Connections already open stay.
    func relisten() -> Bool {
        let core = self.core
        let config = core.state.config
        var port = config.port
        let backlog = Int32(clamping: config.number("tcp-backlog"))
        var descriptors: [CInt] = []
        for address in config.bindAddresses {
            var host = address.hasPrefix("-") ? String(address.dropFirst()) : address
            if host == "*" { host = "0.0.0.0" }
            if host == "::*" { host = "::" }
            switch Self.listeningSocket(host: host, port: port, backlog: backlog) {
            case .success(let (descriptor, boundPort)):
                descriptors.append(descriptor)
                // Port 0 picks a free port once; every address then listens on it.
                if port == 0 { port = boundPort }
            case .failure(let error):
                // A leading '-' marks an optional address, as in redis.conf's `bind * -::*`.
                if address.hasPrefix("-") { continue }
                core.logger.warning("Could not create server TCP listening socket \(host):\(port): \(error.reason)")
                for descriptor in descriptors { close(descriptor) }
                return false
            }
        }
        let old = self.channels.withLockedValue { channels in
            let tcp = channels.filter { !Self.isUnixSocket($0) }
            channels.removeAll { !Self.isUnixSocket($0) }
            return tcp
        }
        for channel in old { channel.close(promise: nil) }
        let bootstrap = Self.bootstrap(core, tcp: true, backlog: backlog)
        for descriptor in descriptors {
            bootstrap.withBoundSocket(descriptor).whenComplete { result in
                switch result {
                case .success(let channel):
                    self.channels.withLockedValue { $0.append(channel) }
                case .failure(let error):
                    core.logger.warning("Could not register the listening socket: \(error)")
                    close(descriptor)
                }
            }
        }
        core.state.boundPort = port
        return true
    }

    private static func isUnixSocket(_ channel: any Channel) -> Bool {
        if case .unixDomainSocket = channel.localAddress { return true }
        return false
    }

    /// Why a listening socket could not be made.
    struct ListenError: Error {
        let reason: String
    }

    /// A TCP socket bound to `host`:`port` and listening (`SO_REUSEADDR`, IPv6 sockets v6-only, as Redis makes
    /// them), non-blocking, for NIO's `withBoundSocket`; and the port it got.
    private static func listeningSocket(host: String, port: Int, backlog: Int32) -> Result<(CInt, Int), ListenError> {
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            return .failure(ListenError(reason: "\(error)"))
        }
        let family = address.protocol.rawValue
        #if canImport(Glibc)
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let descriptor = socket(family, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return .failure(ListenError(reason: String(cString: strerror(errno)))) }
        var on: CInt = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<CInt>.size))
        if family == AF_INET6 {
            setsockopt(descriptor, CInt(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<CInt>.size))
        }
        let bound = address.withSockAddr { bind(descriptor, $0, socklen_t($1)) }
        guard bound == 0, listen(descriptor, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            return .failure(ListenError(reason: reason))
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        // The port getsockname reports: at byte offset 2, in network order, in both sockaddr_in and sockaddr_in6.
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let boundPort: Int = withUnsafeMutableBytes(of: &storage) { raw in
            // Why `!`: the bytes of a local variable have an address.
            _ = getsockname(descriptor, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
            return Int(raw[2]) << 8 | Int(raw[3])
        }
        return .success((descriptor, boundPort))
    }

    /// `unixsocket`: listens on a Unix socket at `path` as well, as redis-server does: a file left there by an
    /// earlier run is removed first, and `unixsocketperm`, when not 0, sets the file's permissions. Shutdown
    /// removes the file.
    private static func bindUnixSocket(
        _ path: String,
        permissions: Int64,
        backlog: Int32,
        core: ServerCore
    ) async throws
        -> any Channel
    {
        unlink(path)  // as Redis, whether or not there was a file
        let channel = try await Self.bootstrap(core, tcp: false, backlog: backlog).bind(unixDomainSocketPath: path)
            .get()
        if permissions != 0 && chmod(path, mode_t(permissions)) != 0 {
            let reason = String(cString: strerror(errno))
            try? await channel.close()
            throw UnixSocketError(reason: reason)
        }
        return channel
    }

    /// The port the server listens on (after `start`).
    public var port: Int {
        self.channels.withLockedValue { $0.first?.localAddress?.port ?? 0 }
    }

    /// Runs the periodic work of Redis's `serverCron` at `hz`: active expiry, incremental rehash, idle
    /// client timeouts, metrics.
    private func startTick() {
        let core = self.core
        let hz = max(1, min(500, core.state.config.hz))
        let task = core.loop.scheduleRepeatedTask(
            initialDelay: .milliseconds(Int64(1000 / hz)),
            delay: .milliseconds(Int64(1000 / hz))
        ) { _ in
            let state = core.state
            if state.cronPaused { return }
            state.resyncWallClock()
            let now = state.clock()
            state.endPauseIfDue()
            // As Redis, keys do not expire in the background while clients are paused.
            if state.activeExpireEnabled && !state.isPaused && !state.isReplica {
                let started = state.monotonicMicroseconds()
                // Redis's slow cycle may use 25% of the CPU: 250 ms per second, split over hz ticks.
                state.keyspace.activeExpireCycle(now: now, budgetMicroseconds: Int64(250_000 / hz)) {
                    state.monotonicMicroseconds() / 1000
                }
                state.expireCycleMicroseconds += state.monotonicMicroseconds() - started
            }
            // Keys expired above reach the BCAST trackers now, as Redis's beforeSleep sends them after its cron.
            state.trackingBroadcast()
            state.trackingLimitUsedSlots()
            state.keyspace.maintain(rehashMilliseconds: 1) { state.monotonicMicroseconds() / 1000 }
            state.persistenceCron()
            state.replicationTick()
            state.sampleOperations(now: now)
            state.peakAllocated = max(state.peakAllocated, MemoryInfo.current().allocated)
            let timeout = Int64(state.config.timeout)
            if timeout > 0 {
                // As Redis: blocked, paused, subscribed, MONITOR and replica clients are never closed for idling.
                for session in state.clients.values where now - session.lastInteraction > timeout * 1000 {
                    if session.blocked != nil || session.postponed != nil || session.isSubscribed
                        || session.isMonitor || session.replica?.attached == true || session.isMaster
                    {
                        continue
                    }
                    session.connection?.close()
                }
            }
        }
        self.tick.withLockedValue { $0 = task }
    }

    func beginShutdown() {
        self.tick.withLockedValue { $0?.cancel() }
        // Whatever way the server stops, the commands it acknowledged reach the AOF file first.
        self.core.state.flushAppendOnlyForShutdown()
        let channels = self.channels.withLockedValue { $0 }
        let core = self.core
        var closes = channels.map { $0.close() }
        if let frontEnd = self.memcached.withLockedValue({ $0 }) { closes.append(frontEnd.close()) }
        let closed = self.closed
        let pidFile = self.pidFile
        let unixSocket = self.unixSocket
        EventLoopFuture.andAllComplete(closes, on: core.loop).whenComplete { _ in
            for session in core.state.clients.values { session.connection?.close() }
            Self.removePidFile(pidFile, logger: core.logger)
            if let path = unixSocket.withLockedValue({ $0 }) {
                core.logger.notice("Removing the unix socket file.")
                // NIO may have removed it already when it closed the listening socket.
                if unlink(path) != 0 && errno != ENOENT {
                    core.logger.warning("Error removing the unix socket file: \(String(cString: strerror(errno)))")
                }
            }
            core.logger.notice("Redis is now ready to exit, bye bye...")
            closed.succeed(())
        }
    }

    /// Starts a graceful shutdown from any thread (signal handlers); `waitUntilClosed` returns once it is done.
    public func initiateShutdown() {
        self.core.loop.execute { self.beginShutdown() }
    }

    /// SIGTERM / SIGINT, from any thread: as Redis, saves first when save points are configured (or as
    /// `shutdown-on-sigterm` / `shutdown-on-sigint` say) and keeps running if that save fails.
    public func shutdownOnSignal(_ name: String) {
        let core = self.core
        core.loop.execute {
            let option = core.state.config.string(name == "SIGINT" ? "shutdown-on-sigint" : "shutdown-on-sigterm")
            let words = option.split(separator: " ")
            let request: ShutdownRequest =
                words.contains("nosave") ? .noSave : words.contains("save") ? .save : .default
            let force = words.contains("force")
            if core.state.shutdownInProgress { return }
            if core.state.shutdownWaitsForReplicas(now: words.contains("now")) {
                // The engine finishes the shutdown once the replicas caught up (or shutdown-timeout passed).
                core.state.waitForReplicasBeforeShutdown(request, force: force, client: nil)
                return
            }
            guard core.state.prepareForShutdown(request, force: force) else { return }
            self.beginShutdown()
        }
    }

    /// Writes the process id to `pidfile` when one is configured, as redis-server does before it loads its data;
    /// shutdown removes the file. A file that cannot be written is logged and the server goes on, as in Redis.
    public func createPidFile() async {
        let core = self.core
        guard let path = try? await core.loop.submit({ core.state.config.string("pidfile") }).get(), !path.isEmpty
        else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
        guard fd >= 0 else {
            core.logger.warning("Failed to write PID file: \(String(cString: strerror(errno)))")
            return
        }
        let text = Array("\(getpid())\n".utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        self.pidFile.withLockedValue { $0 = path }
    }

    /// Removes the `pidfile` written by ``createPidFile()`` (a server that could not start listening leaves none).
    public func removePidFile() {
        Self.removePidFile(self.pidFile, logger: self.core.logger)
    }

    private static func removePidFile(_ pidFile: NIOLockedValueBox<String?>, logger: Logger) {
        guard
            let path = pidFile.withLockedValue({ path in
                defer { path = nil }
                return path
            })
        else { return }
        logger.notice("Removing the pid file.")
        unlink(path)
    }

    /// Loads the data before the server starts accepting connections: the AOF when `appendonly` is on (and
    /// opens it for appending), `dir`/`dbfilename` otherwise, as Redis's `loadDataFromDisk`.
    /// - Throws: the message to print before exiting with status 1 (a corrupt or unreadable file).
    public func loadDataFromDisk() async throws {
        let core = self.core
        try await core.loop.submit {
            Self.attachHost(core)
            core.state.persistence.automaticSaves = true
            if core.state.config.appendOnly {
                try core.state.loadAppendOnlyFilesAtStartup()
            } else {
                try core.state.loadDataFromDisk()
            }
        }.get()
    }

    /// Makes the loop the engine's host (timers, hops, the log; SHUTDOWN once started), once: loading the data at
    /// startup needs the log and the BGSAVE machinery before the server listens.
    @discardableResult
    private static func attachHost(_ core: ServerCore) -> LoopHost {
        if let host = core.state.host as? LoopHost { return host }
        let host = LoopHost(core: core)
        core.state.host = host
        return host
    }

    /// Stops accepting, closes every connection, and returns when done.
    public func shutdown() async {
        self.core.loop.execute { self.beginShutdown() }
        try? await self.closed.futureResult.get()
        if self.ownsGroup { try? await self.group.shutdownGracefully() }
    }

    /// Waits until the server was shut down (by SHUTDOWN, a signal, or `shutdown()`).
    public func waitUntilClosed() async {
        try? await self.closed.futureResult.get()
        if self.ownsGroup { try? await self.group.shutdownGracefully() }
    }
}
