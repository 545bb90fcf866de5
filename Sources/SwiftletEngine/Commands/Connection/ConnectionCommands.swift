import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletRESP

/// The connection family: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, SWAPDB and CLIENT.
public enum ConnectionCommands {
    /// The version Swiftlet reports as its Redis compatibility level (HELLO, INFO `redis_version`).
    public static let redisVersion = "7.0.15"

    /// PING [message] — O(1)
    static func ping(_ context: inout CommandContext) throws(RedisError) {
        if context.count > 2 { throw RedisError.wrongArity("ping") }
        if context.session.isSubscribed && context.session.protocolVersion == .resp2 {
            // Subscribed mode in RESP2: a `pong` message, as the only frames such a client reads are pushes.
            context.out.writeArrayHeader(2)
            context.out.writeBulkString("pong")
            if context.count == 2 {
                context.out.writeBulkString(context.arguments[1])
            } else {
                context.out.writeBulkString([])
            }
            return
        }
        if context.count == 2 {
            context.out.writeBulkString(context.arguments[1])
        } else {
            context.out.writeSimpleString("PONG")
        }
    }

    /// ECHO message — O(1)
    static func echo(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeBulkString(context.arguments[1])
    }

    /// QUIT — O(1). The connection closes once the reply is written.
    static func quit(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeOK()
        context.session.closeAfterReply = true
    }

    /// RESET — O(1): back to a fresh connection's state.
    static func reset(_ context: inout CommandContext) throws(RedisError) {
        let s = context.session
        context.server.endTransaction(s)
        context.server.pubsub.removeAll(s)
        context.server.stopMonitoring(s)
        context.server.disableTracking(s)
        s.replyControl = []
        s.database = 0
        s.protocolVersion = .resp2
        s.name = nil
        s.noTouch = false
        s.noEvict = false
        s.authenticated = false
        context.out.version = .resp2
        context.out.writeSimpleString("RESET")
    }

    /// Redis's rule for client names: printable ASCII without spaces.
    static func validateName(_ name: ByteBuffer) throws(RedisError) {
        for b in name.readableBytesView where b < UInt8(ascii: "!") || b > UInt8(ascii: "~") {
            throw RedisError.clientNameCharacters
        }
    }

    static func setName(_ session: ClientSession, _ name: ByteBuffer) {
        session.name = name.readableBytes == 0 ? nil : name.bytes
    }

    /// Checks a username and password against the default user (`requirepass`).
    static func authenticate(_ context: CommandContext, user: ByteBuffer?, password: ByteBuffer) throws(RedisError) {
        let required = context.server.config.requirePass
        if let user, String(buffer: user) != "default" {
            throw RedisError.wrongPass
        }
        if !required.isEmpty && String(buffer: password) != required {
            throw RedisError.wrongPass
        }
        context.session.authenticated = true
    }

    /// HELLO [protover [AUTH username password] [SETNAME clientname]] — O(1)
    static func hello(_ context: inout CommandContext) throws(RedisError) {
        var version: RESPVersion?
        var next = 1
        if context.count >= 2 {
            guard let v = context.arguments[1].int64 else {
                throw RedisError.protocolVersionNotInteger
            }
            guard v == 2 || v == 3 else { throw RedisError.protocolVersion }
            version = RESPVersion(rawValue: Int(v))
            next = 2
        }
        var credentials: (ByteBuffer, ByteBuffer)?
        var name: ByteBuffer?
        var j = next
        while j < context.count {
            let more = context.count - 1 - j
            if context.argument(j, is: "auth") && more >= 2 {
                credentials = (context.arguments[j + 1], context.arguments[j + 2])
                j += 2
            } else if context.argument(j, is: "setname") && more >= 1 {
                try Self.validateName(context.arguments[j + 1])
                name = context.arguments[j + 1]
                j += 1
            } else {
                throw RedisError.helloOptionSyntax(context.arguments[j].readableBytesView)
            }
            j += 1
        }
        if let (user, password) = credentials {
            try Self.authenticate(context, user: user, password: password)
        } else if !context.session.authenticated && !context.server.config.requirePass.isEmpty {
            throw RedisError.helloNotAuthenticated
        }
        if let name { Self.setName(context.session, name) }
        if let version {
            context.session.protocolVersion = version
            context.out.version = version
        }
        context.out.writeMapHeader(7)
        context.out.writeBulkString("server")
        context.out.writeBulkString("redis")
        context.out.writeBulkString("version")
        context.out.writeBulkString(Self.redisVersion)
        context.out.writeBulkString("proto")
        context.out.writeInteger(context.session.protocolVersion.rawValue)
        context.out.writeBulkString("id")
        context.out.writeInteger(context.session.id)
        context.out.writeBulkString("mode")
        context.out.writeBulkString("standalone")
        context.out.writeBulkString("role")
        context.out.writeBulkString("master")
        context.out.writeBulkString("modules")
        context.out.writeArrayHeader(0)
    }

    /// AUTH [username] password — O(N)
    static func auth(_ context: inout CommandContext) throws(RedisError) {
        if context.count > 3 { throw RedisError.syntax }
        if context.count == 2 && context.server.config.requirePass.isEmpty {
            throw RedisError.authWithoutPassword
        }
        let user: ByteBuffer? = context.count == 3 ? context.arguments[1] : nil
        try Self.authenticate(context, user: user, password: context.arguments[context.count - 1])
        context.out.writeOK()
    }

    /// SELECT index — O(1)
    static func select(_ context: inout CommandContext) throws(RedisError) {
        context.session.database = try context.databaseIndex(1)
        context.out.writeOK()
    }

    /// SWAPDB index1 index2 — O(N) for clients watching keys, O(1) otherwise
    static func swapdb(_ context: inout CommandContext) throws(RedisError) {
        func index(_ i: Int, _ which: String) throws(RedisError) -> Int {
            guard let v = context.arguments[i].int64, v >= Int64(Int32.min), v <= Int64(Int32.max) else {
                throw RedisError.invalidDBIndex(which)
            }
            guard v >= 0, v < Int64(context.keyspace.databases.count) else { throw RedisError.dbIndexOutOfRange }
            return Int(v)
        }
        let a = try index(1, "first")
        let b = try index(2, "second")
        for (watched, other) in [(a, b), (b, a)] {
            let (x, y) = (context.keyspace[watched], context.keyspace[other])
            context.server.touchAllWatched(database: watched) { x.peek($0) != nil || y.peek($0) != nil }
        }
        context.keyspace.swap(a, b)
        context.dirty()
        context.out.writeOK()
    }

    // MARK: - CLIENT

    /// One `CLIENT LIST` line (without the newline), with Redis's field names and order.
    static func describe(_ s: ClientSession, _ server: ServerState, now: Int64) -> String {
        let name = s.name.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let age = (now - s.createdAt) / 1000
        let idle = (now - s.lastInteraction) / 1000
        var flags = ""
        // Redis's order (getClientInfoString).
        if s.isMonitor {
            flags += "O"
        } else if s.replica?.attached == true {
            flags += "S"
        } else if s.isMaster {
            flags += "M"
        }
        if s.isSubscribed { flags += "P" }
        if s.transaction.active { flags += "x" }
        if s.blocked != nil || s.postponed != nil { flags += "b" }
        if s.tracking != nil { flags += "t" }
        if s.tracking?.brokenRedirect == true { flags += "R" }
        if s.tracking?.broadcast == true { flags += "B" }
        if s.transaction.watchedKeyTouched { flags += "d" }
        if s.closeAfterReply { flags += "c" }
        if s.noEvict { flags += "e" }
        if s.noTouch { flags += "T" }
        if flags.isEmpty { flags = "N" }
        let subs = s.subscriptions
        let multi = s.transaction.active ? s.transaction.queue.count : -1
        let qbuf = s.queryBufferLength
        let memory = server.clientMemory(s)
        return "id=\(s.id) addr=\(s.address) laddr=\(s.localAddress) fd=\(s.fileDescriptor) name=\(name) "
            + "age=\(age) idle=\(idle) flags=\(flags) db=\(s.database) sub=\(subs.count(.channel)) "
            + "psub=\(subs.count(.pattern)) ssub=\(subs.count(.shardChannel)) multi=\(multi) "
            + "qbuf=\(qbuf) qbuf-free=\(max(0, 20474 - qbuf)) argv-mem=0 multi-mem=\(memory.multi) rbs=16384 rbp=0 "
            + "obl=\(s.outputBufferLength) oll=0 omem=\(memory.output) tot-mem=\(memory.total) "
            + "events=r cmd=\(s.lastCommandID < 0 ? "NULL" : server.table.commands[s.lastCommandID].fullName) user=default redir=\(s.tracking?.redirect ?? -1) resp=\(s.protocolVersion.rawValue)"
    }

    static func clientID(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeInteger(context.session.id)
    }

    static func clientSetname(_ context: inout CommandContext) throws(RedisError) {
        try Self.validateName(context.arguments[2])
        Self.setName(context.session, context.arguments[2])
        context.out.writeOK()
    }

    static func clientGetname(_ context: inout CommandContext) throws(RedisError) {
        if let name = context.session.name {
            context.out.writeBulkString(name)
        } else {
            context.out.writeNull()
        }
    }

    static func clientInfo(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeVerbatimString(Self.describe(context.session, context.server, now: context.now) + "\n")
    }

    /// CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]] — O(N)
    static func clientList(_ context: inout CommandContext) throws(RedisError) {
        var sessions = context.server.clients.values.sorted { $0.id < $1.id }
        if context.count > 2 {
            if context.argument(2, is: "type") && context.count == 4 {
                let type = String(buffer: context.arguments[3]).lowercased()
                guard ["normal", "master", "replica", "slave", "pubsub"].contains(type) else {
                    throw RedisError.unknownClientType(String(buffer: context.arguments[3]))
                }
                sessions = sessions.filter { Self.clientType($0) == (type == "slave" ? "replica" : type) }
            } else if context.argument(2, is: "id") && context.count >= 4 {
                var ids = Set<Int>()
                for i in 3..<context.count {
                    guard let id = context.arguments[i].int64, id > 0 else {
                        throw RedisError.invalidClientID
                    }
                    ids.insert(Int(id))
                }
                sessions = sessions.filter { ids.contains($0.id) }
            } else {
                throw RedisError.syntax
            }
        }
        let text = sessions.map { Self.describe($0, context.server, now: context.now) + "\n" }.joined()
        context.out.writeVerbatimString(text)
    }

    /// CLIENT KILL ip:port | CLIENT KILL [ID id] [TYPE type] [USER name] [ADDR ip:port] [LADDR ip:port]
    /// [SKIPME yes/no] — O(N)
    static func clientKill(_ context: inout CommandContext) throws(RedisError) {
        let server = context.server
        if context.count == 3 {
            let address = String(buffer: context.arguments[2])
            guard let victim = server.clients.values.first(where: { $0.address == address }) else {
                throw RedisError.noSuchClient
            }
            Self.kill(victim, current: context.session)
            context.out.writeOK()
            return
        }
        guard context.count % 2 == 0 else { throw RedisError.syntax }
        var id: Int?
        var address: String?
        var localAddress: String?
        var type: String?
        var user: String?
        var skipMe = true
        for i in stride(from: 2, to: context.count, by: 2) {
            let value = String(buffer: context.arguments[i + 1])
            if context.argument(i, is: "id") {
                guard let v = context.arguments[i + 1].int64, v > 0 else {
                    throw RedisError.clientIDNotPositive
                }
                id = Int(v)
            } else if context.argument(i, is: "type") {
                let t = value.lowercased()
                guard ["normal", "master", "replica", "slave", "pubsub"].contains(t) else {
                    throw RedisError.unknownClientType(value)
                }
                type = t == "slave" ? "replica" : t
            } else if context.argument(i, is: "addr") {
                address = value
            } else if context.argument(i, is: "laddr") {
                localAddress = value
            } else if context.argument(i, is: "user") {
                guard value == "default" else { throw RedisError.noSuchUser(value) }
                user = value
            } else if context.argument(i, is: "skipme") {
                switch value.lowercased() {
                case "yes": skipMe = true
                case "no": skipMe = false
                default: throw RedisError.syntax
                }
            } else {
                throw RedisError.syntax
            }
        }
        var killed = 0
        for s in server.clients.values {
            if let id, s.id != id { continue }
            if let address, s.address != address { continue }
            if let localAddress, s.localAddress != localAddress { continue }
            if let type, Self.clientType(s) != type { continue }
            _ = user
            if skipMe && s === context.session { continue }
            Self.kill(s, current: context.session)
            killed += 1
        }
        context.out.writeInteger(killed)
    }

    /// The client's class for CLIENT LIST/KILL TYPE and client-output-buffer-limit: `replica` once it issued
    /// SYNC/PSYNC (a MONITOR client is not one, as in Redis), `master` for a replica's link to its master, `pubsub`
    /// while subscribed.
    static func clientType(_ s: ClientSession) -> String {
        if s.replica?.attached == true && !s.isMonitor { return "replica" }
        if s.isMaster { return "master" }
        return s.isSubscribed ? "pubsub" : "normal"
    }

    static func kill(_ victim: ClientSession, current: ClientSession) {
        if victim === current {
            victim.closeAfterReply = true
        } else {
            victim.connection?.close()
        }
    }

    /// CLIENT NO-EVICT ON|OFF — O(1) (CLIENT NO-TOUCH is Redis 7.2, not registered)
    static func clientFlag(_ context: inout CommandContext, _ set: (ClientSession, Bool) -> Void) throws(RedisError) {
        if context.argument(2, is: "on") {
            set(context.session, true)
        } else if context.argument(2, is: "off") {
            set(context.session, false)
        } else {
            throw RedisError.syntax
        }
        context.out.writeOK()
    }

    static let specs: [CommandSpec] = [
        .init("ping", arity: -1, flags: [.fast, .sentinel], group: "connection", run: ping),
        .init("echo", arity: 2, flags: [.loading, .stale, .fast], group: "connection", run: echo),
        .init(
            "quit",
            arity: -1,
            flags: [.allowBusy, .noAuth, .noscript, .loading, .stale, .fast],
            group: "connection",
            run: quit
        ),
        .init(
            "reset",
            arity: 1,
            flags: [.noscript, .loading, .stale, .noAuth, .fast, .allowBusy],
            group: "connection",
            run: reset
        ),
        .init(
            "hello",
            arity: -1,
            flags: [.noscript, .loading, .stale, .fast, .noAuth, .sentinel, .allowBusy],
            group: "connection",
            run: hello
        ),
        .init(
            "auth",
            arity: -2,
            flags: [.noscript, .loading, .stale, .fast, .noAuth, .sentinel, .allowBusy],
            group: "connection",
            run: auth
        ),
        .init("select", arity: 2, flags: [.loading, .stale, .fast], group: "connection", run: select),
        .init("swapdb", arity: 3, flags: [.write, .fast], group: "server", run: swapdb),
        .init(
            "client",
            arity: -2,
            flags: [.sentinel],
            group: "connection",
            subcommands: [
                .init(
                    "id",
                    arity: 2,
                    flags: [.noscript, .loading, .stale, .sentinel],
                    group: "connection",
                    run: clientID
                ),
                .init(
                    "setname",
                    arity: 3,
                    flags: [.noscript, .loading, .stale, .sentinel],
                    group: "connection",
                    run: clientSetname
                ),
                .init(
                    "getname",
                    arity: 2,
                    flags: [.noscript, .loading, .stale, .sentinel],
                    group: "connection",
                    run: clientGetname
                ),
                .init(
                    "info",
                    arity: 2,
                    flags: [.noscript, .loading, .stale, .sentinel],
                    group: "connection",
                    run: clientInfo
                ),
                .init(
                    "list",
                    arity: -2,
                    flags: [.admin, .noscript, .loading, .stale, .sentinel],
                    group: "connection",
                    run: clientList
                ),
                .init(
                    "kill",
                    arity: -3,
                    flags: [.admin, .noscript, .loading, .stale, .sentinel],
                    group: "connection",
                    run: clientKill
                ),
                .init(
                    "unblock",
                    arity: -3,
                    flags: [.admin, .noscript, .loading, .stale],
                    group: "connection",
                    run: BlockingCommands.clientUnblock
                ),
                .init(
                    "no-evict",
                    arity: 3,
                    flags: [.admin, .noscript, .loading, .stale, .sentinel],
                    group: "connection"
                ) { c throws(RedisError) in try clientFlag(&c) { $0.noEvict = $1 } },
                .init(
                    "tracking",
                    arity: -3,
                    flags: [.noscript, .loading, .stale],
                    group: "connection",
                    run: clientTracking
                ),
                .init(
                    "caching",
                    arity: 3,
                    flags: [.noscript, .loading, .stale],
                    group: "connection",
                    run: clientCaching
                ),
                .init(
                    "getredir",
                    arity: 2,
                    flags: [.noscript, .loading, .stale],
                    group: "connection",
                    run: clientGetredir
                ),
                .init(
                    "trackinginfo",
                    arity: 2,
                    flags: [.noscript, .loading, .stale],
                    group: "connection",
                    run: clientTrackinginfo
                ),
                .init(
                    "pause",
                    arity: -3,
                    flags: [.admin, .noscript, .loading, .stale],
                    group: "connection",
                    run: clientPause
                ),
                .init(
                    "unpause",
                    arity: 2,
                    flags: [.admin, .noscript, .loading, .stale],
                    group: "connection",
                    run: clientUnpause
                ),
                .init(
                    "reply",
                    arity: 3,
                    flags: [.noscript, .loading, .stale],
                    group: "connection",
                    run: MonitorCommands.clientReply
                ),
                .init("help", arity: 2, flags: [.loading, .stale, .sentinel], group: "connection") {
                    c throws(RedisError) in KeyCommands.help(HelpText.client, &c)
                },
            ]
        ),
    ]
}
