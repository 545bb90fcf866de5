import DequeModule
import NIOCore
import SwiftletRESP

/// One logged command: Redis's `slowlogEntry`.
struct SlowlogEntry {
    /// Redis keeps at most 32 arguments (the last one then says how many were left out) and 128 bytes of each.
    static let maxArguments = 32
    static let maxArgumentBytes = 128

    var id: Int64 = 0
    /// Unix seconds when the entry was made.
    var time: Int64 = 0
    var microseconds: Int64
    /// Copies, never slices of the request: an entry outlives the read buffer by far.
    var arguments: [ByteBuffer]
    var peer = ""
    var clientName: [UInt8] = []

    /// The command in `context`, trimmed as Redis trims it, with passwords replaced by `(redacted)`.
    init(_ context: CommandContext, microseconds: Int64) {
        self.microseconds = microseconds
        let count = context.count
        let kept = min(count, Self.maxArguments)
        let redacted = MonitorCommands.redactedArguments(context)
        self.arguments = []
        self.arguments.reserveCapacity(kept)
        for i in 0..<kept {
            if kept < count && i == kept - 1 {
                self.arguments.append(ByteBuffer(string: "... (\(count - kept + 1) more arguments)"))
            } else if redacted.contains(i) {
                self.arguments.append(ByteBuffer(string: "(redacted)"))
            } else {
                let argument = context.arguments[i]
                var copy = ByteBuffer(bytes: argument.readableBytesView.prefix(Self.maxArgumentBytes))
                if argument.readableBytes > Self.maxArgumentBytes {
                    copy.writeString("... (\(argument.readableBytes - Self.maxArgumentBytes) more bytes)")
                }
                self.arguments.append(copy)
            }
        }
    }
}

/// The slow log: the latest `slowlog-max-len` commands that ran for `slowlog-log-slower-than` microseconds or more,
/// newest first, as Redis's slowlog.c keeps them.
struct Slowlog {
    /// Oldest first.
    private(set) var entries: Deque<SlowlogEntry> = []
    private var nextID: Int64 = 0
    /// Set when the length limit may have been lowered, so that the next command trims the log (every command
    /// checks this flag, not the entries).
    var mayExceedMaxLength = false

    /// Redis's `slowlogPushEntryIfNeeded`: nothing at all while the log is off (a negative threshold); otherwise
    /// the entry when it is slow enough, then the oldest entries beyond the length limit (also when this command
    /// was not logged, so a lowered limit applies at the next command).
    mutating func push(
        _ make: @autoclosure () -> SlowlogEntry,
        microseconds: Int64,
        session: ClientSession,
        threshold: Int64,
        maxLength: Int,
        now: Int64
    ) {
        guard threshold >= 0 else { return }
        if microseconds >= threshold {
            var entry = make()
            entry.id = self.nextID
            self.nextID += 1
            entry.time = now / 1000
            entry.peer = session.address
            entry.clientName = session.name ?? []
            self.entries.append(entry)
        }
        if self.entries.count > maxLength { self.entries.removeFirst(self.entries.count - maxLength) }
        self.mayExceedMaxLength = false
    }

    mutating func reset() {
        self.entries.removeAll()
    }
}

extension ServerState {
    /// Called by `run` for a command at least as slow as `slowlog-log-slower-than`, or when the log may be longer
    /// than `slowlog-max-len`. Logs the command that just ran in `context`, or, when it left its client blocked,
    /// keeps the entry until the client is served: Redis logs a blocked command then (`updateStatsOnUnblock`), and
    /// never when the wait ends by a timeout or CLIENT UNBLOCK.
    func slowlogCommandDone(_ id: Int, _ context: CommandContext, microseconds: Int64) {
        let threshold = self.hot.slowlogLogSlowerThan
        guard threshold >= 0, !self.table.commands[id].flags.contains(.skipSlowlog) else { return }
        if let blocked = context.session.blocked, blocked.isWaiting, self.commandDepth == 1 {
            if microseconds >= threshold { blocked.slowlogEntry = SlowlogEntry(context, microseconds: microseconds) }
            return
        }
        self.slowlogPush(SlowlogEntry(context, microseconds: microseconds), microseconds, context.session)
    }

    /// The entry kept for a blocked command, once its client is served.
    func slowlogUnblocked(_ client: BlockedClient) {
        guard let entry = client.slowlogEntry else { return }
        client.slowlogEntry = nil
        self.slowlogPush(entry, entry.microseconds, client.session)
    }

    private func slowlogPush(_ make: @autoclosure () -> SlowlogEntry, _ microseconds: Int64, _ session: ClientSession) {
        self.slowlog.push(
            make(),
            microseconds: microseconds,
            session: session,
            threshold: self.hot.slowlogLogSlowerThan,
            maxLength: self.hot.slowlogMaxLength,
            now: self.clock()
        )
    }
}

/// SLOWLOG GET|LEN|RESET|HELP.
enum SlowlogCommands {
    /// SLOWLOG GET [count] — O(N): the newest `count` entries (10 by default, -1 for all).
    static func get(_ context: inout CommandContext) throws(RedisError) {
        guard context.count <= 3 else {
            // Redis's addReplySubcommandSyntaxError, with the subcommand as the client spelled it.
            throw RedisError.subcommandSyntax(String(buffer: context.arguments[1]), container: "slowlog")
        }
        var count = 10
        if context.count == 3 {
            let error = RedisError.slowlogCount
            guard let value = context.arguments[2].int64, value >= -1 else { throw error }
            count = value == -1 ? Int.max : Int(value)
        }
        let entries = context.server.slowlog.entries
        let sent = min(count, entries.count)
        context.out.writeArrayHeader(sent)
        for entry in entries.reversed().prefix(sent) {
            context.out.writeArrayHeader(6)
            context.out.writeInteger(Int(entry.id))
            context.out.writeInteger(Int(entry.time))
            context.out.writeInteger(Int(entry.microseconds))
            context.out.writeArrayHeader(entry.arguments.count)
            for argument in entry.arguments { context.out.writeBulkString(argument) }
            context.out.writeBulkString(entry.peer)
            context.out.writeBulkString(entry.clientName)
        }
    }

    static let specs: [CommandSpec] = [
        .init(
            "slowlog",
            arity: -2,
            flags: [],
            group: "server",
            subcommands: [
                .init("get", arity: -2, flags: [.admin, .loading, .stale], group: "server", run: get),
                .init("len", arity: 2, flags: [.admin, .loading, .stale], group: "server") { c throws(RedisError) in
                    c.out.writeInteger(c.server.slowlog.entries.count)
                },
                .init("reset", arity: 2, flags: [.admin, .loading, .stale], group: "server") {
                    c throws(RedisError) in
                    c.server.slowlog.reset()
                    c.out.writeOK()
                },
                .init("help", arity: 2, flags: [.loading, .stale], group: "server") { c throws(RedisError) in
                    KeyCommands.help(HelpText.slowlog, &c)
                },
            ]
        )
    ]
}
