/// The store operations of memcached's commands, shared by the text, meta and binary protocols.
extension MemcachedStore {
    public enum StoreMode: Sendable {
        case set, add, replace, append, prepend, cas
    }

    public enum StoreOutcome: Sendable, Equatable {
        case stored, notStored, exists, notFound
    }

    /// memcached's `do_store_item`: stores the unlinked `item` as `mode` says. `compare` is the CAS the client sent
    /// (0: none); `allowStale` lets a lower CAS replace the value as stale (meta's `I` on ms). On `.stored` the item
    /// (or, for append/prepend, the combined one) is linked and its CAS is returned; otherwise the caller discards
    /// `item`.
    public func store(
        _ item: Item,
        mode: StoreMode,
        compare: UInt64 = 0,
        allowStale: Bool = false
    ) -> (StoreOutcome, cas: UInt64) {
        let key = item.key
        guard let old = self.find(key, hash: item.hash, bump: false) else {
            switch mode {
            case .add, .set:
                self.link(item)
                return (.stored, item.cas)
            case .cas:
                self.stats.casMisses += 1
                return (.notFound, 0)
            case .replace, .append, .prepend:
                return (.notStored, 0)
            }
        }
        enum Compare { case none, match, stale, badValue }
        let compared: Compare =
            compare == 0 ? .none : compare == old.cas ? .match : allowStale && compare < old.cas ? .stale : .badValue
        var stored = item
        switch mode {
        case .add:
            // add only stores a new key, but the existing one counts as used (memcached's `do_item_update`).
            self.update(old)
            return (.notStored, 0)
        case .cas:
            switch compared {
            case .match:
                self.commandStats[self.lruClass(old)].casHits += 1
            case .stale:
                item.expiry = old.expiry
                item.flags.insert(.stale)
                if old.flags.contains(.tokenSent) { item.flags.insert(.tokenSent) }
                self.commandStats[self.lruClass(old)].casHits += 1
            case .none, .badValue:
                self.commandStats[self.lruClass(old)].casBadValue += 1
                return (.exists, 0)
            }
        case .append, .prepend:
            if compared != .none && compared != .match { return (.exists, 0) }
            self.pin(old)
            defer { self.unpin() }
            guard
                case .success(let combined) = self.allocate(
                    key: key,
                    clientFlags: old.clientFlags,
                    expiry: old.expiry,
                    valueLength: old.valueLength + item.valueLength
                )
            else { return (.notStored, 0) }
            var offset = 0
            let first = mode == .append ? old : item
            let second = mode == .append ? item : old
            first.forEachValuePiece { piece in
                combined.writeValue(piece, at: offset)
                offset += piece.count
            }
            second.forEachValuePiece { piece in
                combined.writeValue(piece, at: offset)
                offset += piece.count
            }
            // The uploaded item is the caller's to discard; the combined one takes its place.
            stored = combined
        case .replace, .set:
            break
        }
        self.replace(old, with: stored)
        return (.stored, stored.cas)
    }

    public enum DeltaOutcome: Equatable {
        case value(UInt64, item: Item)
        case notFound
        case nonNumeric
        case casMismatch
        case outOfMemory
    }

    /// memcached's `do_add_delta`: incr wraps at 2^64, decr stops at 0. A result that fits in the old value's length is
    /// written in place, padded with spaces (as memcached does, so "10" decremented is "9 "); a longer one replaces the
    /// item.
    public func delta(
        _ key: UnsafeRawBufferPointer,
        increment: Bool,
        by amount: UInt64,
        compare: UInt64 = 0
    )
        -> DeltaOutcome
    {
        guard let item = self.find(key, bump: false) else { return .notFound }
        if item.valueLength == 0 || item.isChunked { return .nonNumeric }
        if compare != 0 && item.cas != compare { return .casMismatch }
        guard let current = CNumbers.unsigned64(item.contiguousValue) else { return .nonNumeric }
        let result: UInt64
        if increment {
            result = current &+ amount
            self.commandStats[self.lruClass(item)].incrHits += 1
        } else {
            result = amount > current ? 0 : current - amount
            self.commandStats[self.lruClass(item)].decrHits += 1
        }
        var digits: [UInt8] = []
        Self.appendDecimal(result, to: &digits)
        if digits.count <= item.valueLength {
            item.cas = self.settings.useCAS ? self.nextCAS() : 0
            digits.withUnsafeBytes { item.writeValue($0, at: 0) }
            let pad = item.valueLength - digits.count
            if pad > 0 {
                (item.valueStart + digits.count).initializeMemory(as: UInt8.self, repeating: 0x20, count: pad)
            }
            self.update(item)
            return .value(result, item: item)
        }
        self.pin(item)
        defer { self.unpin() }
        guard
            case .success(let fresh) = self.allocate(
                key: key,
                clientFlags: item.clientFlags,
                expiry: item.expiry,
                valueLength: digits.count
            )
        else { return .outOfMemory }
        digits.withUnsafeBytes { fresh.writeValue($0, at: 0) }
        self.replace(item, with: fresh)
        return .value(result, item: fresh)
    }

    public static func appendDecimal(_ value: UInt64, to bytes: inout [UInt8]) {
        if value == 0 {
            bytes.append(0x30)
            return
        }
        var v = value
        let start = bytes.count
        while v > 0 {
            bytes.append(UInt8(truncatingIfNeeded: v % 10) + 0x30)
            v /= 10
        }
        bytes[start...].reverse()
    }

    /// Sets a new expiry on a live item and counts a touch hit (memcached's `do_item_touch`; the fetch bump is the
    /// caller's, through `find`).
    public func touch(_ item: Item, expiry: UInt32) {
        item.expiry = expiry
        self.commandStats[self.lruClass(item)].touchHits += 1
    }

    /// `flush_all`: every item stored before `oldestLive` (store seconds) is gone from then on; with CAS, items with a
    /// CAS below the current one go at once, as memcached's `oldest_cas` makes them.
    public func flush(oldestLive: UInt32) {
        if self.settings.useCAS {
            self.oldestLive = oldestLive &- 1
            if self.oldestLive <= self.now { self.oldestCAS = self.nextCAS() }
        } else {
            self.oldestLive = oldestLive
        }
    }
}
