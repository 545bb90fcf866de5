import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// A key found in a request: its argument index and how the command accesses it.
struct KeyReference: Equatable {
    var index: Int
    var flags: KeySpecFlags
}

extension CommandCommands {
    // MARK: - COMMAND GETKEYS / GETKEYSANDFLAGS

    /// COMMAND GETKEYS command [arg ...] / COMMAND GETKEYSANDFLAGS command [arg ...] — O(N)
    static func getkeys(_ context: inout CommandContext, withFlags: Bool) throws(RedisError) {
        let request = context.arguments[2...]
        guard let spec = Self.lookup(request: request, in: context.server.table) else {
            throw RedisError.invalidCommandSpecified
        }
        let keySpecs = Self.keySpecs(of: spec)
        guard
            keySpecs.contains(where: { !$0.flags.contains(.notKey) })
                || KeyFinder.procedure(for: spec.fullName) != nil
        else {
            throw RedisError.commandHasNoKeys
        }
        guard spec.accepts(argumentCount: request.count) else { throw RedisError.invalidNumberOfArgumentsForCommand }
        let arguments = Array(request)
        let keys = KeyFinder.keys(arguments, specs: keySpecs, command: spec.fullName, arity: spec.arity)
        if keys.isEmpty {
            guard spec.flags.contains(.noMandatoryKeys) else { throw RedisError.invalidArgumentsForCommand }
            context.out.writeArrayHeader(0)
            return
        }
        context.out.writeArrayHeader(keys.count)
        for key in keys {
            if withFlags {
                context.out.writeArrayHeader(2)
                context.out.writeBulkString(arguments[key.index])
                Self.writeFlags(key.flags, KeySpecFlags.names, &context.out)
            } else {
                context.out.writeBulkString(arguments[key.index])
            }
        }
    }

    /// The key specifications of a command: Redis's, or one range spec made from the legacy key positions of a
    /// command Redis does not have.
    static func keySpecs(of spec: CommandSpec) -> [KeySpec] {
        if let metadata = CommandMetadata.lookup(spec.fullName) { return metadata.keySpecs }
        let keys = spec.keys
        guard keys.first > 0, keys.step > 0 else { return [] }
        let lastKey = keys.last < 0 ? keys.last : keys.last - keys.first
        return [KeySpec([], .index(keys.first), .range(lastKey: lastKey, keyStep: keys.step, limit: 0))]
    }
}

/// Finds the keys of a request (name first) the way Redis 7.0 does: from the key specifications when they are
/// complete and their flags fixed, else with the command's own key-finding procedure.
enum KeyFinder {
    /// A command-specific procedure (Redis's `getkeys_proc`), for specs that are incomplete or have variable flags.
    typealias Procedure = @Sendable ([ByteBuffer]) -> [KeyReference]

    /// - Parameter lenient: skip a spec that does not fit the request instead of giving up on the specs (COMMAND
    ///   GETKEYS gives up, as Redis does: "PFMERGE dest" has no keys for it; WATCH invalidation wants `dest`).
    static func keys(
        _ arguments: [ByteBuffer],
        specs: [KeySpec],
        command: String,
        arity: Int,
        lenient: Bool = false
    ) -> [KeyReference] {
        let hasKeySpec = specs.contains { !$0.flags.contains(.notKey) }
        let hasVariableFlags = specs.contains { $0.flags.contains(.variableFlags) }
        if hasKeySpec && !hasVariableFlags,
            let keys = Self.keys(arguments, specs: specs, arity: arity, lenient: lenient)
        {
            return keys
        }
        return Self.procedure(for: command)?(arguments) ?? []
    }

    /// Keys from the specifications, or `nil` when a spec does not fit the request (unless `lenient`) or is
    /// incomplete.
    static func keys(_ arguments: [ByteBuffer], specs: [KeySpec], arity: Int, lenient: Bool = false) -> [KeyReference]?
    {
        let argc = arguments.count
        var result: [KeyReference] = []
        for spec in specs where !spec.flags.contains(.notKey) {
            var first = 0
            switch spec.begin {
            case .index(let index):
                first = index
            case .keyword(let keyword, let startFrom):
                let start = startFrom > 0 ? startFrom : argc + startFrom
                let end = startFrom > 0 ? argc - 1 : 1
                // As in Redis, the search stops before `end` (the last argument, or the first one backwards).
                var i = start
                while i != end && i >= 1 && i < argc {
                    if Self.equalsIgnoringCase(arguments[i], keyword) {
                        first = i + 1
                        break
                    }
                    i += start <= end ? 1 : -1
                }
                // A keyword that is not there means this spec has no keys in the request.
                if first == 0 { continue }
            case .unknown:
                return nil
            }
            let last: Int
            let step: Int
            switch spec.find {
            case .range(let lastKey, let keyStep, let limit):
                step = keyStep
                if lastKey >= 0 {
                    last = first + lastKey
                } else if limit == 0 {
                    last = argc + lastKey
                } else {
                    last = first + ((argc - first) / limit + lastKey)
                }
            case .keyNum(let index, let firstKey, let keyStep):
                step = keyStep
                guard index < argc, first + index < argc,
                    let count = arguments[first + index].int64, count >= 0
                else { return nil }
                first += firstKey
                // Redis keeps the count in a C int.
                last = first + Int(Int32(truncatingIfNeeded: count)) - 1
            case .unknown:
                return nil
            }
            if last >= argc || last < first || first >= argc {
                if lenient { continue }
                return nil
            }
            var i = first
            while i <= last {
                // Commands with a variable number of arguments are not arity-checked before this: skip what is
                // not there and let the command itself report the error.
                if i < argc || arity >= 0 { result.append(KeyReference(index: i, flags: spec.flags)) }
                if step <= 0 { break }
                i += step
            }
            if spec.flags.contains(.incomplete) { return nil }
        }
        return result
    }

    static func equalsIgnoringCase(_ buffer: ByteBuffer, _ text: String) -> Bool {
        let a = buffer.readableBytesView
        let b = text.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { Self.lower($0) == Self.lower($1) }
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte | 0x20 : byte }

    /// The argument at `index` as C's `atoi` reads it: leading spaces, a sign, then digits up to the first other
    /// byte; 0 when there are none.
    static func atoi(_ arguments: [ByteBuffer], _ index: Int) -> Int {
        guard index < arguments.count else { return 0 }
        var bytes = arguments[index].readableBytesView[...]
        while let b = bytes.first, b == 32 || (b >= 9 && b <= 13) { bytes = bytes.dropFirst() }
        var negative = false
        if let b = bytes.first, b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
            negative = b == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var value: Int64 = 0
        for b in bytes {
            guard b >= 48 && b <= 57 else { break }
            value = min(value * 10 + Int64(b - 48), Int64(Int32.max) + 1)
        }
        return Int(Int32(clamping: negative ? -value : value))
    }

    // MARK: - Redis's key-finding procedures

    /// The procedure of a command, by full name.
    static func procedure(for fullName: String) -> Procedure? {
        switch fullName {
        case "set": return Self.set
        case "bitfield": return Self.bitfield
        case "sort": return Self.sort
        case "sort_ro": return { _ in [KeyReference(index: 1, flags: [.ro, .access])] }
        case "migrate": return Self.migrate
        case "georadius", "georadiusbymember": return Self.georadius
        case "xread", "xreadgroup": return Self.xread
        case "sintercard", "zunion", "zinter", "zdiff", "zintercard", "lmpop", "zmpop":
            return { Self.generic($0, store: 0, count: 1, first: 2, step: 1) }
        case "zunionstore", "zinterstore", "zdiffstore":
            return { Self.generic($0, store: 1, count: 2, first: 3, step: 1) }
        case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "blmpop", "bzmpop":
            return { Self.generic($0, store: 0, count: 2, first: 3, step: 1) }
        default: return nil
        }
    }

    /// `numkeys` keys from `first`, then the destination key at `store` (0: none). Flags are not reported.
    static func generic(_ arguments: [ByteBuffer], store: Int, count: Int, first: Int, step: Int) -> [KeyReference] {
        let n = Self.atoi(arguments, count)
        // No keys when the command is going to reply with a syntax error.
        guard n >= 1, n <= (arguments.count - first) / step else { return [] }
        var keys = (0..<n).map { KeyReference(index: first + $0 * step, flags: []) }
        if store > 0 { keys.append(KeyReference(index: store, flags: [])) }
        return keys
    }

    /// SET: read as well as written when GET is given.
    static func set(_ arguments: [ByteBuffer]) -> [KeyReference] {
        let get = arguments.dropFirst(3).contains { Self.equalsIgnoringCase($0, "get") }
        return [KeyReference(index: 1, flags: get ? [.rw, .access, .update] : [.ow, .update])]
    }

    /// BITFIELD: read-only when it only has GET operations.
    static func bitfield(_ arguments: [ByteBuffer]) -> [KeyReference] {
        var readOnly = true
        var i = 2
        while i < arguments.count {
            let remaining = arguments.count - i - 1
            if Self.equalsIgnoringCase(arguments[i], "get") && remaining >= 2 {
                i += 2
            } else if (Self.equalsIgnoringCase(arguments[i], "set") || Self.equalsIgnoringCase(arguments[i], "incrby"))
                && remaining >= 3
            {
                readOnly = false
                break
            } else if Self.equalsIgnoringCase(arguments[i], "overflow") && remaining >= 1 {
                i += 1
            } else {
                // A syntax error: safer to assume a write.
                readOnly = false
                break
            }
            i += 1
        }
        return [KeyReference(index: 1, flags: readOnly ? [.ro, .access] : [.rw, .access, .update])]
    }

    /// SORT: the sorted key, and the last STORE destination (options with arguments are skipped).
    static func sort(_ arguments: [ByteBuffer]) -> [KeyReference] {
        var keys = [KeyReference(index: 1, flags: [.ro, .access])]
        var store: Int?
        var i = 2
        while i < arguments.count {
            if Self.equalsIgnoringCase(arguments[i], "limit") {
                i += 2
            } else if Self.equalsIgnoringCase(arguments[i], "store") && i + 1 < arguments.count {
                store = i + 1
            } else if Self.equalsIgnoringCase(arguments[i], "get") || Self.equalsIgnoringCase(arguments[i], "by") {
                i += 1
            }
            i += 1
        }
        if let store { keys.append(KeyReference(index: store, flags: [.ow, .update])) }
        return keys
    }

    /// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS key ...]
    static func migrate(_ arguments: [ByteBuffer]) -> [KeyReference] {
        var first = 3
        var count = 1
        if arguments.count > 6 {
            var i = 6
            while i < arguments.count {
                if Self.equalsIgnoringCase(arguments[i], "keys") {
                    if arguments[3].readableBytes > 0 {
                        // A syntax error, left to MIGRATE itself to report.
                        count = 0
                    } else {
                        first = i + 1
                        count = arguments.count - first
                    }
                    break
                }
                if Self.equalsIgnoringCase(arguments[i], "auth") {
                    i += 1
                } else if Self.equalsIgnoringCase(arguments[i], "auth2") {
                    i += 2
                }
                i += 1
            }
        }
        return (0..<count).map { KeyReference(index: first + $0, flags: [.rw, .access, .delete]) }
    }

    /// GEORADIUS / GEORADIUSBYMEMBER: the key, and the last STORE or STOREDIST destination.
    static func georadius(_ arguments: [ByteBuffer]) -> [KeyReference] {
        var stored: Int?
        var i = 5
        while i < arguments.count {
            if (Self.equalsIgnoringCase(arguments[i], "store") || Self.equalsIgnoringCase(arguments[i], "storedist"))
                && i + 1 < arguments.count
            {
                stored = i + 1
                i += 1
            }
            i += 1
        }
        var keys = [KeyReference(index: 1, flags: [])]
        if let stored { keys.append(KeyReference(index: stored, flags: [])) }
        return keys
    }

    /// XREAD / XREADGROUP: the first half of the arguments after STREAMS.
    static func xread(_ arguments: [ByteBuffer]) -> [KeyReference] {
        var streams: Int?
        var i = 1
        while i < arguments.count {
            let a = arguments[i]
            if Self.equalsIgnoringCase(a, "block") || Self.equalsIgnoringCase(a, "count") {
                i += 1
            } else if Self.equalsIgnoringCase(a, "group") {
                i += 2
            } else if Self.equalsIgnoringCase(a, "noack") {
                // no argument
            } else if Self.equalsIgnoringCase(a, "streams") {
                streams = i
                break
            } else {
                break
            }
            i += 1
        }
        guard let streams else { return [] }
        let count = arguments.count - streams - 1
        guard count > 0, count % 2 == 0 else { return [] }
        return (0..<count / 2).map { KeyReference(index: streams + 1 + $0, flags: []) }
    }
}
