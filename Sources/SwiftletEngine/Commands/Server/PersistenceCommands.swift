import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The RDB family: SAVE, BGSAVE and DEBUG RELOAD (LASTSAVE is in ``ServerCommands``; the work is in
/// `ServerState+Persistence.swift`).
public enum PersistenceCommands {
    // MARK: - SAVE

    /// SAVE — O(N) where N is the total number of keys in all databases
    static func save(_ context: inout CommandContext) throws(RedisError) {
        let server = context.server
        if server.persistence.bgsaveInProgress { throw RedisError.backgroundSaveInProgress }
        server.persistence.saves += 1
        guard server.saveNow() else { throw RedisError.bare }
        context.out.writeOK()
    }

    // MARK: - BGSAVE

    /// BGSAVE [SCHEDULE] — O(1) here; the snapshot of all keys is written in the background
    static func bgsave(_ context: inout CommandContext) throws(RedisError) {
        var schedule = false
        if context.count > 1 {
            guard context.count == 2, context.argument(1, is: "schedule") else { throw RedisError.syntax }
            schedule = true
        }
        let server = context.server
        if server.persistence.bgsaveInProgress { throw RedisError.backgroundSaveInProgress }
        if server.persistence.rewriteInProgress {
            guard schedule else {
                throw RedisError.bgsaveWhileRewriting
            }
            server.persistence.bgsaveScheduled = true
            context.out.writeSimpleString("Background saving scheduled")
            return
        }
        if server.commandDepth > 1 {
            // Inside EXEC (Redis's `server.in_exec`): the save starts at the next tick.
            server.persistence.bgsaveScheduled = true
            context.out.writeSimpleString("Background saving scheduled")
            return
        }
        guard server.startBackgroundSave() else { throw RedisError.bare }
        context.out.writeSimpleString("Background saving started")
    }

    // MARK: - BGREWRITEAOF

    /// BGREWRITEAOF — O(1) here; the new base is written in the background
    static func bgrewriteaof(_ context: inout CommandContext) throws(RedisError) {
        switch context.server.requestAppendOnlyRewrite() {
        case .started: context.out.writeSimpleString("Background append only file rewriting started")
        case .scheduled: context.out.writeSimpleString("Background append only file rewriting scheduled")
        case .alreadyRunning: throw RedisError.rewriteInProgress
        case .failed:
            throw RedisError.rewriteFailed
        }
    }

    // MARK: - DEBUG RELOAD

    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE] — O(N): saves the dump, empties the keyspace and loads it back
    static func debugReload(_ context: inout CommandContext) throws(RedisError) {
        var flush = true
        var save = true
        for i in 2..<max(2, context.count) {
            if context.argument(i, is: "merge") {
                continue
            } else if context.argument(i, is: "noflush") {
                flush = false
            } else if context.argument(i, is: "nosave") {
                save = false
            } else {
                throw RedisError.reloadOptions
            }
        }
        let server = context.server
        if save && !server.saveNow() { throw RedisError.bare }
        guard server.reloadDataFromDisk(flush: flush) else { throw RedisError.reloadFailed }
        context.out.writeOK()
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("save", arity: 1, flags: [.admin, .noscript, .noAsyncLoading, .noMulti], group: "server", run: save),
        .init("bgsave", arity: -1, flags: [.admin, .noscript, .noAsyncLoading], group: "server", run: bgsave),
        .init(
            "bgrewriteaof",
            arity: 1,
            flags: [.admin, .noscript, .noAsyncLoading],
            group: "server",
            run: bgrewriteaof
        ),
    ]
}
