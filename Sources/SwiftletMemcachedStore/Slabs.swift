#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// memcached's slab allocator: memory is handed out in pages (1 MB) until the limit is used up, each page is cut into
/// the chunks of one class, and each class keeps a free list of its chunks.
///
/// Class 0 is the global page pool: pages taken from a class by `slabs reassign` (or the automover) wait there for the
/// class that needs one next. Class 1's chunk fits memcached's 48-byte header plus `-n` bytes; each next class is `-f`
/// times larger, rounded up to 8 bytes, until the size reaches `slab_chunk_max` divided by the factor; the last class
/// is `slab_chunk_max` itself. Items larger than that are split into chunks (see `MemcachedStore.allocate`).
struct SlabClass {
    var size = 0
    var perPage = 0
    var pages: [UnsafeMutableRawPointer] = []
    /// The free chunks, a doubly linked list through offsets 0 (next) and 16 (prev) of each chunk.
    var freeHead: UInt = 0
    var freeCount = 0
    /// Bytes of the items stored in this class, as memcached's `mem_requested` (sizes by memcached's formula).
    var requestedBytes = 0
}

public struct SlabAllocator {
    /// memcached's `sizeof(item)` without the CAS value: class sizes are computed from it, so that `stats slabs` shows
    /// the same chunk sizes as memcached.
    public static let memcachedHeaderSize = 48
    static let chunkAlignment = 8
    static let freeFlag = Item.Flags.slabbed.rawValue

    var classes: [SlabClass]
    /// The largest class id (memcached's `power_largest`).
    public private(set) var largestClass: Int
    public let pageSize: Int
    public let chunkMax: Int
    public var memoryLimit: Int
    /// Bytes of pages taken from the system (memcached's `mem_malloced`, `total_malloced` in `stats slabs`).
    public private(set) var mallocated = 0
    /// Set once a class was refused a page for the limit (`stats`' `malloc_fails` is not this; this is
    /// `mem_limit_reached`, which the automover and the crawler read).
    public internal(set) var limitReached = false

    init(settings: MemcachedStoreSettings) {
        self.pageSize = settings.pageSize
        self.chunkMax = settings.chunkMax
        self.memoryLimit = settings.memoryLimit
        var classes = [SlabClass()]
        var size = Self.memcachedHeaderSize + settings.minimumChunk
        if let sizes = settings.classSizes {
            for explicit in sizes {
                var c = SlabClass()
                c.size = explicit
                c.perPage = settings.pageSize / explicit
                classes.append(c)
            }
        } else {
            while classes.count < MemcachedStoreSettings.maxClasses - 1 {
                if Double(size) >= Double(settings.chunkMax) / settings.growthFactor { break }
                if size % Self.chunkAlignment != 0 { size += Self.chunkAlignment - size % Self.chunkAlignment }
                var c = SlabClass()
                c.size = size
                c.perPage = settings.pageSize / size
                classes.append(c)
                // As memcached: `size *= factor` on an unsigned int, truncating.
                size = Int(Double(size) * settings.growthFactor)
            }
        }
        var last = SlabClass()
        last.size = settings.chunkMax
        last.perPage = settings.pageSize / settings.chunkMax
        classes.append(last)
        self.classes = classes
        self.largestClass = classes.count - 1
        // memcached's hook for its own test suite (64bit.t): start counting from a pretended amount already taken.
        if let text = getenv("T_MEMD_INITIAL_MALLOC"), let initial = Int64(String(cString: text)) {
            self.mallocated = Int(initial)
        }
    }

    /// Frees every page (the store's deinit).
    func releaseAll() {
        for c in self.classes {
            for page in c.pages { free(page) }
        }
    }

    /// The smallest class whose chunks hold `size` bytes; the largest class when none does (large items are
    /// chunked). 0 when `size` is 0.
    public func classID(forSize size: Int) -> Int {
        guard size > 0 else { return 0 }
        var id = 1
        while size > self.classes[id].size {
            if id == self.largestClass { return id }
            id += 1
        }
        return id
    }

    public func chunkSize(ofClass id: Int) -> Int { self.classes[id].size }

    public func chunksPerPage(ofClass id: Int) -> Int { self.classes[id].perPage }

    public func pageCount(ofClass id: Int) -> Int { self.classes[id].pages.count }

    public func freeChunks(ofClass id: Int) -> Int { self.classes[id].freeCount }

    public func requestedBytes(ofClass id: Int) -> Int { self.classes[id].requestedBytes }

    /// Pages waiting in the global pool.
    public var poolPages: Int { self.classes[0].pages.count }

    // MARK: - Chunks

    /// A chunk of class `id`, from its free list or a new page; nil when the class has none and may not grow.
    mutating func allocate(classID id: Int, mayGrow: Bool = true) -> UnsafeMutableRawPointer? {
        if self.classes[id].freeCount == 0 && mayGrow { _ = self.newPage(forClass: id) }
        let head = self.classes[id].freeHead
        guard let chunk = UnsafeMutableRawPointer(bitPattern: head) else { return nil }
        self.unlinkFree(chunk, classID: id)
        chunk.storeBytes(of: 0, toByteOffset: 8, as: UInt16.self)
        return chunk
    }

    /// Gives a chunk back to class `id`'s free list.
    mutating func release(_ chunk: UnsafeMutableRawPointer, classID id: Int) {
        chunk.storeBytes(of: Self.freeFlag, toByteOffset: 8, as: UInt16.self)
        chunk.storeBytes(of: UInt8(id), toByteOffset: 10, as: UInt8.self)
        let head = self.classes[id].freeHead
        chunk.storeBytes(of: head, toByteOffset: 0, as: UInt.self)
        chunk.storeBytes(of: 0, toByteOffset: 16, as: UInt.self)
        if let next = UnsafeMutableRawPointer(bitPattern: head) {
            next.storeBytes(of: UInt(bitPattern: chunk), toByteOffset: 16, as: UInt.self)
        }
        self.classes[id].freeHead = UInt(bitPattern: chunk)
        self.classes[id].freeCount += 1
    }

    /// Takes a free chunk out of its class's free list (allocation, or the slab mover emptying a page).
    mutating func unlinkFree(_ chunk: UnsafeMutableRawPointer, classID id: Int) {
        let next = chunk.load(fromByteOffset: 0, as: UInt.self)
        let prev = chunk.load(fromByteOffset: 16, as: UInt.self)
        if let p = UnsafeMutableRawPointer(bitPattern: prev) {
            p.storeBytes(of: next, toByteOffset: 0, as: UInt.self)
        } else {
            self.classes[id].freeHead = next
        }
        if let n = UnsafeMutableRawPointer(bitPattern: next) { n.storeBytes(of: prev, toByteOffset: 16, as: UInt.self) }
        chunk.storeBytes(of: 0, toByteOffset: 0, as: UInt.self)
        chunk.storeBytes(of: 0, toByteOffset: 16, as: UInt.self)
        self.classes[id].freeCount -= 1
    }

    static func isFree(_ chunk: UnsafeMutableRawPointer) -> Bool {
        chunk.load(fromByteOffset: 8, as: UInt16.self) & Self.freeFlag != 0
    }

    // MARK: - Pages

    /// memcached's `do_slabs_newslab`: a page from the global pool, or a new one while under the limit. A class with
    /// no page at all always gets one, even past the limit, as in memcached.
    mutating func newPage(forClass id: Int) -> Bool {
        let length = self.pageSize
        if self.memoryLimit > 0 && self.mallocated + length > self.memoryLimit && !self.classes[id].pages.isEmpty
            && self.classes[0].pages.isEmpty
        {
            self.limitReached = true
            return false
        }
        let page: UnsafeMutableRawPointer
        if let pooled = self.classes[0].pages.popLast() {
            page = pooled
        } else {
            guard let fresh = malloc(length) else { return false }
            page = fresh
            self.mallocated += length
        }
        memset(page, 0, length)
        self.adopt(page, classID: id)
        return true
    }

    /// Cuts `page` into class `id`'s chunks and puts them on its free list.
    mutating func adopt(_ page: UnsafeMutableRawPointer, classID id: Int) {
        let size = self.classes[id].size
        for i in 0..<self.classes[id].perPage {
            self.release(page + i * size, classID: id)
        }
        self.classes[id].pages.append(page)
    }

    /// Removes page `index` of class `id` from it (the slab mover, once every chunk of the page is free and off the
    /// free list) and gives it to `destination` (0: the global pool).
    mutating func movePage(at index: Int, of id: Int, to destination: Int) {
        let page = self.classes[id].pages.remove(at: index)
        if destination == 0 {
            self.classes[0].pages.append(page)
            // memcached's `memory_release` after a move to the pool: pages over the limit go back to the system.
            self.limitReached = false
            self.releasePoolPagesOverLimit()
        } else {
            memset(page, 0, self.pageSize)
            self.adopt(page, classID: destination)
        }
    }

    mutating func noteRequested(_ bytes: Int, classID id: Int) {
        self.classes[id].requestedBytes += bytes
    }

    /// `cache_memlimit`: a new limit; pages in use stay (the automover hands free ones back to the pool, from where
    /// they are freed).
    mutating func setMemoryLimit(_ limit: Int) {
        self.memoryLimit = limit
        self.limitReached = false
        self.releasePoolPagesOverLimit()
    }

    /// memcached's `memory_release`: pages waiting in the pool go back to the system while over the limit.
    mutating func releasePoolPagesOverLimit() {
        while self.memoryLimit > 0 && self.mallocated > self.memoryLimit, let page = self.classes[0].pages.popLast() {
            free(page)
            self.mallocated -= self.pageSize
        }
    }

    /// The classes in use: 1 ... largest.
    public var classIDs: ClosedRange<Int> { 1...self.largestClass }
}
