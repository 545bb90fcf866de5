import SwiftletKeyspace

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The memcached store: slab classes of chunks in 1 MB pages, an index by key, an LRU per class, CAS ids.
///
/// Single-threaded by contract, like the Redis keyspace: the event loop that owns it runs every command to the end,
/// so memcached's item locks and reference counts have nothing to guard. What they still did for memcached - keep an
/// item a command is reading from being evicted by the allocation it makes (APPEND, INCR) - is `pin`: the LRU tail
/// walk skips the pinned item as memcached's skips a referenced one. Replies copy values out before the command ends,
/// so no item outlives a command in a client's hands.
///
/// Time is the caller's: `now` is memcached's `current_time`, seconds since the store started (set by the front end's
/// clock each tick), so expiry is deterministic in tests.
public final class MemcachedStore {
    /// The settings; the LRU and automover ones may change at run time (`lru tune`, `slabs automove`).
    public var settings: MemcachedStoreSettings {
        didSet { self.table.mayExpand = self.settings.hashExpansion }
    }
    public internal(set) var slabs: SlabAllocator
    var table: ItemTable

    /// Heads, tails, item counts and bytes of each LRU: index `classID * 4 + segment`. Fixed buffers allocated once
    /// (arrays would check their uniqueness on every write, on the path of every store).
    let heads: UnsafeMutablePointer<UInt>
    let tails: UnsafeMutablePointer<UInt>
    let sizes: UnsafeMutablePointer<Int>
    let sizesBytes: UnsafeMutablePointer<Int>

    public var classStats: [ItemClassStatistics]
    /// Every lookup (memcached's `do_item_get`, which `watch fetchers` logs): nil unless a watcher asks.
    public var onLookup: ((_ key: UnsafeRawBufferPointer, _ status: LookupStatus, _ item: Item?) -> Void)?
    /// Every eviction from an LRU tail (`watch evictions`), before the item is unlinked: nil unless a watcher asks.
    public var onEviction: ((Item) -> Void)?
    /// Every page the slab mover moves (`watch sysevents`' slab_move): nil unless a watcher asks.
    public var onSlabMove: ((_ source: Int, _ destination: Int) -> Void)?
    public var commandStats: [SlabClassCommandStatistics]
    public var stats = StoreStatistics()

    /// Seconds since the store started (memcached's `current_time`).
    public var now: UInt32 = 0
    /// `flush_all`: items last touched at or before this time are gone once it has come (memcached's `oldest_live`).
    public var oldestLive: UInt32 = 0
    /// `flush_all` also hides items whose CAS is below this one (memcached's `oldest_cas`).
    public var oldestCAS: UInt64 = 0
    public private(set) var lastCAS: UInt64 = 0
    /// The item the running command reads from while it allocates; the LRU walk passes over it.
    var pinned: UInt = 0

    // The background work's state (Maintenance.swift).
    var crawlCursor = CrawlCursor()
    var reassignCursor = 0
    var lastAutomove: UInt32 = .max
    var automoveTick = 0
    var automoveWindows: [AutomoveSample] = []
    var automoveBefore: [AutomoveBefore] = []
    /// `slab_automove 2`: a class that evicted wants a page; the next `maintain` moves one to it.
    var pendingReassignTarget = 0

    public static let hot = 0
    public static let warm = 1
    public static let cold = 2
    public static let temporary = 3

    public init(settings: MemcachedStoreSettings = MemcachedStoreSettings()) {
        self.settings = settings
        self.slabs = SlabAllocator(settings: settings)
        self.table = ItemTable(power: settings.hashPower)
        self.table.mayExpand = settings.hashExpansion
        let lists = (self.slabs.largestClass + 1) * 4
        self.heads = .allocate(capacity: lists)
        self.heads.initialize(repeating: 0, count: lists)
        self.tails = .allocate(capacity: lists)
        self.tails.initialize(repeating: 0, count: lists)
        self.sizes = .allocate(capacity: lists)
        self.sizes.initialize(repeating: 0, count: lists)
        self.sizesBytes = .allocate(capacity: lists)
        self.sizesBytes.initialize(repeating: 0, count: lists)
        self.casBytes = settings.useCAS ? 8 : 0
        self.classStats = Array(repeating: ItemClassStatistics(), count: self.slabs.largestClass + 1)
        self.commandStats = Array(repeating: SlabClassCommandStatistics(), count: self.slabs.largestClass + 1)
    }

    deinit {
        self.slabs.releaseAll()
        self.table.release()
        self.heads.deallocate()
        self.tails.deallocate()
        self.sizes.deallocate()
        self.sizesBytes.deallocate()
    }

    // MARK: - Counts

    /// Items linked (`curr_items`).
    public var itemCount: Int { self.table.count }

    /// Bytes of the linked items by memcached's size formula (`bytes`).
    public private(set) var itemBytes = 0

    /// Bytes of the index (`hash_bytes`), its power (`hash_power_level`), and whether it is growing.
    public var hashBytes: Int { self.table.bytes }
    public var hashPower: Int { self.table.power }
    public var hashIsExpanding: Bool { self.table.isExpanding }

    public func itemCount(ofClass id: Int, segment: Int) -> Int { self.sizes[id * 4 + segment] }

    public func itemCount(ofClass id: Int) -> Int {
        self.sizes[id * 4] + self.sizes[id * 4 + 1] + self.sizes[id * 4 + 2] + self.sizes[id * 4 + 3]
    }

    /// Bytes (by memcached's formula) of the items in one LRU segment of a class.
    public func itemBytes(ofClass id: Int, segment: Int) -> Int { self.sizesBytes[id * 4 + segment] }

    /// The tail (oldest) item of one LRU segment of a class.
    public func tail(ofClass id: Int, segment: Int) -> Item? { Item(bits: self.tails[id * 4 + segment]) }

    /// `cache_memlimit` (memcached's `slabs_adjust_mem_limit`).
    public func setMemoryLimit(_ bytes: Int) { self.slabs.setMemoryLimit(bytes) }

    // MARK: - Sizes

    /// memcached's `ITEM_ntotal` for an item of this key, flags and value: the size `-I` limits and `bytes` counts.
    @inline(__always)
    public func memcachedSize(keyLength: Int, clientFlags: UInt32, valueLength: Int) -> Int {
        SlabAllocator.memcachedHeaderSize + keyLength + 1 + (clientFlags == 0 ? 0 : 4) + valueLength + 2
            + self.casBytes
    }

    /// What the CAS adds to memcached's item size (8, or 0 with `-C`).
    let casBytes: Int

    @inline(__always)
    func memcachedSize(_ item: Item) -> Int {
        self.memcachedSize(keyLength: item.keyLength, clientFlags: item.clientFlags, valueLength: item.valueLength)
    }

    /// Whether an item this size may be stored at all (memcached's `item_size_ok`).
    public func fits(keyLength: Int, clientFlags: UInt32, valueLength: Int) -> Bool {
        self.memcachedSize(keyLength: keyLength, clientFlags: clientFlags, valueLength: valueLength)
            <= self.settings.itemSizeMax
    }

    @inline(__always)
    public static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(truncatingIfNeeded: KeyHash.hash(key))
    }

    // MARK: - Lookup

    /// The live item under `key`, or nil; an expired or flushed one is unlinked on the way (memcached's `do_item_get`).
    /// `bump` marks the access as a fetch does (`do_item_bump`); stores and deletes look without it.
    public func find(_ key: UnsafeRawBufferPointer, bump: Bool) -> Item? {
        self.find(key, hash: Self.hash(key), bump: bump)
    }

    /// `find` with the key's hash already known (a new item carries its key's).
    func find(_ key: UnsafeRawBufferPointer, hash: UInt32, bump: Bool) -> Item? {
        guard let item = self.table.find(key, hash: hash) else {
            self.onLookup?(key, .notFound, nil)
            return nil
        }
        if self.isFlushed(item) {
            self.unlink(item)
            self.stats.getFlushed += 1
            self.onLookup?(key, .flushed, nil)
            return nil
        }
        if item.expiry != 0 && item.expiry <= self.now {
            self.unlink(item)
            self.stats.getExpired += 1
            self.onLookup?(key, .expired, nil)
            return nil
        }
        if bump { self.bump(item) }
        self.onLookup?(key, .found, item)
        return item
    }

    /// The item linked under `key`, live or not, without a lookup's effects (no bump, no unlink, no `onLookup`).
    public func peek(_ key: UnsafeRawBufferPointer) -> Item? {
        self.table.find(key, hash: Self.hash(key))
    }

    /// What a lookup found, as memcached's `watch fetchers` reports it (`was_found`).
    public enum LookupStatus: Int, Sendable {
        case notFound = 0
        case found, flushed, expired
    }

    @inline(__always)
    func isFlushed(_ item: Item) -> Bool {
        let oldest = self.oldestLive
        if oldest == 0 || oldest > self.now { return false }
        return item.lastAccess <= oldest || (self.oldestCAS != 0 && item.cas != 0 && item.cas < self.oldestCAS)
    }

    /// Whether `item` is past its expiry or flushed (the crawler's and the LRU walk's test).
    @inline(__always)
    func isDead(_ item: Item) -> Bool {
        (item.expiry != 0 && item.expiry < self.now) || self.isFlushed(item)
    }

    /// memcached's `do_item_bump`: the first fetch sets FETCHED, the second ACTIVE; an ACTIVE item in COLD moves to
    /// WARM (memcached queues that move for its maintainer; here it happens at once).
    public func bump(_ item: Item) {
        var flags = item.flags
        if self.settings.segmentedLRU {
            if flags.contains(.active) { return }
            if !flags.contains(.fetched) {
                flags.insert(.fetched)
                item.flags = flags
                return
            }
            flags.insert(.active)
            item.flags = flags
            if item.segment != Self.cold {
                item.lastAccess = self.now
            } else {
                self.update(item)
            }
        } else {
            flags.insert(.fetched)
            item.flags = flags
            self.update(item)
        }
    }

    /// memcached's `do_item_update`: a hit to an ACTIVE COLD item moves it to WARM; in the classic LRU, an item not
    /// bumped for a minute goes back to the head.
    public func update(_ item: Item) {
        guard item.flags.contains(.linked) else { return }
        if self.settings.segmentedLRU {
            item.lastAccess = self.now
            if item.segment == Self.cold && item.flags.contains(.active) {
                self.unlinkQueue(item)
                item.segment = Self.warm
                item.flags.remove(.active)
                self.linkQueue(item)
                // memcached counts this relink in `item_link_q_warm`.
                self.classStats[self.lruClass(item)].movesToWarm += 1
            }
        } else if item.lastAccess < self.now &- 60 {
            item.lastAccess = self.now
            self.unlinkQueue(item)
            self.linkQueue(item)
        }
    }

    // MARK: - Allocation

    public enum AllocationFailure: Error, Sendable {
        /// Larger than `-I` (`SERVER_ERROR object too large for cache`).
        case tooLarge
        /// No chunk could be found or freed (`SERVER_ERROR out of memory storing object`).
        case outOfMemory
    }

    /// A new, unlinked item for `key` with room for `valueLength` bytes of value (memcached's `do_item_alloc`): fill
    /// it with `Item.writeValue`, then `store` or `link` it, or `discard` it.
    public func allocate(
        key: UnsafeRawBufferPointer,
        clientFlags: UInt32,
        expiry: UInt32,
        valueLength: Int
    ) -> Result<Item, AllocationFailure> {
        guard self.fits(keyLength: key.count, clientFlags: clientFlags, valueLength: valueLength) else {
            return .failure(.tooLarge)
        }
        let total = Item.headerSize + key.count + valueLength
        let id = self.slabs.classID(forSize: total)
        let item: Item
        if total > self.slabs.chunkMax {
            let headerTotal = Item.headerSize + key.count + MemoryLayout<UInt>.size
            let headerClass = self.slabs.classID(forSize: headerTotal)
            guard let base = self.allocatePulling(classID: headerClass) else {
                self.classStats[id].outOfMemory += 1
                return .failure(.outOfMemory)
            }
            item = Item(base)
            item.classID = headerClass
            item.keyLength = key.count
            item.rawFlags = Item.Flags.chunked.rawValue
            item.firstChunk = nil
            if !self.attachChunks(to: item, valueLength: valueLength) {
                self.release(item)
                self.classStats[id].outOfMemory += 1
                return .failure(.outOfMemory)
            }
        } else {
            guard let base = self.allocatePulling(classID: id) else {
                self.classStats[id].outOfMemory += 1
                return .failure(.outOfMemory)
            }
            item = Item(base)
            item.classID = id
            item.keyLength = key.count
            item.rawFlags = 0
        }
        item.nextBits = 0
        item.prevBits = 0
        item.hashNextBits = 0
        item.valueLength = valueLength
        item.clientFlags = clientFlags
        item.expiry = expiry
        item.cas = 0
        item.lastAccess = self.now
        item.hash = Self.hash(key)
        if key.count > 0 { (item.base + Item.headerSize).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        if self.settings.temporaryLRU && expiry != 0 && expiry &- self.now <= self.settings.temporaryTTL {
            item.segment = Self.temporary
        } else {
            item.segment = self.settings.segmentedLRU ? Self.hot : Self.cold
        }
        return .success(item)
    }

    /// The chunks of a large item's value: chunks of the largest class, the last one of the class that fits the rest
    /// (falling back to a largest one, as memcached's `do_item_alloc_chunk`).
    private func attachChunks(to item: Item, valueLength: Int) -> Bool {
        var remaining = valueLength
        var last: Chunk? = nil
        while remaining > 0 {
            let wanted = min(remaining + Chunk.headerSize, self.slabs.chunkMax)
            var id = self.slabs.classID(forSize: wanted)
            var memory = self.allocatePulling(classID: id)
            if memory == nil && wanted != self.slabs.chunkMax {
                id = self.slabs.largestClass
                memory = self.allocatePulling(classID: id)
            }
            guard let base = memory else { return false }
            let chunk = Chunk(base)
            base.storeBytes(of: Item.Flags.chunk.rawValue, toByteOffset: 8, as: UInt16.self)
            chunk.classID = id
            chunk.next = nil
            chunk.used = 0
            chunk.head = item
            chunk.capacity = self.slabs.chunkSize(ofClass: id) - Chunk.headerSize
            if let previous = last { previous.next = chunk } else { item.firstChunk = chunk }
            last = chunk
            remaining -= min(remaining, chunk.capacity)
        }
        return true
    }

    /// memcached's `do_item_alloc_pull`: a chunk of class `id`, reclaiming and evicting from its LRU tails as needed,
    /// up to 10 tries.
    func allocatePulling(classID id: Int) -> UnsafeMutableRawPointer? {
        var chunk: UnsafeMutableRawPointer? = nil
        var tries = 0
        while tries < 10 {
            if !self.settings.segmentedLRU { self.pullTail(classID: id, segment: Self.cold) }
            chunk = self.slabs.allocate(classID: id)
            if chunk != nil { break }
            if self.pullTail(classID: id, segment: Self.cold, evict: true) <= 0 {
                if self.settings.segmentedLRU {
                    self.pullTail(classID: id, segment: Self.hot)
                } else {
                    break
                }
            }
            tries += 1
        }
        if tries > 0 { self.classStats[id].directReclaims += tries }
        return chunk
    }

    /// Frees an item that was allocated but is not linked (a store that failed, a request whose data was bad).
    public func discard(_ item: Item) {
        precondition(!item.flags.contains(.linked), "discarding a linked item")
        self.release(item)
    }

    /// Gives the item's chunks back to their classes.
    private func release(_ item: Item) {
        if item.isChunked {
            var chunk = item.firstChunk
            while let current = chunk {
                chunk = current.next
                self.slabs.release(current.base, classID: current.classID)
            }
        }
        self.slabs.release(item.base, classID: item.classID)
    }

    // MARK: - Linking

    /// Links a new item: index, LRU head, a fresh CAS id (memcached's `do_item_link`).
    public func link(_ item: Item) {
        item.flags.insert(.linked)
        item.lastAccess = self.now
        let size = self.memcachedSize(item)
        self.itemBytes += size
        self.stats.totalItems += 1
        self.slabs.noteRequested(size, classID: self.lruClass(item))
        item.cas = self.settings.useCAS ? self.nextCAS() : 0
        self.table.insert(item)
        self.linkQueue(item)
    }

    public func nextCAS() -> UInt64 {
        self.lastCAS &+= 1
        return self.lastCAS
    }

    /// Unlinks a linked item and frees it (memcached's `do_item_unlink` with the last reference gone).
    public func unlink(_ item: Item) {
        guard item.flags.contains(.linked) else { return }
        item.flags.remove(.linked)
        let size = self.memcachedSize(item)
        self.itemBytes -= size
        self.slabs.noteRequested(-size, classID: self.lruClass(item))
        self.table.remove(item)
        self.unlinkQueue(item)
        self.release(item)
    }

    /// Puts `new` in the place of `old` (memcached's `item_replace`).
    public func replace(_ old: Item, with new: Item) {
        self.unlink(old)
        self.link(new)
    }

    /// Marks `item` so that the LRU walk passes over it until `unpin` (an item read from while allocating).
    public func pin(_ item: Item) { self.pinned = item.bits }

    public func unpin() { self.pinned = 0 }

    // MARK: - LRU lists

    @inline(__always)
    private func listIndex(_ item: Item) -> Int { item.classID * 4 + item.segment }

    /// The LRU class of an item: the class of its value's size, which for a chunked item is the largest class (its
    /// header lives in a small class, but memcached links it in the LRU of the largest).
    @inline(__always)
    func lruClass(_ item: Item) -> Int { item.isChunked ? self.slabs.largestClass : item.classID }

    /// The class whose LRU holds `item` (memcached's `ITEM_clsid`, what `stats` count per class).
    @inline(__always)
    public func lruClass(of item: Item) -> Int { self.lruClass(item) }

    /// memcached's `ITEM_ntotal` of a stored item (metadump's `size`, `mem_requested`).
    public func memcachedSize(of item: Item) -> Int { self.memcachedSize(item) }

    func linkQueue(_ item: Item) {
        let list = self.lruClass(item) * 4 + item.segment
        item.prevBits = 0
        item.nextBits = self.heads[list]
        if let next = Item(bits: item.nextBits) { next.prevBits = item.bits }
        self.heads[list] = item.bits
        if self.tails[list] == 0 { self.tails[list] = item.bits }
        self.sizes[list] += 1
        self.sizesBytes[list] += self.memcachedSize(item)
    }

    func unlinkQueue(_ item: Item) {
        let list = self.lruClass(item) * 4 + item.segment
        if self.heads[list] == item.bits { self.heads[list] = item.nextBits }
        if self.tails[list] == item.bits { self.tails[list] = item.prevBits }
        if let next = Item(bits: item.nextBits) { next.prevBits = item.prevBits }
        if let prev = Item(bits: item.prevBits) { prev.nextBits = item.nextBits }
        item.nextBits = 0
        item.prevBits = 0
        self.sizes[list] -= 1
        self.sizesBytes[list] -= self.memcachedSize(item)
    }

    /// memcached's `lru_pull_tail`: looks at up to 5 items from the tail of one segment of a class. Expired and
    /// flushed items are reclaimed; in HOT and WARM, ACTIVE items are rescued (WARM) and others move to COLD once the
    /// segment is over its share or older than `maxAge`; in COLD, with `evict`, the tail item is evicted (unless
    /// `-M`), else an ACTIVE one moves to WARM. Returns how many items were removed or moved.
    @discardableResult
    func pullTail(classID id: Int, segment: Int, totalBytes: Int = 0, evict: Bool = false, maxAge: UInt32 = 0) -> Int {
        let list = id * 4 + segment
        var tries = 5
        var removed = 0
        var search = Item(bits: self.tails[list])
        while tries > 0, let current = search {
            tries -= 1
            let previous = Item(bits: current.prevBits)
            if current.bits == self.pinned {
                self.classStats[id].lruTailRefLocked += 1
                search = previous
                continue
            }
            if self.isDead(current) {
                self.classStats[id].reclaimed += 1
                if !current.flags.contains(.fetched) { self.classStats[id].expiredUnfetched += 1 }
                self.unlink(current)
                removed += 1
                search = previous
                continue
            }
            var moveTo: Int? = nil
            switch segment {
            case Self.hot, Self.warm:
                let share = segment == Self.hot ? self.settings.hotLRUPercent : self.settings.warmLRUPercent
                let limit = totalBytes * share / 100
                if current.flags.contains(.active) {
                    current.flags.remove(.active)
                    removed += 1
                    if segment == Self.warm {
                        // Rescued within WARM; the walk goes on (memcached leaves `it` unset here).
                        self.classStats[id].movesWithinLRU += 1
                        self.unlinkQueue(current)
                        self.linkQueue(current)
                        search = previous
                        continue
                    } else {
                        self.classStats[id].movesToWarm += 1
                        moveTo = Self.warm
                    }
                } else if self.sizesBytes[list] > limit || self.now &- current.lastAccess > maxAge {
                    self.classStats[id].movesToCold += 1
                    moveTo = Self.cold
                    removed += 1
                }
            case Self.cold:
                if evict {
                    if !self.settings.evictToFree { break }
                    var stats = self.classStats[id]
                    stats.evicted += 1
                    stats.evictedTime = self.now &- current.lastAccess
                    if current.expiry != 0 { stats.evictedNonzero += 1 }
                    if !current.flags.contains(.fetched) { stats.evictedUnfetched += 1 }
                    if current.flags.contains(.active) { stats.evictedActive += 1 }
                    self.classStats[id] = stats
                    self.onEviction?(current)
                    self.unlink(current)
                    removed += 1
                    if self.settings.slabAutomove == 2 { self.pendingReassignTarget = id }
                } else if current.flags.contains(.active) && self.settings.segmentedLRU {
                    self.classStats[id].movesToWarm += 1
                    current.flags.remove(.active)
                    moveTo = Self.warm
                    removed += 1
                }
            default:
                break
            }
            if let target = moveTo {
                self.unlinkQueue(current)
                current.segment = target
                self.linkQueue(current)
            }
            break
        }
        return removed
    }
}
