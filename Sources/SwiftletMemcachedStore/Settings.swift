/// What the memcached store is told at start (memcached's `settings` that concern memory and items).
public struct MemcachedStoreSettings: Sendable {
    /// memcached's `MAX_NUMBER_OF_SLAB_CLASSES` (63 + the global pool).
    public static let maxClasses = 64

    /// `-m`: bytes of pages at most (0: no limit).
    public var memoryLimit = 64 * 1024 * 1024
    /// `-f`
    public var growthFactor = 1.25
    /// `-n`: the smallest chunk's room beyond the header.
    public var minimumChunk = 48
    /// `slab_page_size`
    public var pageSize = 1024 * 1024
    /// `-o slab_chunk_max`: the largest chunk; larger items are chained across chunks.
    public var chunkMax = 512 * 1024
    /// `-I`: the largest item, by memcached's size formula.
    public var itemSizeMax = 1024 * 1024
    /// `-o slab_sizes`: explicit class sizes.
    public var classSizes: [Int]? = nil
    /// Not `-M`: evict from the LRU tail when a class needs memory.
    public var evictToFree = true
    /// Not `-C`: items carry CAS unique ids (the size formula counts 8 bytes for them).
    public var useCAS = true
    /// Not `-o no_modern`/`no_lru_segmented`: HOT/WARM/COLD per class; else one LRU per class.
    public var segmentedLRU = true
    public var hotLRUPercent = 20
    public var warmLRUPercent = 40
    public var hotMaxFactor = 0.2
    public var warmMaxFactor = 2.0
    /// `-o temporary_ttl`, with `temp_lru`: items with a TTL at most this live in their own LRU.
    public var temporaryLRU = false
    public var temporaryTTL: UInt32 = 61
    /// `-o slab_reassign` (on by default in 1.6), `slab_automove` (1).
    public var slabReassign = true
    public var slabAutomove = 1
    public var slabAutomoveRatio = 0.8
    public var slabAutomoveWindow = 30
    /// `-o lru_crawler` (on), `lru_maintainer` (on).
    public var lruCrawler = true
    public var lruMaintainer = true
    /// `-o hashpower`: the table's initial size, 2^hashpower buckets.
    public var hashPower = 16
    /// Not `-o no_hashexpand`: the table grows past 1.5 items per bucket.
    public var hashExpansion = true

    public init() {}
}
