/// What memcached's background threads do - the LRU maintainer, the LRU crawler, the slab mover and its automover -
/// done here in slices from the owning loop's tick (`maintain`), or at once for the commands that ask
/// (`slabs reassign`, `lru_crawler crawl`).
extension MemcachedStore {
    // MARK: - The LRU maintainer

    /// memcached's `lru_maintainer_juggle` for one class: HOT and WARM flow to COLD past their share of the class's
    /// bytes (or past `hot_max_factor`/`warm_max_factor` times COLD's age), COLD's ACTIVE items go back to WARM,
    /// expired tails are reclaimed. Returns the moves made.
    @discardableResult
    public func juggle(classID id: Int) -> Int {
        var moves = 0
        var hotAge = UInt32.max
        var warmAge = UInt32.max
        var totalBytes = 0
        if self.settings.segmentedLRU {
            var coldAge: UInt32 = 0
            if let tail = self.tail(ofClass: id, segment: Self.cold) { coldAge = self.now &- tail.lastAccess }
            hotAge = UInt32(Double(coldAge) * self.settings.hotMaxFactor)
            warmAge = UInt32(Double(coldAge) * self.settings.warmMaxFactor)
            totalBytes = self.sizesBytes[id * 4] + self.sizesBytes[id * 4 + 1] + self.sizesBytes[id * 4 + 2]
        } else {
            // The classic LRU has only COLD: everything else drains into it.
            hotAge = 0
            warmAge = 0
        }
        if self.settings.temporaryLRU {
            for _ in 0..<500 where self.pullTail(classID: id, segment: Self.temporary) > 0 { moves += 1 }
        }
        for _ in 0..<500 {
            var more = 0
            if self.pullTail(classID: id, segment: Self.hot, totalBytes: totalBytes, maxAge: hotAge) > 0
                || self.pullTail(classID: id, segment: Self.warm, totalBytes: totalBytes, maxAge: warmAge) > 0
            {
                more += 1
            }
            if self.settings.segmentedLRU {
                more += self.pullTail(classID: id, segment: Self.cold, totalBytes: totalBytes)
            }
            if more == 0 { break }
            moves += 1
        }
        return moves
    }

    /// One round of background work, for the owning loop's tick: juggle every class's LRU, crawl a slice of the
    /// pages for expired items, move the index along, and once a second run the slab automover.
    public func maintain(crawlBudget: Int = 1024) {
        if self.settings.lruMaintainer {
            for id in self.slabs.classIDs where self.itemCount(ofClass: id) > 0 {
                if self.juggle(classID: id) > 0 { self.stats.lruMaintainerJuggles += 1 }
            }
        }
        if self.settings.lruCrawler { self.crawlSlice(chunks: crawlBudget) }
        // About a millisecond a tick: a table of 64k buckets finishes doubling in under half a second, as memcached's
        // expansion thread does.
        if self.table.isExpanding { self.table.expand(buckets: 16384) }
        if self.pendingReassignTarget != 0 {
            _ = self.reassign(from: -1, to: self.pendingReassignTarget)
            self.pendingReassignTarget = 0
        }
        if self.settings.slabReassign && self.settings.slabAutomove == 1 && self.lastAutomove != self.now {
            // As memcached's maintainer: a move between classes waits a second for the next; a page given back to
            // the pool is followed at once by the next decision, until the automover stops choosing one.
            var runs = 0
            while runs < 64 {
                runs += 1
                let destination = self.automove()
                if destination != 0 {
                    self.lastAutomove = self.now
                    break
                }
            }
        }
    }

    // MARK: - The crawler

    /// Reclaims expired and flushed items from the pages, `chunks` chunks at a time, from where the last slice ended
    /// (memcached's crawler walks the LRUs with a marker item; a walk over pages needs no marker and is never confused
    /// by items moving between lists).
    public func crawlSlice(chunks: Int) {
        var budget = chunks
        var classID = self.crawlCursor.classID
        var page = self.crawlCursor.page
        var index = self.crawlCursor.chunk
        var visitedClasses = 0
        while budget > 0 && visitedClasses <= self.slabs.largestClass {
            if classID < 1 || classID > self.slabs.largestClass {
                classID = 1
                page = 0
                index = 0
            }
            let pages = self.slabs.classes[classID].pages
            if page >= pages.count {
                classID += 1
                page = 0
                index = 0
                visitedClasses += 1
                continue
            }
            let size = self.slabs.classes[classID].size
            let perPage = self.slabs.classes[classID].perPage
            while index < perPage && budget > 0 {
                self.crawl(pages[page] + index * size, classID: classID)
                index += 1
                budget -= 1
            }
            if index >= perPage {
                page += 1
                index = 0
            }
        }
        self.crawlCursor = CrawlCursor(classID: classID, page: page, chunk: index)
    }

    /// Crawls every page of the given classes at once (`lru_crawler crawl`).
    public func crawl(classes: [Int]) {
        self.stats.lruCrawlerStarts += 1
        for id in classes where id >= 1 && id <= self.slabs.largestClass {
            let size = self.slabs.classes[id].size
            for page in self.slabs.classes[id].pages {
                for i in 0..<self.slabs.classes[id].perPage { self.crawl(page + i * size, classID: id) }
            }
        }
    }

    private func crawl(_ chunk: UnsafeMutableRawPointer, classID: Int) {
        let flags = chunk.load(fromByteOffset: 8, as: UInt16.self)
        guard flags & Item.Flags.linked.rawValue != 0 else { return }
        let item = Item(chunk)
        let id = self.lruClass(item)
        self.classStats[id].crawlerItemsChecked += 1
        if self.isDead(item) && item.bits != self.pinned {
            self.classStats[id].crawlerReclaimed += 1
            self.classStats[id].reclaimed += 1
            if !item.flags.contains(.fetched) { self.classStats[id].expiredUnfetched += 1 }
            self.unlink(item)
        }
    }

    /// Calls `body` with every live item of the given classes (`lru_crawler metadump`), in page order.
    public func forEachItem(classes: [Int], _ body: (Item) -> Void) {
        for id in classes where id >= 1 && id <= self.slabs.largestClass {
            let size = self.slabs.classes[id].size
            for page in self.slabs.classes[id].pages {
                for i in 0..<self.slabs.classes[id].perPage {
                    let chunk = page + i * size
                    guard chunk.load(fromByteOffset: 8, as: UInt16.self) & Item.Flags.linked.rawValue != 0 else {
                        continue
                    }
                    let item = Item(chunk)
                    if self.isDead(item) { continue }
                    body(item)
                }
            }
        }
    }

    /// Calls `body` with the items of one LRU from its head while it returns true (`stats cachedump`).
    public func forEachItemInLRU(classID id: Int, segment: Int, _ body: (Item) -> Bool) {
        guard id >= 1 && id <= self.slabs.largestClass else { return }
        var current = Item(bits: self.heads[id * 4 + segment])
        while let item = current {
            if !body(item) { return }
            current = Item(bits: item.nextBits)
        }
    }

    /// `stats reset`: the LRU and slab counters start again.
    public func resetStatistics() {
        for i in self.classStats.indices { self.classStats[i] = ItemClassStatistics() }
        for i in self.commandStats.indices { self.commandStats[i] = SlabClassCommandStatistics() }
        let total = self.stats.totalItems
        self.stats = StoreStatistics()
        self.stats.totalItems = total
    }

    // MARK: - The slab mover

    public enum ReassignOutcome: Sendable, Equatable {
        case ok
        /// "BADCLASS invalid src or dst class id"
        case badClass
        /// "NOSPARE source class has no spare pages"
        case noSpare
        /// "SAME src and dst class are identical"
        case same
    }

    /// `slabs reassign src dst`: moves one page of `src` (-1: any class with a page to spare) to `dst` (0: the global
    /// pool). memcached hands the move to its mover thread and answers OK at once; here the page is emptied before
    /// the reply: free chunks leave the free list, live items are copied into free chunks elsewhere in the class when
    /// there are any (rescued), else evicted, and a large item with a chunk in the page is evicted whole.
    public func reassign(from source: Int, to destination: Int) -> ReassignOutcome {
        if source == destination { return .same }
        var src = source
        if src == -1 { src = self.pickAnySource(excluding: destination) }
        guard src >= 0, src <= self.slabs.largestClass, destination >= 0, destination <= self.slabs.largestClass
        else { return .badClass }
        guard self.slabs.classes[src].pages.count >= 2 else { return .noSpare }
        self.movePage(of: src, to: destination)
        return .ok
    }

    private func pickAnySource(excluding destination: Int) -> Int {
        for _ in 0..<self.slabs.largestClass {
            self.reassignCursor += 1
            if self.reassignCursor > self.slabs.largestClass { self.reassignCursor = 1 }
            if self.reassignCursor != destination && self.slabs.classes[self.reassignCursor].pages.count > 1 {
                return self.reassignCursor
            }
        }
        return -1
    }

    private func movePage(of id: Int, to destination: Int) {
        let page = self.slabs.classes[id].pages[0]
        let size = self.slabs.classes[id].size
        let perPage = self.slabs.classes[id].perPage
        let end = page + perPage * size
        // First every free chunk of the page leaves the free list, so that rescues land outside the page.
        for i in 0..<perPage where SlabAllocator.isFree(page + i * size) {
            self.slabs.unlinkFree(page + i * size, classID: id)
        }
        for i in 0..<perPage {
            let chunk = page + i * size
            let flags = chunk.load(fromByteOffset: 8, as: UInt16.self)
            if flags & Item.Flags.slabbed.rawValue != 0 { continue }
            if flags & Item.Flags.chunk.rawValue != 0 {
                // A piece of a large item: the whole item goes.
                let head = Chunk(chunk).head
                self.stats.slabReassignEvictionsNoMemory += 1
                self.evictForMove(head, id: id, page: page, end: end)
                continue
            }
            guard flags & Item.Flags.linked.rawValue != 0 else { continue }
            let item = Item(chunk)
            if self.isDead(item) {
                self.stats.slabReassignInlineReclaim += 1
                self.evictForMove(item, id: id, page: page, end: end)
                continue
            }
            if !item.isChunked, let target = self.slabs.allocate(classID: id, mayGrow: false) {
                self.rescue(item, into: target, size: size)
                self.stats.slabReassignRescues += 1
            } else {
                self.stats.slabReassignEvictionsNoMemory += 1
                self.evictForMove(item, id: id, page: page, end: end)
            }
        }
        self.slabs.movePage(at: 0, of: id, to: destination)
        self.stats.slabsMoved += 1
        if self.crawlCursor.classID == id || self.crawlCursor.classID == destination {
            self.crawlCursor = CrawlCursor(classID: 1, page: 0, chunk: 0)
        }
    }

    /// Unlinks an item during a page move; the chunks it frees inside the page being emptied come off the free list
    /// again.
    private func evictForMove(_ item: Item, id: Int, page: UnsafeMutableRawPointer, end: UnsafeMutableRawPointer) {
        guard item.flags.contains(.linked) else { return }
        var inPage: [(UnsafeMutableRawPointer, Int)] = []
        if item.base >= page && item.base < end { inPage.append((item.base, item.classID)) }
        if item.isChunked {
            var chunk = item.firstChunk
            while let current = chunk {
                if current.base >= page && current.base < end { inPage.append((current.base, current.classID)) }
                chunk = current.next
            }
        }
        self.unlink(item)
        for (chunk, classID) in inPage { self.slabs.unlinkFree(chunk, classID: classID) }
    }

    /// Copies a live item into another chunk of its class and puts the copy in its place in the index and the LRU.
    private func rescue(_ item: Item, into target: UnsafeMutableRawPointer, size: Int) {
        let copy = Item(target)
        target.copyMemory(from: item.base, byteCount: Item.headerSize + item.keyLength + item.valueLength)
        copy.nextBits = 0
        copy.prevBits = 0
        copy.hashNextBits = 0
        // Swap in the index and the LRU without touching the counts: unlink the old one's links by hand.
        self.table.remove(item)
        self.unlinkQueue(item)
        self.table.insert(copy)
        self.linkQueue(copy)
        item.flags.remove(.linked)
    }

    // MARK: - The automover

    /// memcached's `slab_automove_run` (algorithm 1), once a second: a class with more than 2.5 pages of free chunks
    /// and no evictions, out-of-memory or new pages in the window gives a page back to the pool; otherwise, when the
    /// class evicting most recently has a COLD age below `slab_automove_ratio` of the oldest class's, the oldest gives
    /// it a page. Decisions wait until the window (30 s) has filled once.
    /// - Returns: the destination of the page it moved (0: the pool), or -1 when it moved none.
    @discardableResult
    func automove() -> Int {
        let window = self.settings.slabAutomoveWindow
        let classes = self.slabs.largestClass + 1
        if self.automoveWindows.count != classes * window {
            self.automoveWindows = Array(repeating: AutomoveSample(), count: classes * window)
            self.automoveBefore = Array(repeating: AutomoveBefore(), count: classes)
        }
        var evictedTotal = 0
        for n in 1..<classes { evictedTotal += self.classStats[n].evicted - self.automoveBefore[n].evicted }
        self.automoveTick += 1
        var oldest = -1
        var oldestAge = 0
        var youngest = -1
        var youngestAge = Int.max
        var youngestEvicting = false
        var source = -1
        var destination = -1
        for n in 1..<classes {
            let offset = n * window
            var sample = AutomoveSample()
            let before = self.automoveBefore[n]
            let evictedDelta = self.classStats[n].evicted - before.evicted
            if evictedDelta > 0 {
                sample.evictedRatio = Double(evictedDelta) / Double(max(evictedTotal, 1))
                sample.evictedSeen = 1
                sample.dirty = 1
            }
            if self.classStats[n].outOfMemory - before.outOfMemory > 0 { sample.dirty = 1 }
            if self.slabs.classes[n].pages.count - before.pages > 0 { sample.dirty = 1 }
            if let tail = self.tail(ofClass: n, segment: Self.cold) { sample.age = Int(self.now &- tail.lastAccess) }
            self.automoveWindows[offset + self.automoveTick % window] = sample
            var sum = AutomoveSample()
            for w in 0..<window {
                let s = self.automoveWindows[offset + w]
                sum.age += s.age
                sum.dirty += s.dirty
                sum.evictedSeen += s.evictedSeen
                sum.evictedRatio += s.evictedRatio
            }
            let age = sum.age / window
            let c = self.slabs.classes[n]
            if Double(c.freeCount) > Double(c.perPage) * 2.5 && sum.dirty == 0 {
                source = n
                destination = 0
                youngest = -1
                oldest = -1
                break
            }
            if age > oldestAge && c.pages.count > 2 {
                oldest = n
                oldestAge = age
            }
            if age < youngestAge && (sum.evictedSeen > window / 2 || sum.evictedRatio / Double(window) > 0.25) {
                youngest = n
                youngestAge = age
                youngestEvicting = sample.evictedSeen != 0
            }
        }
        for n in 1..<classes {
            self.automoveBefore[n] = AutomoveBefore(
                evicted: self.classStats[n].evicted,
                outOfMemory: self.classStats[n].outOfMemory,
                pages: self.slabs.classes[n].pages.count
            )
        }
        if youngest != -1 && oldest != -1 && self.automoveTick > window {
            if Double(youngestAge) < Double(oldestAge) * self.settings.slabAutomoveRatio && youngestEvicting {
                source = oldest
                destination = youngest
            }
        }
        if source != -1 && destination != -1 && self.reassign(from: source, to: destination) == .ok {
            self.onSlabMove?(source, destination)
            return destination
        }
        return -1
    }
}

struct CrawlCursor {
    var classID = 1
    var page = 0
    var chunk = 0
}

struct AutomoveSample {
    var age = 0
    var dirty = 0
    var evictedSeen = 0
    var evictedRatio = 0.0
}

struct AutomoveBefore {
    var evicted = 0
    var outOfMemory = 0
    var pages = 0
}
