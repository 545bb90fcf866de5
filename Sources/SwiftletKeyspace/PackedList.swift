#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A compact sequence of byte strings in one block, each stored as a varint length then its bytes: what Redis's
/// listpack is to small hashes (fields and values alternate, in insertion order).
///
/// A plain struct over a `malloc` block: its owner calls ``release()`` exactly once (the owning class's `deinit`
/// or its conversion to another encoding). Element buffers stay valid until the next mutation.
struct PackedList {
    private(set) var base: UnsafeMutableRawPointer?
    /// Bytes in use.
    private(set) var used = 0
    private(set) var capacity = 0

    init() {}

    func release() {
        free(self.base)
    }

    /// The element at byte offset `offset` and the offset of the one after it.
    @inline(__always)
    func element(at offset: Int) -> (bytes: UnsafeRawBufferPointer, next: Int) {
        // Why `!`: an offset below `used` lies inside an allocated block.
        let p = self.base! + offset
        let (length, size) = VarLength.read(UnsafeRawPointer(p))
        return (UnsafeRawBufferPointer(start: p + size, count: length), offset + size + length)
    }

    /// Byte offset just after the element at `offset`.
    @inline(__always)
    func end(of offset: Int) -> Int {
        self.element(at: offset).next
    }

    private mutating func reserve(_ needed: Int) {
        if needed <= self.capacity { return }
        var grown = max(needed, self.capacity + self.capacity / 2)
        grown = (grown + 15) & ~15
        // Why `!`: allocation failure is fatal everywhere in Swift.
        self.base = realloc(self.base, grown)!
        self.capacity = grown
    }

    /// Appends one element.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let size = VarLength.size(bytes.count) + bytes.count
        self.reserve(self.used + size)
        // Why `!`: `reserve` allocated at least `size` > 0 bytes.
        let p = self.base! + self.used
        let header = VarLength.write(bytes.count, to: p)
        if bytes.count > 0 { (p + header).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        self.used += size
    }

    /// Replaces the element at `offset` with `bytes`, moving the elements after it.
    mutating func replace(at offset: Int, with bytes: UnsafeRawBufferPointer) {
        let oldEnd = self.end(of: offset)
        let newSize = VarLength.size(bytes.count) + bytes.count
        let delta = newSize - (oldEnd - offset)
        if delta > 0 { self.reserve(self.used + delta) }
        // Why `!`: the list holds the element being replaced, so it has a block.
        let base = self.base!
        if delta != 0 && oldEnd < self.used {
            memmove(base + oldEnd + delta, base + oldEnd, self.used - oldEnd)
        }
        let header = VarLength.write(bytes.count, to: base + offset)
        if bytes.count > 0 { (base + offset + header).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        self.used += delta
    }

    /// Removes the bytes `start..<end` (whole elements).
    mutating func remove(from start: Int, to end: Int) {
        // Why `!`: a non-empty range lies inside the block.
        let base = self.base!
        if end < self.used { memmove(base + start, base + end, self.used - end) }
        self.used -= end - start
        // Give memory back when a list shrank to under a quarter of its block, as listpack's exact-size blocks do.
        if self.capacity > 64 && self.used < self.capacity / 4 {
            let size = max((self.used + 15) & ~15, 16)
            self.base = realloc(self.base, size)!
            self.capacity = size
        }
    }

    /// A copy in its own block.
    func copy() -> PackedList {
        var copy = PackedList()
        if self.used > 0 {
            copy.reserve(self.used)
            // Why `!`: both blocks hold at least `used` > 0 bytes.
            copy.base!.copyMemory(from: self.base!, byteCount: self.used)
            copy.used = self.used
        }
        return copy
    }
}
