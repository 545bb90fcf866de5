public import NIOCore
import SwiftletRESP

/// A command name folded to lower case and packed into four words: hashable and comparable without
/// allocating, so that looking up a command costs no `uppercased()` and no `String`.
struct CommandName: Hashable {
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    var count = 0

    static let capacity = 32

    static func == (a: CommandName, b: CommandName) -> Bool {
        a.count == b.count && a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
            && a.words.3 == b.words.3
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(self.words.0)
        hasher.combine(self.words.1)
        hasher.combine(self.words.2)
        hasher.combine(self.words.3)
    }

    /// Appends bytes, folding ASCII upper case; returns `false` when the name is too long to be a command.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard self.count + bytes.count <= CommandName.capacity else { return false }
        withUnsafeMutableBytes(of: &self.words) { raw in
            for b in bytes {
                raw[self.count] = (b >= 65 && b <= 90) ? b | 0x20 : b
                self.count += 1
            }
        }
        return true
    }

    init() {}

    init?(_ buffer: ByteBuffer) {
        guard buffer.withUnsafeReadableBytes({ self.append($0) }) else { return nil }
    }

    init(_ text: String) {
        var bytes = Array(text.utf8)
        let ok = bytes.withUnsafeMutableBytes { self.append(UnsafeRawBufferPointer($0)) }
        precondition(ok, "command name too long: \(text)")
        bytes.removeAll()
    }
}

/// Per-command statistics for `INFO commandstats`.
public struct CommandStats: Sendable {
    public var calls = 0
    public var microseconds: Int64 = 0
    public var rejectedCalls = 0
    public var failedCalls = 0
}

/// The command table: lookup by name without allocating, arity and subcommand checks, statistics.
///
/// Only the dispatcher checks unknown commands, arity and subcommands; handlers can rely on the argument count.
///
/// A class, owned by the server state on the event loop: as a struct stored in the state, each call of `resolve`
/// copied it first (six array references retained and released per command).
public final class CommandTable {
    @exclusivity(unchecked)
    public private(set) var commands: [CommandSpec] = []
    @exclusivity(unchecked)
    private var byName = NameIndex()
    /// Subcommands are stored after the top-level commands, keyed by `container|sub`.
    @exclusivity(unchecked)
    private var subcommandsByName = NameIndex()
    @exclusivity(unchecked)
    public var stats: [CommandStats] = []
    /// Ids of the commands the dispatcher treats specially (EXEC runs a queue, PING is refused under MISCONF, CLIENT
    /// keeps CLIENT CACHING in force): compared by id, never by name.
    public private(set) var execID = -1
    public private(set) var pingID = -1
    public private(set) var clientID = -1

    public init(_ families: [[CommandSpec]]) {
        for family in families {
            for spec in family { self.add(spec) }
        }
        // Why `!`: the table always registers these families (Commands.all).
        self.execID = self.byName[CommandName("exec")]!
        self.pingID = self.byName[CommandName("ping")]!
        self.clientID = self.byName[CommandName("client")]!
    }

    private func add(_ spec: CommandSpec) {
        var spec = spec
        spec.id = self.commands.count
        self.byName[CommandName(spec.name)] = spec.id
        self.commands.append(spec)
        self.stats.append(CommandStats())
        for var sub in spec.subcommands {
            sub.fullName = "\(spec.name)|\(sub.name)"
            sub.id = self.commands.count
            self.subcommandsByName[CommandName(sub.fullName)] = sub.id
            self.commands.append(sub)
            self.stats.append(CommandStats())
        }
        // Keep the container's copy of its subcommands in sync (ids and full names) for COMMAND INFO.
        self.commands[spec.id].subcommands = spec.subcommands.map {
            self.commands[self.subcommandsByName[CommandName("\(spec.name)|\($0.name)")]!]
        }
    }

    /// The top-level commands (not subcommands).
    public var topLevel: [CommandSpec] {
        self.commands.filter { !$0.fullName.contains("|") }
    }

    public func lookup(_ name: ByteBuffer) -> CommandSpec? {
        self.lookupID(name).map { self.commands[$0] }
    }

    func lookupID(_ name: ByteBuffer) -> Int? {
        guard let key = CommandName(name) else { return nil }
        return self.byName[key]
    }

    public func lookup(_ name: String) -> CommandSpec? {
        let lower = name.lowercased()
        if let id = self.byName[CommandName(lower)] { return self.commands[id] }
        if lower.contains("|"), let id = self.subcommandsByName[CommandName(lower)] { return self.commands[id] }
        return nil
    }

    public func subcommand(of container: CommandSpec, _ name: ByteBuffer) -> CommandSpec? {
        var key = CommandName(container.name)
        let bar: [UInt8] = [UInt8(ascii: "|")]
        guard bar.withUnsafeBytes({ key.append($0) }) else { return nil }
        guard name.withUnsafeReadableBytes({ key.append($0) }), let id = self.subcommandsByName[key] else {
            return nil
        }
        return self.commands[id]
    }

    /// Resolves the request in `arguments` to a command, applying Redis's checks in Redis's order.
    /// - Throws: unknown command, unknown subcommand, or wrong number of arguments.
    public func resolve(_ arguments: [ByteBuffer]) throws(RedisError) -> Int {
        guard let id = self.lookupID(arguments[0]) else {
            throw RedisError.unknownCommand(
                Array(arguments[0].readableBytesView),
                arguments: arguments.dropFirst().map { Array($0.readableBytesView) }
            )
        }
        // The common case reads two fields of the spec in place, without copying it.
        if self.commands[id].subcommands.isEmpty || arguments.count < 2 {
            guard self.commands[id].accepts(argumentCount: arguments.count) else {
                throw RedisError.wrongArity(self.commands[id].fullName)
            }
            return id
        }
        let spec = self.commands[id]
        if !spec.subcommands.isEmpty && arguments.count >= 2 {
            guard let sub = self.subcommand(of: spec, arguments[1]) else {
                throw RedisError.unknownSubcommand(Array(arguments[1].readableBytesView), container: spec.name)
            }
            guard sub.accepts(argumentCount: arguments.count) else { throw RedisError.wrongArity(sub.fullName) }
            return sub.id
        }
        guard spec.accepts(argumentCount: arguments.count) else { throw RedisError.wrongArity(spec.fullName) }
        return spec.id
    }
}

/// Open-addressing table from command name to index: a few multiplications to hash, no SipHash, no allocation.
struct NameIndex: Sendable {
    private var names: [CommandName] = Array(repeating: CommandName(), count: 1024)
    private var ids: [Int32] = Array(repeating: -1, count: 1024)

    private static func slot(_ n: CommandName) -> Int {
        var h = n.words.0 &* 0x9E37_79B9_7F4A_7C15
        h ^= n.words.1 &* 0xC2B2_AE3D_27D4_EB4F
        h ^= n.words.2 &* 0x1656_67B1_9E37_79F9
        h ^= n.words.3 &* 0x27D4_EB2F_1656_67C5
        h ^= h >> 31
        return Int(truncatingIfNeeded: h) & 1023
    }

    subscript(name: CommandName) -> Int? {
        get {
            var i = Self.slot(name)
            while self.ids[i] >= 0 {
                if self.names[i] == name { return Int(self.ids[i]) }
                i = (i + 1) & 1023
            }
            return nil
        }
        set {
            var i = Self.slot(name)
            while self.ids[i] >= 0 && self.names[i] != name { i = (i + 1) & 1023 }
            precondition(self.ids.filter { $0 >= 0 }.count < 900, "command table full")
            self.names[i] = name
            self.ids[i] = Int32(newValue ?? -1)
        }
    }
}
