import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: Lua scripts run by their body or by its sha1 (Redis's eval.c).
public enum ScriptCommands {
    static let noScript = RedisError("NOSCRIPT No matching script. Please use EVAL.")

    /// EVAL script numkeys [key ...] [arg ...] (and EVALSHA, EVAL_RO, EVALSHA_RO) — depends on the script
    static func eval(_ context: inout CommandContext, bySHA: Bool, readOnly: Bool) throws(RedisError) {
        let server = context.server
        // Fed here, before the script's own commands (EVAL is skip_monitor for the dispatcher).
        if !server.monitors.isEmpty { server.feedMonitors(&context) }
        // A sha of the wrong length is refused before numkeys is read (evalShaCommand); other unknown shas after.
        if bySHA && context.arguments[1].readableBytes != 40 { throw Self.noScript }
        let numberOfKeys = try Self.numberOfKeys(context, else: .notInteger)
        let scripting = server.scripting
        let script: CachedScript
        if bySHA {
            guard
                let digest = context.arguments[1].withUnsafeReadableBytes({ SHA1.Digest(hex: $0) }),
                let cached = scripting.scripts[digest]
            else { throw Self.noScript }
            script = cached
        } else {
            let digest = context.arguments[1].withUnsafeReadableBytes { SHA1.hash($0) }
            if let cached = scripting.scripts[digest] {
                script = cached
            } else {
                script = try scripting.createScript(context.arguments[1].bytes)
            }
        }
        guard let vm = scripting.evalInterpreter() else { throw RedisError("ERR Failed to create the Lua interpreter") }
        try scripting.run(
            vm: vm,
            .reference(script.reference),
            name: script.sha,
            flags: script.flags,
            isEval: true,
            readOnly: readOnly,
            numberOfKeys: numberOfKeys,
            &context
        )
    }

    /// The numkeys argument of EVAL and FCALL, checked against the arguments that follow it.
    static func numberOfKeys(_ context: CommandContext, else error: RedisError) throws(RedisError) -> Int {
        guard let n = context.arguments[2].int64 else { throw error }
        if n > Int64(context.count - 3) { throw RedisError("ERR Number of keys can't be greater than number of args") }
        if n < 0 { throw RedisError("ERR Number of keys can't be negative") }
        return Int(n)
    }

    // MARK: - SCRIPT

    /// SCRIPT LOAD script — O(N) in the script's length
    static func load(_ context: inout CommandContext) throws(RedisError) {
        let script = try context.server.scripting.createScript(context.arguments[2].bytes)
        context.out.writeBulkString(script.sha)
    }

    /// SCRIPT EXISTS sha1 [sha1 ...] — O(N) in the number of shas
    static func exists(_ context: inout CommandContext) throws(RedisError) {
        let scripts = context.server.scripting.scripts
        context.out.writeArrayHeader(context.count - 2)
        for i in 2..<context.count {
            // Digests are read from hex in either case (Redis's dictStrCaseHash), as EVALSHA's are.
            let digest = context.arguments[i].withUnsafeReadableBytes { SHA1.Digest(hex: $0) }
            context.out.writeInteger(digest.flatMap { scripts[$0] } != nil ? 1 : 0)
        }
    }

    /// SCRIPT FLUSH [ASYNC|SYNC] — O(N) in the number of cached scripts
    static func flush(_ context: inout CommandContext) throws(RedisError) {
        if context.count == 3 {
            guard context.argument(2, is: "sync") || context.argument(2, is: "async") else {
                throw RedisError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
            }
        } else if context.count > 3 {
            throw RedisError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
        }
        context.server.scripting.flushScripts()
        context.out.writeOK()
    }

    /// SCRIPT KILL — O(1)
    static func kill(_ context: inout CommandContext) throws(RedisError) {
        try context.server.scripting.kill(eval: true)
        context.out.writeOK()
    }

    /// SCRIPT DEBUG YES|SYNC|NO: Swiftlet has no Lua debugger (LDB); only NO is accepted.
    static func debug(_ context: inout CommandContext) throws(RedisError) {
        if context.argument(2, is: "no") {
            context.out.writeOK()
            return
        }
        if context.argument(2, is: "yes") || context.argument(2, is: "sync") {
            throw RedisError("ERR SCRIPT DEBUG is not supported by Swiftlet: it has no Lua debugger")
        }
        throw RedisError("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    }

    static func help(_ context: inout CommandContext) throws(RedisError) {
        KeyCommands.help(HelpText.script, &context)
    }

    static let evalFlags: CommandFlags = [
        .noscript, .stale, .skipMonitor, .noMandatoryKeys, .movableKeys, .mayReplicate,
    ]

    static let specs: [CommandSpec] = [
        .init("eval", arity: -3, flags: evalFlags, group: "scripting") { c throws(RedisError) in
            try eval(&c, bySHA: false, readOnly: false)
        },
        .init("evalsha", arity: -3, flags: evalFlags, group: "scripting") { c throws(RedisError) in
            try eval(&c, bySHA: true, readOnly: false)
        },
        .init("eval_ro", arity: -3, flags: evalFlags.union(.readonly).subtracting(.mayReplicate), group: "scripting") {
            c throws(RedisError) in try eval(&c, bySHA: false, readOnly: true)
        },
        .init(
            "evalsha_ro",
            arity: -3,
            flags: evalFlags.union(.readonly).subtracting(.mayReplicate),
            group: "scripting"
        ) { c throws(RedisError) in try eval(&c, bySHA: true, readOnly: true) },
        .init(
            "script",
            arity: -2,
            flags: [],
            group: "scripting",
            subcommands: [
                .init("debug", arity: 3, flags: [.noscript], group: "scripting", run: debug),
                .init("exists", arity: -3, flags: [.noscript], group: "scripting", run: exists),
                .init("flush", arity: -2, flags: [.noscript], group: "scripting", run: flush),
                .init("help", arity: 2, flags: [.loading, .stale], group: "scripting", run: help),
                .init("kill", arity: 2, flags: [.noscript, .allowBusy], group: "scripting", run: kill),
                .init("load", arity: 3, flags: [.noscript, .stale], group: "scripting", run: load),
            ]
        ),
    ]
}
