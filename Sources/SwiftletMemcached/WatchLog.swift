public import NIOCore
import SwiftletMemcachedStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// memcached's log streams (`watch`): a connection that sends `watch [fetchers] [mutations] [evictions] [connevents]
/// [sysevents] ...` gets "OK" and from then on one line per event of those kinds, in memcached 1.6.18's format
/// ("ts=SECONDS.MICROS gid=N type=item_get key=... status=found clsid=1 cfd=1002 size=3\n"), and reads nothing more
/// (what followed `watch` in the same read is dropped, as memcached drops it).
///
/// Each watcher has a buffer of `-o watcher_logbuf_size` bytes (memcached's bipbuffer): a line that does not fit is
/// dropped and counted, and a "skipped=N" line goes out before the next line that fits. The transport empties the
/// buffers into the sockets (`watchReady`, `takeWatchOutput`); a watcher whose client does not read fills its buffer
/// and skips.
/// memcached's logger thread and per-worker buffers become one loop writing straight into the watchers' buffers, so
/// `log_worker_dropped` stays 0.
public struct WatchFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let rawCommands = WatchFlags(rawValue: 1 << 0)
    public static let evictions = WatchFlags(rawValue: 1 << 1)
    public static let fetchers = WatchFlags(rawValue: 1 << 2)
    public static let mutations = WatchFlags(rawValue: 1 << 3)
    public static let systemEvents = WatchFlags(rawValue: 1 << 4)
    public static let connectionEvents = WatchFlags(rawValue: 1 << 5)
    public static let proxyRequests = WatchFlags(rawValue: 1 << 6)
    public static let proxyEvents = WatchFlags(rawValue: 1 << 7)
    public static let proxyUser = WatchFlags(rawValue: 1 << 8)

    /// The names `watch` takes, as memcached spells them.
    static let names: [(String, WatchFlags)] = [
        ("rawcmds", .rawCommands), ("evictions", .evictions), ("fetchers", .fetchers), ("mutations", .mutations),
        ("sysevents", .systemEvents), ("connevents", .connectionEvents), ("proxyreqs", .proxyRequests),
        ("proxyevents", .proxyEvents), ("proxyuser", .proxyUser),
    ]
}

/// Why a connection closed, as `watch connevents` reports it (memcached's `close_reasons`).
public enum CloseReason: Int, Sendable {
    case error = 0
    case normal, idleTimeout, shutdown

    var text: String {
        switch self {
        case .error: return "error"
        case .normal: return "normal"
        case .idleTimeout: return "idle_timeout"
        case .shutdown: return "shutdown"
        }
    }
}

/// The log counters of `stats` (`log_*`).
struct WatchStatistics {
    var workerWritten = 0
    var watcherSkipped = 0
    var watcherSent = 0
}

/// A watcher's state on its connection.
struct WatchState {
    var flags: WatchFlags
    /// Lines logged before the watcher started are not its (memcached's `min_gid`).
    var minimumGID: UInt64
    var skipped = 0
    var buffer = ByteBuffer()
}

extension MemcachedEngine {
    /// memcached's `WATCHER_LIMIT`.
    static let watcherLimit = 20

    /// `watch ...`: the connection becomes a watcher (memcached's `process_watch_command`).
    func watch(_ connection: MemcachedConnection, flags: WatchFlags) -> Bool {
        guard self.watchers.count < Self.watcherLimit else { return false }
        connection.watch = WatchState(flags: flags, minimumGID: self.logGID + 1)
        self.watchers.append(connection)
        self.updateWatchHooks()
        return true
    }

    /// A watcher closed.
    func unwatch(_ connection: MemcachedConnection) {
        guard connection.watch != nil else { return }
        connection.watch = nil
        self.watchers.removeAll { $0 === connection }
        self.updateWatchHooks()
    }

    /// Sets the store's hooks for the kinds of events some watcher wants, and clears the others (no cost then).
    func updateWatchHooks() {
        var wanted: WatchFlags = []
        for watcher in self.watchers { wanted.formUnion(watcher.watch?.flags ?? []) }
        self.watchedFlags = wanted
        // The hooks live on the store and reach it through the engine (unowned): no cycle through the store.
        let store = self.store
        if wanted.contains(.fetchers) {
            store.onLookup = { [unowned self] key, status, item in
                self.log(.fetchers) {
                    let size = item?.valueLength ?? 0
                    let classID = item.map { self.store.lruClass(of: $0) } ?? 0
                    return "type=item_get key=\(Self.uriEncoded(key)) status=\(Self.lookupText(status)) "
                        + "clsid=\(classID) cfd=\(self.currentConnectionID) size=\(size)"
                }
            }
        } else {
            store.onLookup = nil
        }
        if wanted.contains(.evictions) {
            store.onEviction = { [unowned self] item in
                self.log(.evictions) {
                    let now = self.now
                    let ttl = item.expiry > 0 ? Int64(item.expiry) - Int64(now) : -1
                    return "type=eviction key=\(Self.uriEncoded(item.key)) "
                        + "fetch=\(item.flags.contains(.fetched) ? "yes" : "no") ttl=\(ttl) "
                        + "la=\(Int32(bitPattern: now &- item.lastAccess)) clsid=\(self.store.lruClass(of: item)) "
                        + "size=\(item.valueLength)"
                }
            }
        } else {
            store.onEviction = nil
        }
        if wanted.contains(.systemEvents) {
            store.onSlabMove = { [unowned self] source, destination in
                self.log(.systemEvents) { "type=slab_move src=\(source) dst=\(destination)" }
            }
        } else {
            store.onSlabMove = nil
        }
    }

    static func lookupText(_ status: MemcachedStore.LookupStatus) -> String {
        switch status {
        case .notFound: return "not_found"
        case .found: return "found"
        case .flushed: return "flushed"
        case .expired: return "expired"
        }
    }

    /// memcached's `uriencode` of a key: unreserved characters as they are, every other byte as %XX.
    static func uriEncoded(_ key: UnsafeRawBufferPointer) -> String {
        var text = ""
        text.reserveCapacity(key.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in key {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                text.unicodeScalars.append("%")
                text.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                text.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 15)]))
            }
        }
        return text
    }

    /// Logs one event to the watchers that want its kind: "ts=... gid=... " and `line()`, built only when one does.
    func log(_ kind: WatchFlags, _ line: () -> String) {
        guard self.watchedFlags.contains(kind) else { return }
        self.logGID += 1
        let gid = self.logGID
        var now = timeval()
        gettimeofday(&now, nil)
        let text = "ts=\(now.tv_sec).\(now.tv_usec) gid=\(gid) \(line())\n"
        self.watchStatistics.workerWritten += 1
        let limit = self.settings.watcherLogBufferSize
        for watcher in self.watchers {
            guard var state = watcher.watch, state.flags.contains(kind), gid >= state.minimumGID else { continue }
            // As memcached's bipbuffer: the line and room for a "skipped" line must fit beside what the socket has
            // not taken yet; when it does not, the buffer goes to the socket first (memcached's logger polls the
            // watcher), and the line is dropped only if it still does not fit.
            let needed = text.utf8.count + 128
            if state.buffer.readableBytes + watcher.watchBacklog + needed > limit {
                watcher.watchFlushNow?()
                guard let flushed = watcher.watch else { continue }
                state = flushed
            }
            if state.buffer.readableBytes + watcher.watchBacklog + needed > limit {
                state.skipped += 1
                self.watchStatistics.watcherSkipped += 1
                watcher.watch = state
                continue
            }
            if state.skipped > 0 {
                state.buffer.writeString("skipped=\(state.skipped)\n")
                state.skipped = 0
            }
            state.buffer.writeString(text)
            self.watchStatistics.watcherSent += 1
            watcher.watch = state
            watcher.watchReady?()
        }
    }

    /// `watch mutations`: a store command's outcome (memcached's `do_store_item` log line).
    func logStore(_ uploaded: Item, _ outcome: MemcachedStore.StoreOutcome, _ mode: MemcachedStore.StoreMode) {
        guard self.watchedFlags.contains(.mutations) else { return }
        // A stored append or prepend is logged as the combined item that took the key, as memcached logs it.
        var item = uploaded
        if outcome == .stored && (mode == .append || mode == .prepend),
            let combined = self.store.peek(uploaded.key)
        {
            item = combined
        }
        let status: String
        switch outcome {
        case .stored: status = "stored"
        case .exists: status = "exists"
        case .notFound: status = "not_found"
        case .notStored: status = "not_stored"
        }
        let ttl = item.expiry != 0 ? item.expiry &- self.now : 0
        let classID = self.store.lruClass(of: item)
        self.log(.mutations) {
            "type=item_store key=\(Self.uriEncoded(item.key)) status=\(status) cmd=\(Self.commandText(mode)) "
                + "ttl=\(ttl) clsid=\(classID) cfd=\(self.currentConnectionID) size=\(item.valueLength)"
        }
    }

    /// `watch mutations`: a store refused before its value was read (too large, out of memory).
    func logStoreFailure(_ key: UnsafeRawBufferPointer, tooLarge: Bool, _ mode: MemcachedStore.StoreMode) {
        guard self.watchedFlags.contains(.mutations) else { return }
        self.log(.mutations) {
            "type=item_store key=\(Self.uriEncoded(key)) status=\(tooLarge ? "too_large" : "no_memory") "
                + "cmd=\(Self.commandText(mode)) ttl=0 clsid=0 cfd=\(self.currentConnectionID) size=0"
        }
    }

    static func commandText(_ mode: MemcachedStore.StoreMode) -> String {
        switch mode {
        case .add: return "add"
        case .set: return "set"
        case .replace: return "replace"
        case .append: return "append"
        case .prepend: return "prepend"
        case .cas: return "cas"
        }
    }

    /// `watch connevents`: a client connected ("conn_new") or closed ("conn_close", with its reason).
    func logConnection(_ connection: MemcachedConnection, closed reason: CloseReason?) {
        guard self.watchedFlags.contains(.connectionEvents), !connection.isUDP else { return }
        let (ip, port, transport) = Self.endpoint(connection.peerAddress)
        self.log(.connectionEvents) {
            if let reason {
                return "type=conn_close rip=\(ip) rport=\(port) transport=\(transport) reason=\(reason.text) "
                    + "cfd=\(connection.id)"
            }
            return "type=conn_new rip=\(ip) rport=\(port) transport=\(transport) cfd=\(connection.id)"
        }
    }

    /// "tcp:127.0.0.1:5000" → ("127.0.0.1", 5000, "tcp"); "tcp6:[::1]:5000" → ("::1", 5000, "tcp"); a Unix socket's
    /// client → ("unix", 0, "local").
    static func endpoint(_ address: String) -> (String, Int, String) {
        if address.hasPrefix("unix:") || address.isEmpty { return ("unix", 0, "local") }
        guard let colon = address.firstIndex(of: ":"), let last = address.lastIndex(of: ":"), colon < last else {
            return ("", 0, "tcp")
        }
        var ip = String(address[address.index(after: colon)..<last])
        if ip.hasPrefix("[") && ip.hasSuffix("]") { ip = String(ip.dropFirst().dropLast()) }
        return (ip, Int(address[address.index(after: last)...]) ?? 0, "tcp")
    }

    /// The watcher's lines not yet handed to the transport, which sends them (and may give some back: `unsent`).
    public func takeWatchOutput(_ connection: MemcachedConnection) -> ByteBuffer? {
        guard var state = connection.watch, state.buffer.readableBytes > 0 else { return nil }
        let out = state.buffer
        state.buffer = ByteBuffer()
        connection.watch = state
        return out
    }
}
