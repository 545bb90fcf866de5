import DequeModule

/// Changes in the middle of a list: LINSERT, LSET, LREM, LTRIM.
extension ListValue {
    // MARK: - Entries

    /// Inserts `bytes` before the entry at byte `offset` of node `ni` (`offset` may be the node's tail).
    func insert(_ bytes: UnsafeRawBufferPointer, node ni: Int, offset: Int) {
        let element = ListPack.Element(bytes)
        let size = ListPack.entrySize(element)
        self.count += 1
        var node = self.nodes[ni]
        if !self.fits(node, size) {
            // A full node: use a neighbour with room, or a node of its own (splitting this one if in the middle).
            if offset == node.head, ni > 0, self.fits(self.nodes[ni - 1], size) {
                self.write(element, size: size, into: ni - 1, at: self.nodes[ni - 1].tail)
                return
            }
            if offset == node.tail, ni + 1 < self.nodes.count, self.fits(self.nodes[ni + 1], size) {
                self.write(element, size: size, into: ni + 1, at: self.nodes[ni + 1].head)
                return
            }
            let single = ListNode.make(capacity: size, head: 0)
            ListPack.write(element, to: single.base)
            single.tail = size
            single.count = 1
            if offset == node.head {
                self.nodes.insert(single, at: ni)
                return
            }
            if offset == node.tail {
                self.nodes.insert(single, at: ni + 1)
                return
            }
            let right = self.split(ni, at: offset)
            node = self.nodes[ni]
            if self.fits(node, size) {
                self.nodes.insert(right, at: ni + 1)
                self.write(element, size: size, into: ni, at: node.tail)
            } else {
                self.nodes.insert(contentsOf: [single, right], at: ni + 1)
            }
            return
        }
        self.write(element, size: size, into: ni, at: offset)
    }

    /// Writes an entry into node `ni` at byte `offset`; the node must be within its limits afterwards.
    private func write(_ element: ListPack.Element, size: Int, into ni: Int, at offset: Int) {
        var node = self.nodes[ni]
        var at = node.openGap(at: offset, size: size)
        if at == nil {
            let room: ListNode.Room = offset == node.tail ? .back : offset == node.head ? .front : .both
            let oldHead = node.head
            node = node.relayout(
                capacity: self.grownCapacity(node, needed: node.used + size),
                gapAt: offset,
                gap: size,
                room: room
            )
            self.nodes[ni] = node
            at = node.head + (offset - oldHead)
        }
        // Either branch above produced a gap.
        ListPack.write(element, to: node.base + at!)
        node.count += 1
    }

    /// Cuts node `ni` at byte `offset` (strictly inside it): the entries from `offset` on move to the returned
    /// node, which the caller places in `nodes`.
    private func split(_ ni: Int, at offset: Int) -> ListNode {
        let node = self.nodes[ni]
        var leftCount = 0
        var o = node.head
        let p = node.base
        while o < offset {
            o += ListPack.size(at: p + o)
            leftCount += 1
        }
        let rightBytes = node.tail - offset
        let right = ListNode.make(capacity: rightBytes, head: 0)
        right.base.update(from: p + offset, count: rightBytes)
        right.tail = rightBytes
        right.count = node.count - leftCount
        node.tail = offset
        node.count = leftCount
        return right
    }

    /// Removes the entry at byte `offset` of node `ni`, dropping the node if it becomes empty.
    func removeEntry(node ni: Int, offset: Int) {
        let node = self.nodes[ni]
        node.closeGap(at: offset, size: ListPack.size(at: node.base + offset))
        node.count -= 1
        self.count -= 1
        if node.count == 0 { self.nodes.remove(at: ni) }
    }

    // MARK: - Commands

    /// LSET: replaces element `index`. Returns `false` when the index is out of range (negative counts from the
    /// tail).
    public func replace(at index: Int, with bytes: UnsafeRawBufferPointer) -> Bool {
        let i = index < 0 ? self.count + index : index
        guard i >= 0 && i < self.count else { return false }
        let (ni, offset) = self.locate(i)
        let node = self.nodes[ni]
        let element = ListPack.Element(bytes)
        let size = ListPack.entrySize(element)
        if ListPack.size(at: node.base + offset) == size {
            ListPack.write(element, to: node.base + offset)
            return true
        }
        if node.count == 1 {
            // Replace the whole node's content.
            let fresh = ListNode.make(capacity: size, head: 0)
            ListPack.write(element, to: fresh.base)
            fresh.tail = size
            fresh.count = 1
            self.nodes[ni] = fresh
            return true
        }
        // Remove, then insert where it was: the node keeps at least one entry, so `ni` stays valid.
        node.closeGap(at: offset, size: ListPack.size(at: node.base + offset))
        node.count -= 1
        self.count -= 1
        // After closing the gap, the next entry starts at `offset` if the tail side moved, or the previous
        // entries shifted right by the removed size if the head side moved; find the spot by index instead.
        let positionInNode = self.position(ofOffsetFor: i, node: ni)
        self.insert(bytes, node: ni, offset: node.offset(ofEntry: positionInNode))
        return true
    }

    /// The index inside node `ni` of list element `index`.
    private func position(ofOffsetFor index: Int, node ni: Int) -> Int {
        var before = 0
        if ni <= self.nodes.count / 2 {
            for k in 0..<ni { before += self.nodes[k].count }
        } else {
            before = self.count
            for k in ni..<self.nodes.count { before -= self.nodes[k].count }
        }
        return index - before
    }

    /// LINSERT: inserts `bytes` before (or after) the first element equal to `pivot`. Returns `false` when the
    /// pivot is not in the list.
    public func insert(_ bytes: UnsafeRawBufferPointer, relativeTo pivot: UnsafeRawBufferPointer, after: Bool) -> Bool {
        let needle = ListNeedle(pivot)
        for ni in self.nodes.indices {
            let node = self.nodes[ni]
            let p = node.base
            var offset = node.head
            while offset < node.tail {
                let size = ListPack.size(at: p + offset)
                if needle.matches(p + offset) {
                    self.insert(bytes, node: ni, offset: after ? offset + size : offset)
                    return true
                }
                offset += size
            }
        }
        return false
    }

    /// LREM: removes up to `limit` elements equal to `bytes` (0: all), from the head or from the tail.
    /// - Returns: the number removed.
    public func remove(_ bytes: UnsafeRawBufferPointer, limit: Int, fromTail: Bool) -> Int {
        let needle = ListNeedle(bytes)
        var removed = 0
        let unlimited = limit == 0
        var ni = fromTail ? self.nodes.count - 1 : 0
        while ni >= 0 && ni < self.nodes.count && (unlimited || removed < limit) {
            let node = self.nodes[ni]
            let p = node.base
            var dropped = 0
            if !fromTail {
                // Compact forward: kept entries slide left over removed ones.
                var read = node.head
                var write = node.head
                while read < node.tail {
                    let size = ListPack.size(at: p + read)
                    if (unlimited || removed < limit) && needle.matches(p + read) {
                        removed += 1
                        dropped += 1
                    } else {
                        if write != read { (p + write).update(from: p + read, count: size) }
                        write += size
                    }
                    read += size
                }
                node.tail = write
            } else {
                var read = node.tail
                var write = node.tail
                while read > node.head {
                    let size = ListPack.size(endingAt: p + read)
                    let start = read - size
                    if (unlimited || removed < limit) && needle.matches(p + start) {
                        removed += 1
                        dropped += 1
                    } else {
                        write -= size
                        if write != start { (p + write).update(from: p + start, count: size) }
                    }
                    read = start
                }
                node.head = write
            }
            node.count -= dropped
            self.count -= dropped
            if node.count == 0 {
                self.nodes.remove(at: ni)
                if !fromTail { continue }
            }
            ni += fromTail ? -1 : 1
        }
        return removed
    }

    /// LTRIM: removes `dropFirst` elements from the head and `dropLast` from the tail.
    public func trim(dropFirst: Int, dropLast: Int) {
        self.removeFirst(dropFirst)
        self.removeLast(dropLast)
    }
}
