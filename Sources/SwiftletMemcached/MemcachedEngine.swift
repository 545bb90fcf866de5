public import SwiftletMemcachedStore

/// The memcached side of a Swiftlet process: the store, the settings, the clock and the counters that every
/// connection shares, owned by one event loop (as the Redis side's `ServerState`).
///
/// The transport makes one `MemcachedConnection` per client; it feeds it bytes and sends what it answers. The engine
/// knows nothing of sockets: the transport reports connections (`connectionOpened`/`connectionClosed`) and gives
/// it the time (`tick`).
public final class MemcachedEngine {
    public let store: MemcachedStore
    public var settings: MemcachedSettings
    public var stats = MemcachedStatistics()

    /// The Unix time memcached counts from: two seconds and `ITEM_UPDATE_INTERVAL` (60) before the real start, so that
    /// `current_time` is never 0 (memcached's `process_started`).
    public private(set) var processStarted: Int64
    private var monotonicStart: Int64
    /// What the process reports as its id (`stats` pid).
    public var processID: Int = 0
    /// Called by `shutdown` (with `-A`): the transport stops the process.
    public var onShutdown: ((_ graceful: Bool) -> Void)?
    /// The connections, for `stats conns`.
    var connections: [Int: MemcachedConnection] = [:]
    private var nextConnectionID = 0
    /// The listening addresses the transport reports, for `stats conns` and `stats settings`.
    public var listeners: [String] = []
    /// -Y: the users and passwords of ASCII authentication (nil: every connection is authenticated).
    public internal(set) var authFile: AsciiAuthFile? = nil

    /// Reads the -Y file again (memcached's `authfile_load` on SIGHUP; swiftlet-memcached calls it on SIGHUP on Linux);
    /// a file that cannot be read keeps the entries loaded before.
    public func reloadAuthFile() {
        guard let path = self.settings.authFile, case .success(let file) = AsciiAuthFile.load(path: path) else {
            return
        }
        self.authFile = file
    }

    /// `stats`' "libevent": the transport serving the connections ("swiftnio", "epoll").
    public var transportName = "swiftnio"
    /// `watch`: the watching connections, the kinds of events any of them wants, the last log line's id, counters.
    var watchers: [MemcachedConnection] = []
    var watchedFlags: WatchFlags = []
    var logGID: UInt64 = 0
    var watchStatistics = WatchStatistics()
    /// The client whose request runs now (the `cfd` of log lines).
    var currentConnectionID = 0
    /// `stats sizes_enable`: the first CAS id counted in `stats sizes` (nil: disabled).
    public var sizesSince: UInt64? = nil
    /// `stats detail on`: per-prefix counts of gets, hits, sets and deletes.
    public var detailEnabled = false
    var prefixStatistics: [[UInt8]: PrefixStatistics] = [:]

    public static let version = "1.6.18"
    static let realtimeMaxDelta: Int64 = 60 * 60 * 24 * 30

    /// - Parameters:
    ///   - unixTime: the wall clock now, in seconds.
    ///   - monotonicTime: a monotonic clock now, in seconds (the store's time follows it, as memcached's does).
    public init(settings: MemcachedSettings, unixTime: Int64, monotonicTime: Int64) {
        self.settings = settings
        self.store = MemcachedStore(settings: settings.store)
        self.processStarted = unixTime - 62
        self.monotonicStart = monotonicTime - 62
        self.store.now = 62
        self.detailEnabled = settings.extras.detailEnabled
        // -Y: the executables load the file first and exit with memcached's message when it cannot be read; one that
        // went away since lets nobody in.
        if let path = settings.authFile {
            self.authFile = (try? AsciiAuthFile.load(path: path).get()) ?? AsciiAuthFile(entries: [])
        }
        self.store.settings.hashExpansion = settings.extras.hashExpansion
    }

    /// memcached's `current_time`.
    public var now: UInt32 { self.store.now }

    /// Moves the clock (the transport calls it at least once a second) and runs the store's background work.
    public func tick(monotonicTime: Int64, maintain: Bool = true) {
        self.store.now = UInt32(truncatingIfNeeded: max(monotonicTime - self.monotonicStart, 1))
        if maintain {
            self.store.maintain()
            self.closeIdleConnections()
        }
    }

    /// memcached's `realtime` after `EXPTIME_TO_POSITIVE_TIME`: 0 never expires, up to 30 days is relative, more is a
    /// Unix time (one at or before the start is already past), a negative time is already past.
    public func expiry(_ exptime: Int32) -> UInt32 {
        let time: Int64 = exptime < 0 ? Self.realtimeMaxDelta + 1 : Int64(exptime)
        if time == 0 { return 0 }
        if time > Self.realtimeMaxDelta {
            if time <= self.processStarted { return 1 }
            return UInt32(truncatingIfNeeded: time - self.processStarted)
        }
        return UInt32(truncatingIfNeeded: time + Int64(self.now))
    }

    // MARK: - Connections

    /// The descriptors memcached keeps for its threads (5 per worker), which `-c` counts (`reserved_fds`).
    public var reservedDescriptors: Int { 5 * self.settings.threads }

    /// Whether a new client may connect. memcached refuses a client whose descriptor number reaches `-c` less one
    /// ("ERROR Too many open connections", then close); the number here is what that descriptor would be: standard
    /// streams, reserved descriptors, listeners, clients.
    public var acceptsConnections: Bool {
        3 + self.reservedDescriptors + self.listeners.count + self.stats.currentConnections
            < self.settings.maxConnections - 1
    }

    public func connectionOpened(_ connection: MemcachedConnection) {
        self.nextConnectionID += 1
        connection.id = self.nextConnectionID + 1000
        self.connections[connection.id] = connection
        self.stats.currentConnections += 1
        self.stats.totalConnections += 1
        self.stats.connectionStructures = max(
            self.stats.connectionStructures,
            self.connections.count + self.listeners.count
        )
        self.logConnection(connection, closed: nil)
    }

    public func connectionClosed(_ connection: MemcachedConnection) {
        connection.releasePending()
        guard self.connections.removeValue(forKey: connection.id) != nil else { return }
        self.stats.currentConnections -= 1
        self.unwatch(connection)
        self.logConnection(connection, closed: connection.closeReason)
    }

    private func closeIdleConnections() {
        let timeout = self.settings.idleTimeout
        guard timeout > 0 else { return }
        for connection in self.connections.values
        where !connection.isUDP && connection.watch == nil && !connection.isInsideValue && !connection.closeRequested
            && Int(self.now &- connection.lastCommandTime) > timeout
        {
            self.stats.idleKicks += 1
            connection.requestClose()
        }
    }
}

struct PrefixStatistics {
    var gets = 0
    var hits = 0
    var sets = 0
    var deletes = 0
}

extension MemcachedEngine {
    enum PrefixEvent {
        case get(hit: Bool)
        case set, delete
    }

    /// Counts a key's prefix (up to the delimiter, `-D`) while `stats detail on`, as memcached's `stats_prefix_record_*`.
    func recordPrefix(_ key: UnsafeRawBufferPointer, _ event: PrefixEvent) {
        guard self.detailEnabled, let end = key.firstIndex(of: self.settings.prefixDelimiter) else { return }
        let prefix = Array(key[0..<end])
        var s = self.prefixStatistics[prefix] ?? PrefixStatistics()
        switch event {
        case .get(let hit):
            s.gets += 1
            if hit { s.hits += 1 }
        case .set: s.sets += 1
        case .delete: s.deletes += 1
        }
        self.prefixStatistics[prefix] = s
    }
}

/// The counters of memcached's `stats` that are not the store's.
public struct MemcachedStatistics: Sendable {
    public var currentConnections = 0
    public var totalConnections = 0
    public var rejectedConnections = 0
    public var connectionStructures = 0
    public var getCommands = 0
    public var flushCommands = 0
    public var touchCommands = 0
    public var metaCommands = 0
    public var getMisses = 0
    public var deleteMisses = 0
    public var incrMisses = 0
    public var decrMisses = 0
    public var touchMisses = 0
    public var storeTooLarge = 0
    public var storeNoMemory = 0
    public var authCommands = 0
    public var authErrors = 0
    public var idleKicks = 0
    public var bytesRead = 0
    public var bytesWritten = 0
    public var connectionYields = 0
    /// Hits per LRU (`hits_to_hot` ... in `stats items`): index `class * 4 + segment`.
    public var lruHits: [Int] = Array(repeating: 0, count: 64 * 4)

    public init() {}
}
