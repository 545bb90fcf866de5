import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The COMMAND family: introspection of the command table.
///
/// Name, arity, flags, legacy key positions, group and subcommands come from the `CommandSpec` table, so only
/// the commands Swiftlet implements appear; ACL categories, tips, key specifications and documentation come
/// from `CommandMetadata` (generated from Redis 7.0). Everything is rendered with `RESPReplyWriter`, so RESP2
/// and RESP3 replies both match Redis's.
public enum CommandCommands {
    // MARK: - COMMAND / COMMAND COUNT / COMMAND LIST

    /// COMMAND — O(N) where N is the number of commands
    static func all(_ context: inout CommandContext) throws(RedisError) {
        let table = context.server.table
        let commands = Self.topLevel(table)
        context.out.writeArrayHeader(commands.count)
        for spec in commands { Self.writeInfo(spec, &context.out) }
    }

    /// COMMAND COUNT — O(1)
    static func count(_ context: inout CommandContext) throws(RedisError) {
        let commands = context.server.table.commands
        var count = 0
        for i in commands.indices where commands[i].fullName.utf8.count == commands[i].name.utf8.count { count += 1 }
        context.out.writeInteger(count)
    }

    /// A filter of COMMAND LIST FILTERBY.
    enum ListFilter {
        case none
        /// Modules are out of scope: no command belongs to one, so this filter matches nothing.
        case module
        /// `nil`: a category Redis does not know, which matches nothing.
        case aclCategory(ACLCategories?)
        case pattern([UInt8])
    }

    /// COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern] — O(N)
    static func list(_ context: inout CommandContext) throws(RedisError) {
        var filter = ListFilter.none
        var i = 2
        while i < context.count {
            // Like Redis, FILTERBY must be followed by exactly two more arguments, so there is at most one filter.
            guard context.argument(i, is: "filterby"), context.count - 1 - i == 2 else { throw RedisError.syntax }
            let argument = context.arguments[i + 2].bytes
            if context.argument(i + 1, is: "module") {
                filter = .module
            } else if context.argument(i + 1, is: "aclcat") {
                filter = .aclCategory(ACLCategories(name: argument))
            } else if context.argument(i + 1, is: "pattern") {
                filter = .pattern(argument)
            } else {
                throw RedisError.syntax
            }
            i += 3
        }
        let table = context.server.table
        var names: [String] = []
        for spec in Self.topLevel(table) {
            if Self.matches(spec, filter) { names.append(spec.fullName) }
            for sub in spec.subcommands where Self.matches(sub, filter) { names.append(sub.fullName) }
        }
        context.out.writeArrayHeader(names.count)
        for name in names { context.out.writeBulkString(name) }
    }

    static func matches(_ spec: CommandSpec, _ filter: ListFilter) -> Bool {
        switch filter {
        case .none:
            return true
        case .module:
            return false
        case .aclCategory(let category):
            guard let category, let metadata = CommandMetadata.lookup(spec.fullName) else { return false }
            return !metadata.acl.isDisjoint(with: category)
        case .pattern(let pattern):
            return Glob.match(pattern: pattern, string: Array(spec.fullName.utf8), noCase: true)
        }
    }

    // MARK: - COMMAND INFO / COMMAND DOCS

    /// COMMAND INFO [command-name ...] — O(N) where N is the number of commands looked up
    static func info(_ context: inout CommandContext) throws(RedisError) {
        guard context.count > 2 else { return try Self.all(&context) }
        let table = context.server.table
        context.out.writeArrayHeader(context.count - 2)
        for i in 2..<context.count {
            if let spec = Self.lookup(fullName: context.arguments[i], in: table) {
                Self.writeInfo(spec, &context.out)
            } else {
                // addReplyNull: `$-1` in RESP2, `_` in RESP3.
                context.out.writeNull()
            }
        }
    }

    /// COMMAND DOCS [command-name ...] — O(N) where N is the number of commands looked up
    static func docs(_ context: inout CommandContext) throws(RedisError) {
        let table = context.server.table
        let found: [CommandSpec]
        if context.count == 2 {
            found = Self.topLevel(table)
        } else {
            // Unknown names are skipped, not reported.
            found = context.arguments[2...].compactMap { Self.lookup(fullName: $0, in: table) }
        }
        context.out.writeMapHeader(found.count)
        for spec in found {
            context.out.writeBulkString(spec.fullName)
            Self.writeDocs(spec, &context.out)
        }
    }

    // MARK: - Looking commands up

    /// The top-level commands, in table order.
    static func topLevel(_ table: CommandTable) -> [CommandSpec] {
        table.commands.filter { $0.fullName.utf8.count == $0.name.utf8.count }
    }

    /// A command by full name as COMMAND INFO / DOCS take it (`get`, `config|get`, any case). A name with more
    /// than one `|`, or with a subcommand part for a command without subcommands, is not found.
    static func lookup(fullName: ByteBuffer, in table: CommandTable) -> CommandSpec? {
        let bytes = fullName.readableBytesView
        guard let bar = bytes.firstIndex(of: UInt8(ascii: "|")) else { return table.lookup(fullName) }
        let containerName = fullName.getSlice(at: fullName.readerIndex, length: bar - bytes.startIndex)!
        let subName = fullName.getSlice(at: bar + 1, length: bytes.endIndex - bar - 1)!
        guard !subName.readableBytesView.contains(UInt8(ascii: "|")),
            let container = table.lookup(containerName), !container.subcommands.isEmpty
        else { return nil }
        return table.subcommand(of: container, subName)
    }

    /// The command a request would run, as COMMAND GETKEYS resolves it: the subcommand when the command has
    /// subcommands and the request names one, the command itself otherwise.
    static func lookup(request: ArraySlice<ByteBuffer>, in table: CommandTable) -> CommandSpec? {
        guard let spec = table.lookup(request[request.startIndex]) else { return nil }
        guard request.count > 1, !spec.subcommands.isEmpty else { return spec }
        return table.subcommand(of: spec, request[request.startIndex + 1])
    }

    // MARK: - Rendering

    /// One COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL categories, tips, key
    /// specifications, subcommands.
    static func writeInfo(_ spec: CommandSpec, _ out: inout RESPReplyWriter) {
        let metadata = CommandMetadata.lookup(spec.fullName)
        out.writeArrayHeader(10)
        out.writeBulkString(spec.fullName)
        out.writeInteger(spec.arity)
        Self.writeFlags(spec.flags, CommandFlags.names, &out)
        out.writeInteger(spec.keys.first)
        out.writeInteger(spec.keys.last)
        out.writeInteger(spec.keys.step)
        Self.writeFlags(metadata?.acl ?? [], Self.aclReplyNames, &out)
        let tips = metadata?.tips ?? []
        out.writeSetHeader(tips.count)
        for tip in tips { out.writeBulkString(tip) }
        let keySpecs = metadata?.keySpecs ?? []
        out.writeSetHeader(keySpecs.count)
        for keySpec in keySpecs { Self.writeKeySpec(keySpec, &out) }
        if spec.subcommands.isEmpty {
            out.writeSetHeader(0)
        } else {
            out.writeArrayHeader(spec.subcommands.count)
            for sub in spec.subcommands { Self.writeInfo(sub, &out) }
        }
    }

    /// ACL categories as COMMAND INFO prints them (`@read`).
    static let aclReplyNames = ACLCategories.names.map { ($0.0, "@" + $0.1) }

    /// A set of flags as a set of simple strings, in the order of `names`.
    static func writeFlags<Flags: OptionSet>(_ flags: Flags, _ names: [(Flags, String)], _ out: inout RESPReplyWriter)
    where Flags.Element == Flags {
        out.writeSetHeader(names.reduce(0) { $0 + (flags.contains($1.0) ? 1 : 0) })
        for (flag, name) in names where flags.contains(flag) { out.writeSimpleString(name) }
    }

    static func writeKeySpec(_ spec: KeySpec, _ out: inout RESPReplyWriter) {
        out.writeMapHeader(spec.notes == nil ? 3 : 4)
        if let notes = spec.notes {
            out.writeBulkString("notes")
            out.writeBulkString(notes)
        }
        out.writeBulkString("flags")
        Self.writeFlags(spec.flags, KeySpecFlags.names, &out)
        out.writeBulkString("begin_search")
        out.writeMapHeader(2)
        out.writeBulkString("type")
        switch spec.begin {
        case .unknown:
            out.writeBulkString("unknown")
            out.writeBulkString("spec")
            out.writeMapHeader(0)
        case .index(let index):
            out.writeBulkString("index")
            out.writeBulkString("spec")
            out.writeMapHeader(1)
            Self.writeField("index", index, &out)
        case .keyword(let keyword, let startFrom):
            out.writeBulkString("keyword")
            out.writeBulkString("spec")
            out.writeMapHeader(2)
            out.writeBulkString("keyword")
            out.writeBulkString(keyword)
            Self.writeField("startfrom", startFrom, &out)
        }
        out.writeBulkString("find_keys")
        out.writeMapHeader(2)
        out.writeBulkString("type")
        switch spec.find {
        case .unknown:
            out.writeBulkString("unknown")
            out.writeBulkString("spec")
            out.writeMapHeader(0)
        case .range(let lastKey, let keyStep, let limit):
            out.writeBulkString("range")
            out.writeBulkString("spec")
            out.writeMapHeader(3)
            Self.writeField("lastkey", lastKey, &out)
            Self.writeField("keystep", keyStep, &out)
            Self.writeField("limit", limit, &out)
        case .keyNum(let index, let firstKey, let keyStep):
            out.writeBulkString("keynum")
            out.writeBulkString("spec")
            out.writeMapHeader(3)
            Self.writeField("keynumidx", index, &out)
            Self.writeField("firstkey", firstKey, &out)
            Self.writeField("keystep", keyStep, &out)
        }
    }

    static func writeField(_ name: String, _ value: Int, _ out: inout RESPReplyWriter) {
        out.writeBulkString(name)
        out.writeInteger(value)
    }

    static func writeField(_ name: String, _ value: String?, _ out: inout RESPReplyWriter) {
        guard let value else { return }
        out.writeBulkString(name)
        out.writeBulkString(value)
    }

    /// One COMMAND DOCS entry: a map of summary, since, group, complexity, doc flags, deprecation, history,
    /// arguments and subcommands, each present only when Redis has it.
    static func writeDocs(_ spec: CommandSpec, _ out: inout RESPReplyWriter) {
        let m = CommandMetadata.lookup(spec.fullName)
        // The group is always there; every other field only when Redis has it.
        var fields = 1
        if m?.summary != nil { fields += 1 }
        if m?.since != nil { fields += 1 }
        if m?.complexity != nil { fields += 1 }
        if !(m?.docFlags.isEmpty ?? true) { fields += 1 }
        if m?.deprecatedSince != nil { fields += 1 }
        if m?.replacedBy != nil { fields += 1 }
        if m?.history != nil { fields += 1 }
        if m?.arguments != nil { fields += 1 }
        if !spec.subcommands.isEmpty { fields += 1 }
        out.writeMapHeader(fields)
        Self.writeField("summary", m?.summary, &out)
        Self.writeField("since", m?.since, &out)
        Self.writeField("group", spec.group, &out)
        Self.writeField("complexity", m?.complexity, &out)
        if let docFlags = m?.docFlags, !docFlags.isEmpty {
            out.writeBulkString("doc_flags")
            Self.writeFlags(docFlags, DocFlags.names, &out)
        }
        Self.writeField("deprecated_since", m?.deprecatedSince, &out)
        Self.writeField("replaced_by", m?.replacedBy, &out)
        if let history = m?.history {
            out.writeBulkString("history")
            out.writeSetHeader(history.count)
            for (version, change) in history {
                out.writeArrayHeader(2)
                out.writeBulkString(version)
                out.writeBulkString(change)
            }
        }
        if let arguments = m?.arguments {
            out.writeBulkString("arguments")
            Self.writeArguments(arguments, &out)
        }
        if !spec.subcommands.isEmpty {
            out.writeBulkString("subcommands")
            out.writeMapHeader(spec.subcommands.count)
            for sub in spec.subcommands {
                out.writeBulkString(sub.fullName)
                Self.writeDocs(sub, &out)
            }
        }
    }

    static func writeArguments(_ arguments: [CommandArgument], _ out: inout RESPReplyWriter) {
        out.writeArrayHeader(arguments.count)
        for a in arguments {
            var fields = 2
            if a.keySpec >= 0 { fields += 1 }
            if a.token != nil { fields += 1 }
            if a.summary != nil { fields += 1 }
            if a.since != nil { fields += 1 }
            if a.deprecatedSince != nil { fields += 1 }
            if !a.flags.isEmpty { fields += 1 }
            if a.arguments != nil { fields += 1 }
            out.writeMapHeader(fields)
            Self.writeField("name", a.name, &out)
            Self.writeField("type", a.kind.rawValue, &out)
            if a.keySpec >= 0 { Self.writeField("key_spec_index", a.keySpec, &out) }
            Self.writeField("token", a.token, &out)
            Self.writeField("summary", a.summary, &out)
            Self.writeField("since", a.since, &out)
            Self.writeField("deprecated_since", a.deprecatedSince, &out)
            if !a.flags.isEmpty {
                out.writeBulkString("flags")
                Self.writeFlags(a.flags, CommandArgument.Flags.names, &out)
            }
            if let children = a.arguments {
                out.writeBulkString("arguments")
                Self.writeArguments(children, &out)
            }
        }
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init(
            "command",
            arity: -1,
            flags: [.loading, .stale, .sentinel],
            group: "server",
            subcommands: [
                .init("count", arity: 2, flags: [.loading, .stale, .sentinel], group: "server", run: count),
                .init("docs", arity: -2, flags: [.loading, .stale, .sentinel], group: "server", run: docs),
                .init("getkeys", arity: -4, flags: [.loading, .stale, .sentinel], group: "server") {
                    c throws(RedisError) in try getkeys(&c, withFlags: false)
                },
                .init("getkeysandflags", arity: -4, flags: [.loading, .stale, .sentinel], group: "server") {
                    c throws(RedisError) in try getkeys(&c, withFlags: true)
                },
                .init("help", arity: 2, flags: [.loading, .stale, .sentinel], group: "server") {
                    c throws(RedisError) in KeyCommands.help(HelpText.command, &c)
                },
                .init("info", arity: -2, flags: [.loading, .stale, .sentinel], group: "server", run: info),
                .init("list", arity: -2, flags: [.loading, .stale, .sentinel], group: "server", run: list),
            ],
            run: all
        )
    ]
}
