/// Command flags, named as in Redis's command JSON and reported by `COMMAND INFO`.
public struct CommandFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    public static let denyOOM = CommandFlags(rawValue: 1 << 2)
    public static let admin = CommandFlags(rawValue: 1 << 3)
    public static let pubsub = CommandFlags(rawValue: 1 << 4)
    public static let noscript = CommandFlags(rawValue: 1 << 5)
    public static let blocking = CommandFlags(rawValue: 1 << 6)
    public static let loading = CommandFlags(rawValue: 1 << 7)
    public static let stale = CommandFlags(rawValue: 1 << 8)
    public static let skipMonitor = CommandFlags(rawValue: 1 << 9)
    public static let skipSlowlog = CommandFlags(rawValue: 1 << 10)
    public static let fast = CommandFlags(rawValue: 1 << 11)
    public static let noAuth = CommandFlags(rawValue: 1 << 12)
    public static let mayReplicate = CommandFlags(rawValue: 1 << 13)
    public static let noMandatoryKeys = CommandFlags(rawValue: 1 << 14)
    public static let noAsyncLoading = CommandFlags(rawValue: 1 << 15)
    public static let noMulti = CommandFlags(rawValue: 1 << 16)
    public static let movableKeys = CommandFlags(rawValue: 1 << 17)
    public static let allowBusy = CommandFlags(rawValue: 1 << 18)
    public static let sentinel = CommandFlags(rawValue: 1 << 19)
    public static let asking = CommandFlags(rawValue: 1 << 20)

    /// The flags `COMMAND INFO` prints, with their names, in Redis's order. `may_replicate` and `sentinel` are
    /// hidden on purpose, as in Redis.
    public static let names: [(CommandFlags, String)] = [
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
public struct KeyPositions: Sendable, Hashable {
    public var first: Int
    public var last: Int
    public var step: Int

    public init(_ first: Int, _ last: Int, _ step: Int) {
        self.first = first
        self.last = last
        self.step = step
    }

    public static let none = KeyPositions(0, 0, 0)

    /// The argument indexes holding keys, for a request of `count` arguments.
    public func indexes(count: Int) -> StrideThrough<Int>? {
        guard self.first > 0, self.step > 0 else { return nil }
        let last = self.last < 0 ? count + self.last : self.last
        guard last >= self.first, last < count else { return nil }
        return stride(from: self.first, through: last, by: self.step)
    }
}

/// A command handler: parses `context.arguments`, works on the keyspace, writes the reply to `context.out`.
public typealias CommandHandler = @Sendable (inout CommandContext) throws(RedisError) -> Void

/// One entry of the declarative command table. The fields follow Redis's command JSON, so COMMAND, COMMAND
/// INFO and COMMAND DOCS are served from here.
public struct CommandSpec: Sendable {
    /// Lower-case name; for a subcommand the part after the `|` (`get` of `config|get`).
    public var name: String
    /// Positive: exact argument count (with the name). Negative: at least that many.
    public var arity: Int
    public var flags: CommandFlags
    public var keys: KeyPositions
    /// Redis's command group (`string`, `generic`, `connection`, `server`, ...).
    public var group: String
    public var run: CommandHandler
    public var subcommands: [CommandSpec]
    /// `container|sub` for subcommands, the name otherwise; set by the table.
    public internal(set) var fullName: String
    /// Index into the table's statistics array; set by the table.
    public internal(set) var id: Int = -1

    public init(
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
    public func accepts(argumentCount count: Int) -> Bool {
        self.arity > 0 ? count == self.arity : count >= -self.arity
    }
}
