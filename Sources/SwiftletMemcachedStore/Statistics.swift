/// memcached's per-class LRU counters (`itemstats`, shown by `stats items`).
public struct ItemClassStatistics: Sendable {
    public var evicted = 0
    public var evictedNonzero = 0
    /// Seconds since the last access of the last item evicted.
    public var evictedTime: UInt32 = 0
    public var outOfMemory = 0
    public var tailRepairs = 0
    public var reclaimed = 0
    public var expiredUnfetched = 0
    public var evictedUnfetched = 0
    public var evictedActive = 0
    public var crawlerReclaimed = 0
    public var crawlerItemsChecked = 0
    public var lruTailRefLocked = 0
    public var movesToCold = 0
    public var movesToWarm = 0
    public var movesWithinLRU = 0
    public var directReclaims = 0

    public init() {}
}

/// The counters memcached keeps per class and per worker thread and sums for `stats slabs` and `stats`.
public struct SlabClassCommandStatistics: Sendable {
    public var setCommands = 0
    public var touchHits = 0
    public var deleteHits = 0
    public var casHits = 0
    public var casBadValue = 0
    public var incrHits = 0
    public var decrHits = 0

    public init() {}
}

/// Counters of the whole store that `stats` reports (the LRU ones are sums of `ItemClassStatistics`).
public struct StoreStatistics: Sendable {
    public var totalItems = 0
    public var getExpired = 0
    public var getFlushed = 0
    public var casMisses = 0
    public var slabsMoved = 0
    public var slabReassignRescues = 0
    public var slabReassignChunkRescues = 0
    public var slabReassignEvictionsNoMemory = 0
    public var slabReassignInlineReclaim = 0
    public var slabReassignBusyItems = 0
    public var slabReassignBusyDeletes = 0
    public var lruCrawlerStarts = 0
    public var lruMaintainerJuggles = 0

    public init() {}
}
