import Foundation
import NIOCore
import SwiftletConfig
import SwiftletEngine
import SwiftletRESP
import Testing

/// SAVE, BGSAVE (in-process: the snapshot is walked and written within the command), LASTSAVE, MISCONF and
/// DEBUG RELOAD, with `dir` in a private temporary directory.
struct PersistenceCommandsTests {
    static func harness(_ lines: String = "") throws -> (CommandHarness, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-save-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = ConfigStore(workingDirectory: .simulated(dir.path))
        try config.load(configText: lines)
        return (CommandHarness(config: config), dir.path)
    }

    static func info(_ h: CommandHarness) -> [String: String] {
        guard case .bulkString(let b?) = h.run("INFO", "persistence") else { return [:] }
        var out: [String: String] = [:]
        for line in String(buffer: b).split(separator: "\r\n") where line.contains(":") {
            let parts = line.split(separator: ":", maxSplits: 1)
            out[String(parts[0])] = String(parts[1])
        }
        return out
    }

    @Test func saveWritesTheFileAndResetsTheCounter() throws {
        let (h, dir) = try Self.harness()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        h.run("SET", "a", "1")
        h.run("RPUSH", "l", "x", "y")
        // RPUSH counts one change per element, as in Redis.
        #expect(Self.info(h)["rdb_changes_since_last_save"] == "3")
        h.advance(by: 5000)
        #expect(h.run("SAVE") == .ok)
        #expect(FileManager.default.fileExists(atPath: dir + "/dump.rdb"))
        #expect(h.run("LASTSAVE") == .int(h.clock.now / 1000))
        let fields = Self.info(h)
        #expect(fields["rdb_changes_since_last_save"] == "0")
        #expect(fields["rdb_saves"] == "1")
        #expect(h.raw("SAVE", "x") == "-ERR wrong number of arguments for 'save' command\r\n")
    }

    @Test func bgsaveStartsAndCompletes() throws {
        let (h, dir) = try Self.harness()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for i in 0..<500 { h.run("SET", "k\(i)", "v\(i)") }
        #expect(h.raw("BGSAVE") == "+Background saving started\r\n")
        let fields = Self.info(h)
        #expect(fields["rdb_bgsave_in_progress"] == "0")
        #expect(fields["rdb_last_bgsave_status"] == "ok")
        #expect(fields["rdb_changes_since_last_save"] == "0")
        #expect(fields["rdb_last_bgsave_time_sec"] == "0")
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/dump.rdb")[.size] as? Int
        #expect((size ?? 0) > 500 * 6)
        #expect(h.raw("BGSAVE", "SCHEDULE", "x") == "-ERR syntax error\r\n")
        #expect(h.raw("BGSAVE", "now") == "-ERR syntax error\r\n")
    }

    @Test func bgsaveInsideExecIsScheduled() throws {
        let (h, dir) = try Self.harness()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        h.run("MULTI")
        #expect(h.raw("BGSAVE") == "+QUEUED\r\n")
        #expect(h.raw("EXEC") == "*1\r\n+Background saving scheduled\r\n")
        h.run("MULTI")
        #expect(h.raw("SAVE") == "-ERR Command not allowed inside a transaction\r\n")
        h.run("DISCARD")
        // The tick starts the scheduled save.
        h.state.persistenceCron()
        #expect(FileManager.default.fileExists(atPath: dir + "/dump.rdb"))
        #expect(Self.info(h)["rdb_saves"] == "1")
    }

    @Test func failedBackgroundSaveRefusesWritesWithMisconf() throws {
        let (h, dir) = try Self.harness("enable-protected-configs yes\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(h.run("CONFIG", "SET", "dir", dir + "/missing") == .ok)
        #expect(h.raw("BGSAVE") == "+Background saving started\r\n")
        #expect(Self.info(h)["rdb_last_bgsave_status"] == "err")
        let misconf = "-" + RedisError.misconf.message + "\r\n"
        #expect(h.raw("SET", "a", "1") == misconf)
        #expect(h.raw("PING") == misconf)
        #expect(h.raw("GET", "a") == "$-1\r\n")
        #expect(h.run("CONFIG", "SET", "stop-writes-on-bgsave-error", "no") == .ok)
        #expect(h.run("SET", "a", "1") == .ok)
        #expect(h.run("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes") == .ok)
        #expect(h.raw("SET", "a", "1") == misconf)
        // Without save points writes are allowed too, as in Redis.
        #expect(h.run("CONFIG", "SET", "save", "") == .ok)
        #expect(h.run("SET", "a", "2") == .ok)
        #expect(h.run("CONFIG", "SET", "save", "3600 1") == .ok)
        // A successful save clears the error.
        #expect(h.run("CONFIG", "SET", "dir", dir) == .ok)
        #expect(h.run("SAVE") == .ok)
        #expect(h.run("SET", "a", "3") == .ok)
    }

    @Test func debugReloadKeepsTheData() throws {
        let (h, dir) = try Self.harness("enable-debug-command yes\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        h.run("SET", "a", "1")
        h.run("SADD", "s", "x", "y")
        h.run("ZADD", "z", "1.5", "m")
        h.run("PEXPIREAT", "a", "4102444800000")
        #expect(h.run("DEBUG", "RELOAD") == .ok)
        #expect(h.run("GET", "a") == .bulk("1"))
        #expect(h.run("SCARD", "s") == .int(2))
        #expect(h.run("ZSCORE", "z", "m") == .bulk("1.5"))
        #expect(h.run("PEXPIRETIME", "a") == .int(4_102_444_800_000))
        #expect(
            h.raw("DEBUG", "RELOAD", "BOGUS")
                == "-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n"
        )
    }

    @Test func savePointsTriggerFromTheTick() throws {
        let (h, dir) = try Self.harness("save \"10 2\"\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        h.run("SET", "a", "1")
        h.advance(by: 11_000)
        h.state.persistenceCron()
        #expect(Self.info(h)["rdb_saves"] == "0")
        h.run("SET", "b", "1")
        h.state.persistenceCron()
        #expect(Self.info(h)["rdb_saves"] == "1")
        #expect(Self.info(h)["rdb_changes_since_last_save"] == "0")
    }
}
