public import SwiftletMemcachedStore

/// Everything memcached's command line sets (memcached's `settings`): the store's part and the server's.
///
/// `MemcachedOptions.parse` fills it from memcached's own flags, so `swiftlet-memcached` takes the same command
/// lines as `memcached`; `stats settings` reports it.
public struct MemcachedSettings: Sendable {
    public var store = MemcachedStoreSettings()

    /// `-p` (0: no TCP), `-U` (UDP: not served, see docs/MEMCACHED.md), `-l` (comma-separated; nil: every interface).
    public var port = 11211
    public var udpPort = 0
    public var listen: [String] = []
    /// `-s`, `-a`: a Unix socket and its permissions (octal).
    public var socketPath: String? = nil
    public var socketMode = 0o700
    /// `-c`
    public var maxConnections = 1024
    /// `-t`: memcached's worker threads. One event loop serves every connection here; the number is reported.
    public var threads = 4
    /// `-v`, `-vv`, `-vvv`
    public var verbosity = 0
    /// `-A`: the `shutdown` command is allowed.
    public var shutdownCommand = false
    /// `-F`: `flush_all` refused.
    public var flushEnabled = true
    /// `-X`: `stats cachedump` and `lru_crawler metadump` refused.
    public var dumpEnabled = true
    /// `-b`
    public var backlog = 1024
    /// `-B`: auto, ascii or binary.
    public var bindingProtocol = BindingProtocol.auto
    /// `-R`: requests served per read event before yielding.
    public var requestsPerEvent = 20
    /// `-D`: the stats prefix delimiter.
    public var prefixDelimiter: UInt8 = UInt8(ascii: ":")
    /// `-o idle_timeout`: seconds before an idle connection is closed (0: never).
    public var idleTimeout = 0
    /// `-o tail_repair_time`
    public var tailRepairTime = 0
    /// `-o lru_crawler_sleep`, `lru_crawler_tocrawl`
    public var crawlerSleep = 100
    public var crawlerToCrawl = 0
    /// `-o track_sizes` (`stats sizes`)
    public var trackSizes = false
    /// `-o watcher_logbuf_size`, `worker_logbuf_size`, `read_buf_mem_limit` (reported only)
    public var watcherLogBufferSize = 256 * 1024
    public var workerLogBufferSize = 64 * 1024
    public var readBufferMemoryLimit = 0
    /// `-d`, `-u`, `-P`, `-r`, `-k`, `-L`: process options handled by the executable.
    public var daemonize = false
    public var user: String? = nil
    public var pidFile: String? = nil
    public var maximizeCoreFile = false
    public var lockMemory = false
    public var largePages = false
    /// `-S`: SASL (not supported: refused at start).
    public var sasl = false
    /// `-Y`: ASCII authentication tokens file.
    public var authFile: String? = nil

    public enum BindingProtocol: String, Sendable {
        case auto = "auto-negotiate"
        case ascii
        case binary
    }

    /// What `MemcachedOptions` read that has no field above (`inter`, `hash_algorithm`, ... for `stats settings`).
    public var extras = MemcachedOptions.Extras()

    public init() {}

    /// Why Swiftlet cannot start with these settings (a feature memcached has and Swiftlet does not yet), or nil.
    /// Refused rather than ignored: a user who asked for a feature must not get a server without it.
    public var unsupportedReason: String? {
        if let file = self.extras.memoryFile {
            return "the restartable cache (-e \(file)) is not supported by Swiftlet"
        }
        return nil
    }

    /// `-m` in bytes.
    public var maxBytes: Int {
        get { self.store.memoryLimit }
        set { self.store.memoryLimit = newValue }
    }
}
