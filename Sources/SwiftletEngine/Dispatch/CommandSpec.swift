/// Command flags, named as in Redis's command JSON and reported by `COMMAND INFO`.
package struct CommandFlags: OptionSet, Sendable, Hashable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    package static let write = CommandFlags(rawValue: 1 << 0)
    package static let readonly = CommandFlags(rawValue: 1 << 1)
    package static let denyOOM = CommandFlags(rawValue: 1 << 2)
    package static let admin = CommandFlags(rawValue: 1 << 3)
    package static let pubsub = CommandFlags(rawValue: 1 << 4)
    package static let noscript = CommandFlags(rawValue: 1 << 5)
    package static let blocking = CommandFlags(rawValue: 1 << 6)
    package static let loading = CommandFlags(rawValue: 1 << 7)
    package static let stale = CommandFlags(rawValue: 1 << 8)
    package static let skipMonitor = CommandFlags(rawValue: 1 << 9)
    package static let skipSlowlog = CommandFlags(rawValue: 1 << 10)
    package static let fast = CommandFlags(rawValue: 1 << 11)
    package static let noAuth = CommandFlags(rawValue: 1 << 12)
    package static let mayReplicate = CommandFlags(rawValue: 1 << 13)
    package static let noMandatoryKeys = CommandFlags(rawValue: 1 << 14)
    package static let noAsyncLoading = CommandFlags(rawValue: 1 << 15)
    package static let noMulti = CommandFlags(rawValue: 1 << 16)
    package static let movableKeys = CommandFlags(rawValue: 1 << 17)
    package static let allowBusy = CommandFlags(rawValue: 1 << 18)
    package static let sentinel = CommandFlags(rawValue: 1 << 19)
    package static let asking = CommandFlags(rawValue: 1 << 20)

    /// The flags `COMMAND INFO` prints, with their names, in Redis's order. `may_replicate` and `sentinel` are
    /// hidden on purpose, as in Redis.
    package static let names: [(CommandFlags, String)] = [
        (.write, "write"), (.readonly, "readonly"), (.denyOOM, "denyoom"), (.admin, "admin"),
        (.pubsub, "pubsub"), (.noscript, "noscript"), (.blocking, "blocking"), (.loading, "loading"),
        (.stale, "stale"), (.skipMonitor, "skip_monitor"), (.skipSlowlog, "skip_slowlog"), (.asking, "asking"),
        (.fast, "fast"), (.noAuth, "no_auth"), (.noMandatoryKeys, "no_mandatory_keys"),
        (.noAsyncLoading, "no_async_loading"), (.noMulti, "no_multi"), (.movableKeys, "movablekeys"),
        (.allowBusy, "allow_busy"),
    ]
}

/// Where a command's keys are: Redis's legacy (first, last, step) triple. `last` may be negative (counted
/// from the end: -1 is the last argument).
package struct KeyPositions: Sendable, Hashable {
    package var first: Int
    package var last: Int
    package var step: Int

    package init(_ first: Int, _ last: Int, _ step: Int) {
        self.first = first
        self.last = last
        self.step = step
    }

    package static let none = KeyPositions(0, 0, 0)

    /// The argument indexes holding keys, for a request of `count` arguments.
    package func indexes(count: Int) -> StrideThrough<Int>? {
        guard self.first > 0, self.step > 0 else { return nil }
        let last = self.last < 0 ? count + self.last : self.last
        guard last >= self.first, last < count else { return nil }
        return stride(from: self.first, through: last, by: self.step)
    }
}

/// A command handler: parses `context.arguments`, works on the keyspace, writes the reply to `context.out`.
package typealias CommandHandler = @Sendable (inout CommandContext) throws(RedisError) -> Void

/// One entry of the declarative command table. The fields follow Redis's command JSON, so COMMAND, COMMAND
/// INFO and COMMAND DOCS are served from here.
package struct CommandSpec: Sendable {
    /// Lower-case name; for a subcommand the part after the `|` (`get` of `config|get`).
    package var name: String
    /// Positive: exact argument count (with the name). Negative: at least that many.
    package var arity: Int
    package var flags: CommandFlags
    package var keys: KeyPositions
    /// Redis's command group (`string`, `generic`, `connection`, `server`, ...).
    package var group: String
    package var run: CommandHandler
    package var subcommands: [CommandSpec]
    /// `container|sub` for subcommands, the name otherwise; set by the table.
    package internal(set) var fullName: String
    /// Index into the table's statistics array; set by the table.
    package internal(set) var id: Int = -1

    package init(
        _ name: String,
        arity: Int,
        flags: CommandFlags,
        keys: KeyPositions = .none,
        group: String,
        subcommands: [CommandSpec] = [],
        run: @escaping CommandHandler = { _ throws(RedisError) in }
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.keys = keys
        self.group = group
        self.run = run
        self.subcommands = subcommands
        self.fullName = name
    }

    /// Whether `count` arguments (with the name) satisfy the arity.
    @inline(__always)
    package func accepts(argumentCount count: Int) -> Bool {
        self.arity > 0 ? count == self.arity : count >= -self.arity
    }
}
