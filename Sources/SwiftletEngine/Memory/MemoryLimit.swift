internal import CSwiftletSupport
internal import SwiftletConfig
public import SwiftletKeyspace

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The memory limit's settings and counters: `maxmemory` and its companions, read once per CONFIG SET (so that the
/// check before each command reads one field), and what INFO stats reports of evictions.
public struct MemoryLimit: Sendable {
    /// `maxmemory` in bytes; 0: no limit (the check before each command is then one comparison).
    public internal(set) var maxMemory = 0
    public internal(set) var policy = EvictionPolicy.noEviction
    /// `maxmemory-samples`.
    public internal(set) var samples = 5
    /// `maxmemory-eviction-tenacity` as the time one command may spend evicting, in microseconds.
    public internal(set) var timeLimitMicroseconds: Int64 = 500
    /// `lazyfree-lazy-eviction`.
    public internal(set) var lazyEviction = false
    /// `maxmemory-clients` in bytes (a percentage is resolved against `maxmemory`); 0: clients are never evicted.
    public internal(set) var maxClientsMemory = 0

    /// INFO stats: `evicted_keys`, `evicted_clients`, and the time spent above the limit (`total_` and `current_
    /// eviction_exceeded_time`): `exceededSince` is when the current stretch began (monotonic microseconds, 0 when
    /// under the limit).
    public internal(set) var evictedKeys = 0
    public internal(set) var evictedClients = 0
    public internal(set) var totalExceededMicroseconds: Int64 = 0
    public internal(set) var exceededSince: Int64 = 0
    /// Whether the eviction job (Redis's `evictionTimeProc`) is scheduled: a command ran out of time with memory
    /// still to free, and the loop goes on evicting between I/O until it is under the limit.
    var jobScheduled = false

    init() {}

    init(_ config: ConfigStore, keeping old: MemoryLimit) {
        self = old
        self.maxMemory = config.maxMemory
        self.policy = EvictionPolicy(name: config.maxMemoryPolicy) ?? .noEviction
        self.samples = Int(clamping: config.number("maxmemory-samples"))
        self.timeLimitMicroseconds = Self.timeLimit(tenacity: Int(config.number("maxmemory-eviction-tenacity")))
        self.lazyEviction = config.bool("lazyfree-lazy-eviction")
        let clients = config.number("maxmemory-clients")
        // A negative value is a percentage of maxmemory (ConfigTable's memoryOrPercent format).
        self.maxClientsMemory = clients < 0 ? Int(Double(self.maxMemory) * Double(-clients) / 100) : Int(clients)
    }

    /// CONFIG RESETSTAT.
    mutating func resetStatistics() {
        self.evictedKeys = 0
        self.evictedClients = 0
        self.totalExceededMicroseconds = 0
        self.exceededSince = 0
    }

    /// Redis's `evictionTimeLimitUs`: 50 µs per step up to tenacity 10 (the default, 500 µs), then 15% more per
    /// step (about two minutes at 99), and no limit at 100.
    static func timeLimit(tenacity: Int) -> Int64 {
        if tenacity <= 10 { return 50 * Int64(max(0, tenacity)) }
        if tenacity < 100 { return Int64(500.0 * pow(1.15, Double(tenacity - 10))) }
        return Int64.max
    }
}

/// Heap figures from the C allocator and the kernel.
public struct MemoryInfo: Sendable {
    /// Bytes the process's allocations hold (`used_memory`): the counting allocator's figure in swiftlet-server,
    /// glibc's `mallinfo2()` where it is not linked (the embedded library, sanitizer builds).
    public var allocated: Int
    /// Bytes malloc holds from the system.
    public var active: Int
    /// Resident set size of the process.
    public var resident: Int

    public static func current() -> MemoryInfo {
        let allocated = Int(swiftlet_used_memory())
        let active = Int(swiftlet_malloc_active())
        return MemoryInfo(allocated: allocated, active: active, resident: residentSetSize())
    }

    /// `used_memory` alone (one load with the counting allocator).
    @inline(__always)
    public static func usedMemory() -> Int {
        Int(swiftlet_used_memory())
    }

    /// Whether `used_memory` comes from the counting allocator (else from glibc's mallinfo2).
    public static var isCounted: Bool { swiftlet_allocator_counts() != 0 }

    /// Sets up malloc for a server process (one arena, so that mallinfo2's figures see every allocation).
    public static func configureAllocator() {
        swiftlet_malloc_configure()
    }

    /// The process's resident set size in bytes, or 0 where unavailable.
    public static func residentSetSize() -> Int {
        Int(swiftlet_resident_set_size())
    }
}
