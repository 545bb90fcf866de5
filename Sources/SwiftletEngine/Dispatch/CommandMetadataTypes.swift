/// What Redis reports about a command beyond its `CommandSpec`: ACL categories, tips, key specifications and the
/// documentation that `COMMAND DOCS` returns.
///
/// The data is generated from a real Redis 7.0 by `scripts/generate-command-metadata.py` into
/// `Generated/CommandMetadata.swift` (`CommandMetadata.all`, keyed by full name such as `get` or `config|get`).
/// It holds no reply bytes: `CommandCommands` renders it with `RESPReplyWriter`, in RESP2 or RESP3.
public struct CommandMetadata: Sendable {
    public var acl: ACLCategories
    /// Tips for clients (`nondeterministic_output`, `request_policy:all_shards`, ...), in Redis's order.
    public var tips: [String]
    public var keySpecs: [KeySpec]
    public var summary: String?
    public var since: String?
    public var complexity: String?
    public var docFlags: DocFlags
    public var deprecatedSince: String?
    public var replacedBy: String?
    /// `(version, change)` pairs; `nil` when Redis reports no `history` field at all.
    public var history: [(String, String)]?
    /// `nil` when Redis reports no `arguments` field at all.
    public var arguments: [CommandArgument]?

    public init(
        acl: ACLCategories = [],
        tips: [String] = [],
        keySpecs: [KeySpec] = [],
        summary: String? = nil,
        since: String? = nil,
        complexity: String? = nil,
        docFlags: DocFlags = [],
        deprecatedSince: String? = nil,
        replacedBy: String? = nil,
        history: [(String, String)]? = nil,
        arguments: [CommandArgument]? = nil
    ) {
        self.acl = acl
        self.tips = tips
        self.keySpecs = keySpecs
        self.summary = summary
        self.since = since
        self.complexity = complexity
        self.docFlags = docFlags
        self.deprecatedSince = deprecatedSince
        self.replacedBy = replacedBy
        self.history = history
        self.arguments = arguments
    }

    /// The metadata of a command by full name (`get`, `config|get`), or `nil` for a command Redis does not have.
    public static func lookup(_ fullName: String) -> CommandMetadata? {
        Self.all[fullName]
    }
}

/// ACL categories (`@read`, `@string`, ...), in the order Redis prints them.
public struct ACLCategories: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let keyspace = ACLCategories(rawValue: 1 << 0)
    public static let read = ACLCategories(rawValue: 1 << 1)
    public static let write = ACLCategories(rawValue: 1 << 2)
    public static let set = ACLCategories(rawValue: 1 << 3)
    public static let sortedset = ACLCategories(rawValue: 1 << 4)
    public static let list = ACLCategories(rawValue: 1 << 5)
    public static let hash = ACLCategories(rawValue: 1 << 6)
    public static let string = ACLCategories(rawValue: 1 << 7)
    public static let bitmap = ACLCategories(rawValue: 1 << 8)
    public static let hyperloglog = ACLCategories(rawValue: 1 << 9)
    public static let geo = ACLCategories(rawValue: 1 << 10)
    public static let stream = ACLCategories(rawValue: 1 << 11)
    public static let pubsub = ACLCategories(rawValue: 1 << 12)
    public static let admin = ACLCategories(rawValue: 1 << 13)
    public static let fast = ACLCategories(rawValue: 1 << 14)
    public static let slow = ACLCategories(rawValue: 1 << 15)
    public static let blocking = ACLCategories(rawValue: 1 << 16)
    public static let dangerous = ACLCategories(rawValue: 1 << 17)
    public static let connection = ACLCategories(rawValue: 1 << 18)
    public static let transaction = ACLCategories(rawValue: 1 << 19)
    public static let scripting = ACLCategories(rawValue: 1 << 20)

    /// Names without the `@`, in Redis's order (acl.c).
    public static let names: [(ACLCategories, String)] = [
        (.keyspace, "keyspace"), (.read, "read"), (.write, "write"), (.set, "set"), (.sortedset, "sortedset"),
        (.list, "list"), (.hash, "hash"), (.string, "string"), (.bitmap, "bitmap"), (.hyperloglog, "hyperloglog"),
        (.geo, "geo"), (.stream, "stream"), (.pubsub, "pubsub"), (.admin, "admin"), (.fast, "fast"),
        (.slow, "slow"), (.blocking, "blocking"), (.dangerous, "dangerous"), (.connection, "connection"),
        (.transaction, "transaction"), (.scripting, "scripting"),
    ]

    /// The category named `name` (without `@`, any case), or `nil`.
    public init?(name: [UInt8]) {
        let lower = String(decoding: name.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
        guard let match = Self.names.first(where: { $0.1 == lower }) else { return nil }
        self = match.0
    }
}

/// Key specification flags, in the order Redis prints them.
public struct KeySpecFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ro = KeySpecFlags(rawValue: 1 << 0)
    public static let rw = KeySpecFlags(rawValue: 1 << 1)
    public static let ow = KeySpecFlags(rawValue: 1 << 2)
    public static let rm = KeySpecFlags(rawValue: 1 << 3)
    public static let access = KeySpecFlags(rawValue: 1 << 4)
    public static let update = KeySpecFlags(rawValue: 1 << 5)
    public static let insert = KeySpecFlags(rawValue: 1 << 6)
    public static let delete = KeySpecFlags(rawValue: 1 << 7)
    public static let notKey = KeySpecFlags(rawValue: 1 << 8)
    public static let incomplete = KeySpecFlags(rawValue: 1 << 9)
    public static let variableFlags = KeySpecFlags(rawValue: 1 << 10)

    public static let names: [(KeySpecFlags, String)] = [
        (.ro, "RO"), (.rw, "RW"), (.ow, "OW"), (.rm, "RM"), (.access, "access"), (.update, "update"),
        (.insert, "insert"), (.delete, "delete"), (.notKey, "not_key"), (.incomplete, "incomplete"),
        (.variableFlags, "variable_flags"),
    ]
}

/// One key specification: where the search for keys begins, and how the keys are found from there.
public struct KeySpec: Sendable {
    public enum BeginSearch: Sendable {
        case unknown
        /// The keys start at this argument index.
        case index(Int)
        /// The keys start after `keyword`, searched from `startFrom` (negative: from the end, backwards).
        case keyword(String, startFrom: Int)
    }

    public enum FindKeys: Sendable {
        case unknown
        /// `lastKey` relative to the first key (negative: from the end); with a `limit`, only that fraction of
        /// the remaining arguments.
        case range(lastKey: Int, keyStep: Int, limit: Int)
        /// The number of keys is the argument at `index` (relative to the begin); keys start at `firstKey`.
        case keyNum(index: Int, firstKey: Int, keyStep: Int)
    }

    public var flags: KeySpecFlags
    public var begin: BeginSearch
    public var find: FindKeys
    public var notes: String?

    public init(_ flags: KeySpecFlags, _ begin: BeginSearch, _ find: FindKeys, notes: String? = nil) {
        self.flags = flags
        self.begin = begin
        self.find = find
        self.notes = notes
    }
}

/// Documentation flags of a command.
public struct DocFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let deprecated = DocFlags(rawValue: 1 << 0)
    public static let syscmd = DocFlags(rawValue: 1 << 1)

    public static let names: [(DocFlags, String)] = [(.deprecated, "deprecated"), (.syscmd, "syscmd")]
}

/// One argument in the `COMMAND DOCS` tree.
public struct CommandArgument: Sendable {
    public enum Kind: String, Sendable {
        case string, integer, double, key, pattern, block
        case unixTime = "unix-time"
        case pureToken = "pure-token"
        case oneOf = "oneof"
    }

    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let optional = Flags(rawValue: 1 << 0)
        public static let multiple = Flags(rawValue: 1 << 1)
        public static let multipleToken = Flags(rawValue: 1 << 2)

        public static let names: [(Flags, String)] = [
            (.optional, "optional"), (.multiple, "multiple"), (.multipleToken, "multiple_token"),
        ]
    }

    public var name: String
    public var kind: Kind
    /// Index into the command's key specs, or -1.
    public var keySpec: Int
    public var token: String?
    public var summary: String?
    public var since: String?
    public var deprecatedSince: String?
    public var flags: Flags
    /// The alternatives of a `oneof`, the parts of a `block`; `nil` for other kinds.
    public var arguments: [CommandArgument]?

    public init(
        _ name: String,
        _ kind: Kind,
        keySpec: Int = -1,
        token: String? = nil,
        summary: String? = nil,
        since: String? = nil,
        deprecatedSince: String? = nil,
        flags: Flags = [],
        arguments: [CommandArgument]? = nil
    ) {
        self.name = name
        self.kind = kind
        self.keySpec = keySpec
        self.token = token
        self.summary = summary
        self.since = since
        self.deprecatedSince = deprecatedSince
        self.flags = flags
        self.arguments = arguments
    }
}
