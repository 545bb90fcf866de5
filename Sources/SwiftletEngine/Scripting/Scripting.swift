import CSwiftletScripting
import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletRESP

/// The flags a script declares (`#!lua flags=...`) or a function registers with, as Redis 7.0 names them.
struct ScriptFlags: OptionSet {
    let rawValue: UInt32

    static let noWrites = ScriptFlags(rawValue: UInt32(SWIFTLET_SCRIPT_FLAG_NO_WRITES))
    static let allowOOM = ScriptFlags(rawValue: UInt32(SWIFTLET_SCRIPT_FLAG_ALLOW_OOM))
    static let allowStale = ScriptFlags(rawValue: UInt32(SWIFTLET_SCRIPT_FLAG_ALLOW_STALE))
    static let noCluster = ScriptFlags(rawValue: UInt32(SWIFTLET_SCRIPT_FLAG_NO_CLUSTER))
    static let allowCrossSlot = ScriptFlags(rawValue: UInt32(SWIFTLET_SCRIPT_FLAG_ALLOW_CROSS_SLOT))
    /// An EVAL script without a shebang: Redis's backwards-compatible mode (no flags, the old rules).
    static let evalCompatible = ScriptFlags(rawValue: 1 << 31)

    /// In Redis's order (scripts_flags_def), as FUNCTION LIST shows them.
    static let names: [(ScriptFlags, String)] = [
        (.noWrites, "no-writes"), (.allowOOM, "allow-oom"), (.allowStale, "allow-stale"), (.noCluster, "no-cluster"),
        (.allowCrossSlot, "allow-cross-slot-keys"),
    ]

    static func named(_ name: String) -> ScriptFlags? {
        Self.names.first { $0.1 == name }?.0
    }
}

/// A script in EVAL's cache: its body, its flags, its sha as Redis prints it, and its compiled function in the VM.
struct CachedScript {
    var body: [UInt8]
    var flags: ScriptFlags
    var sha: String
    var reference: Int32
}

/// The script that is running: what redis.call's checks and SCRIPT KILL need to know. A class: redis.call reads it
/// on every call and the dispatcher on every command, and copying a struct with references costs more.
final class ScriptRun {
    let caller: ClientSession
    /// The caller's request (FUNCTION STATS shows it).
    let callerArguments: [ByteBuffer]
    /// The sha (EVAL) or the function's name (FCALL).
    let name: String
    let isEval: Bool
    let readOnly: Bool
    let allowOOM: Bool
    /// Used memory was over maxmemory when the command started (Redis's pre_command_oom_state).
    let outOfMemoryAtStart: Bool
    /// A write command ran: from then on the script cannot be killed and is not refused for memory.
    var wroteSomething = false
    /// Monotonic microseconds at the start.
    let started: Int64
    /// The clock all of the script's commands see (Redis's script time snapshot), unix milliseconds.
    let now: Int64
    var killRequested = false
    /// redis.set_repl: 1 AOF, 2 replicas.
    var replication = 3
    /// Past busy-reply-threshold: other clients are answered -BUSY.
    var busy = false

    init(
        caller: ClientSession,
        callerArguments: [ByteBuffer],
        name: String,
        isEval: Bool,
        readOnly: Bool,
        allowOOM: Bool,
        outOfMemoryAtStart: Bool,
        started: Int64,
        now: Int64
    ) {
        self.caller = caller
        self.callerArguments = callerArguments
        self.name = name
        self.isEval = isEval
        self.readOnly = readOnly
        self.allowOOM = allowOOM
        self.outOfMemoryAtStart = outOfMemoryAtStart
        self.started = started
        self.now = now
    }
}

/// Scripting: EVAL's script cache and interpreter, the functions engine's libraries and interpreter, and the script
/// that is running. Owned by ``ServerState``; everything runs on the engine's loop.
public final class ScriptingState: ScriptVMHost {
    unowned(unsafe) let server: ServerState

    // MARK: EVAL
    var evalVM: ScriptVM?
    /// By digest: EVALSHA's 40 hex digits are read into one, so a lookup allocates nothing and ignores case, as
    /// Redis's dictStrCaseHash does.
    var scripts: [SHA1.Digest: CachedScript] = [:]
    /// Bytes of the cached scripts' bodies and names (`used_memory_scripts_eval`).
    var scriptsMemory = 0

    // MARK: Functions
    var functionsVM: ScriptVM?
    var libraries: [String: FunctionLibrary] = [:]
    /// Every function of every library, by its name in lower case (FCALL finds them ignoring case).
    var functions: [String: LibraryFunction] = [:]
    var libraryGeneration = 0
    /// FUNCTION RESTORE or the RDB loader is loading libraries: a replaced library's callbacks stay in the VM until
    /// the outcome is known.
    var restoring = false

    // MARK: The running script
    var running: ScriptRun?
    /// The client the scripts' commands run as (Redis's lua client): not listed, not connected.
    let session: ClientSession
    /// redis.call's arguments as its command sees them, each in a buffer of its own, the buffers a shorter call left
    /// over, and the command's reply buffer: all kept from call to call and refilled in place, so that a call
    /// allocates nothing once they have grown. A command copies what it keeps of its arguments; were one to keep a
    /// buffer, the next call's write would copy it first.
    private var callArguments: [ByteBuffer] = []
    private var spareArguments: [ByteBuffer] = []
    private var callReply = ByteBuffer()

    init(server: ServerState) {
        self.server = server
        self.session = ClientSession(id: 0, address: "lua", localAddress: "", now: 0)
        self.session.authenticated = true
    }

    /// Whether a script is running (a client asking from inside the busy loop, or a nested check).
    public var isRunning: Bool { self.running != nil }

    // MARK: - EVAL's cache

    func evalInterpreter() -> ScriptVM? {
        if self.evalVM == nil { self.evalVM = ScriptVM(kind: .eval, host: self) }
        return self.evalVM
    }

    /// Adds a script to the cache (compiling it), or finds it there.
    func createScript(_ body: [UInt8]) throws(RedisError) -> CachedScript {
        let digest = SHA1.hash(body)
        if let script = self.scripts[digest] { return script }
        let (flags, skip) = try Self.shebangFlags(body)
        guard let vm = self.evalInterpreter() else { throw RedisError("ERR Failed to create the Lua interpreter") }
        switch vm.define(body: body, skip: skip) {
        case .failure(let error):
            throw RedisError("ERR " + error.message)
        case .success(let reference):
            let script = CachedScript(body: body, flags: flags, sha: digest.hex, reference: reference)
            self.scripts[digest] = script
            // Redis counts the sha's sds and the body's object (sdsZmallocSize + getStringObjectSdsUsedMemory).
            self.scriptsMemory += 40 + 9 + body.count + 9
            return script
        }
    }

    /// SCRIPT FLUSH: a new interpreter and an empty cache, as Redis's scriptingReset.
    func flushScripts() {
        self.scripts.removeAll()
        self.scriptsMemory = 0
        self.evalVM = nil
        self.callArguments = []
        self.spareArguments = []
        self.callReply = ByteBuffer()
    }

    /// Redis's evalExtractShebangFlags: the flags of `#!lua flags=a,b`, and the shebang's length (its line feed is
    /// kept so that error line numbers stay right). Without a shebang: EVAL's compatible mode.
    static func shebangFlags(_ body: [UInt8]) throws(RedisError) -> (ScriptFlags, Int) {
        guard body.count >= 2, body[0] == UInt8(ascii: "#"), body[1] == UInt8(ascii: "!") else {
            return (.evalCompatible, 0)
        }
        guard let end = body.firstIndex(of: UInt8(ascii: "\n")) else { throw RedisError("ERR Invalid script shebang") }
        let parts = splitArguments(Array(body[0..<end]))
        guard let engine = parts.first else { throw RedisError("ERR Invalid engine in script shebang") }
        guard engine == "#!lua" else { throw RedisError("ERR Unexpected engine in script shebang: " + engine) }
        var flags: ScriptFlags = []
        for part in parts.dropFirst() {
            guard part.hasPrefix("flags=") else { throw RedisError("ERR Unknown lua shebang option: " + part) }
            let list = part.dropFirst(6)
            if list.isEmpty { continue }
            for name in list.split(separator: ",", omittingEmptySubsequences: false) {
                guard let flag = ScriptFlags.named(String(name)) else {
                    throw RedisError("ERR Unexpected flag in script shebang: " + name)
                }
                flags.insert(flag)
            }
        }
        return (flags, end)
    }

    /// The flags a script declared, for the dispatcher's checks (Redis's evalGetCommandFlags / fcallGetCommandFlags):
    /// nil for other commands and for EVAL scripts without a shebang (or not in the cache yet and without one).
    func declaredFlags(_ id: Int, _ context: CommandContext) -> ScriptFlags? {
        let name = self.server.table.commands[id].fullName
        let flags: ScriptFlags?
        switch name {
        case "eval", "eval_ro":
            let body = context.arguments[1]
            let digest = body.withUnsafeReadableBytes { SHA1.hash($0) }
            flags = self.scripts[digest]?.flags ?? (try? Self.shebangFlags(body.bytes).0)
        case "evalsha", "evalsha_ro":
            flags =
                context.arguments[1].withUnsafeReadableBytes { SHA1.Digest(hex: $0) }.flatMap { self.scripts[$0] }?
                .flags
        case "fcall", "fcall_ro":
            let function = String(decoding: context.arguments[1].readableBytesView, as: UTF8.self).lowercased()
            flags = self.functions[function]?.flags
        default:
            return nil
        }
        guard let flags, !flags.contains(.evalCompatible) else { return nil }
        return flags
    }

    // MARK: - Running

    /// Runs a compiled function for the client in `context`, applying Redis's checks first (scriptPrepareForRun), and
    /// writes its reply.
    func run(
        vm: ScriptVM,
        _ entry: ScriptVM.Entry,
        name: String,
        flags: ScriptFlags,
        isEval: Bool,
        readOnly: Bool,
        numberOfKeys: Int,
        _ context: inout CommandContext
    ) throws(RedisError) {
        let server = self.server
        if !flags.contains(.evalCompatible) {
            if !flags.contains(.noWrites) {
                if server.writesDeniedByDiskError {
                    throw RedisError(
                        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to "
                            + "disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts."
                    )
                }
                if server.aof.isOn && !server.aof.lastWriteOK {
                    throw RedisError(
                        "MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to "
                            + "disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. "
                            + "AOF error: " + server.aof.lastWriteError
                    )
                }
                if readOnly { throw RedisError("ERR Can not execute a script with write flag using *_ro command.") }
                if !server.goodReplicasSuffice { throw RedisError.noReplicas }
            }
            if server.preCommandOutOfMemory && server.memoryLimit.maxMemory > 0
                && flags.isDisjoint(with: [.allowOOM, .noWrites])
            {
                throw RedisError(
                    "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
                )
            }
        }
        self.running = ScriptRun(
            caller: context.session,
            callerArguments: context.arguments,
            name: name,
            isEval: isEval,
            readOnly: readOnly || (!flags.contains(.evalCompatible) && flags.contains(.noWrites)),
            allowOOM: !flags.contains(.evalCompatible) && flags.contains(.allowOOM),
            outOfMemoryAtStart: server.memoryLimit.maxMemory > 0 && server.preCommandOutOfMemory,
            started: server.monotonicMicroseconds(),
            now: context.now
        )
        self.session.database = context.session.database
        let keys = context.arguments[3..<(3 + numberOfKeys)]
        let arguments = context.arguments[(3 + numberOfKeys)...]
        let outcome = vm.run(
            entry,
            label: name,
            keys: keys,
            arguments: arguments,
            callerResp: context.session.protocolVersion == .resp3 ? 3 : 2,
            hook: server.hot.busyReplyThreshold > 0
        )
        self.running = nil
        let reply = vm.reply
        if outcome != .ok {
            if outcome == .error {
                server.stats.errorReplies += 1
                server.stats.errorsByCode[Self.errorCode(reply), default: 0] += 1
            }
            if context.session.lastCommandID >= 0 {
                server.table.stats[context.session.lastCommandID].failedCalls += 1
            }
        }
        context.out.buffer.writeBytes(reply)
    }

    /// The code of an error reply ("-CODE message"), as Redis's afterErrorReply finds it: before the first space in
    /// the first 32 bytes, else ERR.
    static func errorCode(_ reply: UnsafeRawBufferPointer) -> String {
        let head = reply.prefix(32)
        guard let space = head.firstIndex(of: UInt8(ascii: " ")), space > 1 else { return "ERR" }
        return String(decoding: reply[1..<space], as: UTF8.self)
    }

    // MARK: - ScriptVMHost

    func call(_ arguments: UnsafeBufferPointer<swiftlet_bytes>, resp: Int, reply: inout ScriptReplySink) {
        let server = self.server
        guard let run = self.running else {
            reply.write("-ERR redis.call/pcall can only be called inside a script invocation\r\n")
            return
        }
        var argv: [ByteBuffer] = []
        swap(&argv, &self.callArguments)
        defer { swap(&argv, &self.callArguments) }
        while argv.count > arguments.count { self.spareArguments.append(argv.removeLast()) }
        while argv.count < arguments.count { argv.append(self.spareArguments.popLast() ?? ByteBuffer()) }
        for i in 0..<arguments.count {
            argv[i].clear()
            argv[i].writeBytes(arguments[i].rawBytes)
        }
        guard let id = self.allowedCommand(argv, run, reply: &reply) else { return }

        self.session.protocolVersion = resp == 3 ? .resp3 : .resp2
        var inner = CommandContext(session: self.session, server: server, out: ByteBuffer())
        swap(&inner.out.buffer, &self.callReply)
        swap(&inner.arguments, &argv)
        inner.out.buffer.clear()
        inner.now = run.now
        server.writeStream.commandsSuppressed = run.replication & 1 == 0
        server.run(id, &inner)
        server.writeStream.commandsSuppressed = false
        inner.out.buffer.withUnsafeReadableBytes { reply.write($0) }
        swap(&inner.out.buffer, &self.callReply)
        swap(&inner.arguments, &argv)
        // A large argument or reply is not kept for the next call: its memory would stay counted in used_memory.
        for i in argv.indices where argv[i].capacity > Self.keptCallBytes { argv[i] = ByteBuffer() }
        if self.callReply.capacity > Self.keptCallBytes { self.callReply = ByteBuffer() }
    }

    /// Above this capacity an argument or reply buffer of redis.call is dropped after the call rather than kept.
    static let keptCallBytes = 16 * 1024

    /// Redis's scriptCall checks: the command's id when the script may run it, else nil with the refusal written to
    /// `reply` (and counted).
    private func allowedCommand(_ argv: [ByteBuffer], _ run: ScriptRun, reply: inout ScriptReplySink) -> Int? {
        let server = self.server
        let table = server.table
        func refuse(_ text: String, id: Int?) -> Int? {
            // A refusal is an error reply of the script's command: counted (afterErrorReply), and the command's
            // rejected calls too.
            let line = text.hasPrefix("-") ? text : "-ERR " + text
            server.stats.errorReplies += 1
            let code = line.dropFirst().prefix { $0 != " " }
            server.stats.errorsByCode[String(code), default: 0] += 1
            if let id { table.stats[id].rejectedCalls += 1 }
            reply.write(line + "\r\n")
            return nil
        }
        guard let id = try? table.resolve(argv) else {
            var unknown = table.lookup(argv[0]) == nil
            if !unknown, let spec = table.lookup(argv[0]), !spec.subcommands.isEmpty, argv.count >= 2,
                table.subcommand(of: spec, argv[1]) == nil
            {
                unknown = true
            }
            // A known command refused for its arity counts a rejected call, as in Redis's scriptCall.
            var known: Int? = nil
            if !unknown, let spec = table.lookup(argv[0]) {
                known = argv.count >= 2 && !spec.subcommands.isEmpty ? table.subcommand(of: spec, argv[1])?.id : spec.id
            }
            return refuse(
                unknown
                    ? "Unknown Redis command called from script"
                    : "Wrong number of args calling Redis command from script",
                id: known
            )
        }
        let flags = table.commands[id].flags
        if flags.contains(.noscript) {
            return refuse("This Redis command is not allowed from script", id: id)
        }
        if run.readOnly && !flags.isDisjoint(with: [.write, .mayReplicate]) {
            return refuse("Write commands are not allowed from read-only scripts.", id: id)
        }
        if flags.contains(.write) && server.masterLink != nil && !run.caller.isMaster
            && server.config.bool("replica-read-only")
        {
            return refuse("-" + RedisError.readOnlyReplica.message, id: id)
        }
        if flags.contains(.write) && !run.wroteSomething {
            if server.writesDeniedByDiskError {
                return refuse(RedisError.misconf.message, id: id)
            }
            if server.aof.isOn && !server.aof.lastWriteOK {
                return refuse(RedisError.aofWriteFailed(server.aof.lastWriteError).message, id: id)
            }
            if !server.goodReplicasSuffice {
                return refuse("-" + RedisError.noReplicas.message, id: id)
            }
        }
        if !run.allowOOM && server.memoryLimit.maxMemory > 0 && !run.wroteSomething
            && run.outOfMemoryAtStart && flags.contains(.denyOOM)
        {
            return refuse("-" + RedisError.outOfMemory.message, id: id)
        }
        if flags.contains(.write) { run.wroteSomething = true }
        return id
    }

    func aclCheck(_ arguments: UnsafeBufferPointer<swiftlet_bytes>) -> Int32 {
        // Without ACL users every command is allowed to the default user; an unknown command is an error.
        let argv = arguments.map { ByteBuffer(bytes: $0.rawBytes) }
        return (try? self.server.table.resolve(argv)) == nil && self.server.table.lookup(argv[0]) == nil ? -1 : 1
    }

    func setReplication(_ flags: Int) {
        self.running?.replication = flags
    }

    func log(level: Int, _ text: String) {
        let verbosity: Int
        switch self.server.config.string("loglevel") {
        case "debug": verbosity = 0
        case "verbose": verbosity = 1
        case "notice": verbosity = 2
        default: verbosity = 3
        }
        guard level >= verbosity else { return }
        self.server.host?.log(warning: level == 3, text)
    }

    func interrupt() -> Bool {
        guard let run = self.running else { return false }
        // Milliseconds compared as such: the threshold may be as large as LONG_MAX.
        let threshold = self.server.hot.busyReplyThreshold
        if !run.busy && threshold > 0 && (self.server.monotonicMicroseconds() - run.started) / 1000 >= threshold {
            run.busy = true
            self.server.host?.log(
                warning: true,
                "Slow script detected: still in execution after \(threshold) milliseconds. You can try "
                    + "killing the script using the \(run.isEval ? "SCRIPT KILL" : "FUNCTION KILL") command. Script name "
                    + "is: \(run.name)."
            )
        }
        if run.busy { self.server.processEventsWhileBusy() }
        return (self.running?.killRequested ?? false) || self.server.shutdownRequested
    }
}

/// Redis's sdssplitargs for a shebang line: words separated by spaces, "double" and 'single' quotes grouping.
func splitArguments(_ line: [UInt8]) -> [String] {
    var parts: [String] = []
    var i = 0
    while i < line.count {
        while i < line.count && (line[i] == 32 || line[i] == 9 || line[i] == 13) { i += 1 }
        if i >= line.count { break }
        var word: [UInt8] = []
        var quote: UInt8? = nil
        while i < line.count {
            let c = line[i]
            if let q = quote {
                if c == q {
                    quote = nil
                } else {
                    word.append(c)
                }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == 32 || c == 9 || c == 13 {
                break
            } else {
                word.append(c)
            }
            i += 1
        }
        parts.append(String(decoding: word, as: UTF8.self))
    }
    return parts
}
