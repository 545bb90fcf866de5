import NIOCore
import SwiftletMemcachedStore

/// What a meta command's flags ask for (memcached's `struct _meta_flags`).
struct MetaFlags {
    var noUpdate = false
    var locked = false
    var vivify = false
    var lastAccess = false
    var value = false
    var setStale = false
    var noReply = false
    var hasCAS = false
    var newTTL = false
    var binaryKey = false
    var mode: UInt8 = 0
    var expiry: UInt32 = 0
    var vivifyExpiry: UInt32 = 0
    var recacheTime: UInt32 = 0
    var clientFlags: UInt32 = 0
    var compareCAS: UInt64 = 0
    var delta: UInt64 = 1
    var initial: UInt64 = 0
}

/// The reply a meta set builds once its value is in: the status and the O, k and c flags, in request order.
struct MetaSetReply {
    /// (flag, opaque token) in request order: `O` carries its token, `k` and `c` none.
    var returns: [(UInt8, [UInt8])]
}

/// memcached's meta protocol: mg, ms, md, ma, mn, me. Return flags come back in the order they were asked for.
extension MemcachedConnection {
    static let metaMaxOptions = 20
    static let metaMaxOpaque = 32

    /// Echoes the request's `O` (opaque) and `k` (key) flags in request order, as every meta reply without an item
    /// does. False when an opaque token is too long: the reply so far is dropped and the error sent instead.
    func writeOpaqueAndKey(
        _ line: UnsafeRawBufferPointer,
        key: [UInt8],
        binaryKey: Bool,
        start: Int,
        _ out: inout ByteBuffer
    ) -> Bool {
        for index in 2..<self.tokens.count {
            let token = self.token(line, index)
            switch token[0] {
            case UInt8(ascii: "O"):
                guard self.writeOpaque(token, start: start, &out) else { return false }
            case UInt8(ascii: "k"):
                key.withUnsafeBytes { self.writeMetaKey($0, binary: binaryKey, &out) }
            default:
                break
            }
        }
        return true
    }

    /// " <opaque>", or false (the reply since `start` dropped, the error sent) when the token is over 32 bytes.
    func writeOpaque(_ token: UnsafeRawBufferPointer, start: Int, _ out: inout ByteBuffer) -> Bool {
        if token.count > Self.metaMaxOpaque {
            out.moveWriterIndex(to: start)
            self.outError("CLIENT_ERROR opaque token too long", &out)
            return false
        }
        out.writeStaticString(" ")
        out.writeBytes(token)
        return true
    }

    /// memcached's `_meta_flag_preparse`: each flag once, known flags only, numbers checked; `b` decodes the key.
    /// - Returns: the flags and the key (decoded when `b`), or the error text.
    func metaPreparse(
        _ line: UnsafeRawBufferPointer,
        from start: Int,
        key: inout [UInt8]
    ) -> (MetaFlags, StaticString?) {
        var flags = MetaFlags()
        var seen = [Bool](repeating: false, count: 128)
        var error: StaticString? = nil
        var index = start
        while index < self.tokens.count {
            let token = self.token(line, index)
            let o = token[0]
            if o >= 127 || seen[Int(o)] { return (flags, "CLIENT_ERROR duplicate flag") }
            seen[Int(o)] = true
            let argument = UnsafeRawBufferPointer(rebasing: token[1...])
            switch o {
            case UInt8(ascii: "b"):
                if let decoded = key.withUnsafeBytes({ Base64.decode($0) }) {
                    key = decoded
                } else {
                    error = "CLIENT_ERROR error decoding key"
                    key = []
                }
                flags.binaryKey = true
            case UInt8(ascii: "N"):
                flags.locked = true
                flags.vivify = true
                if let value = CNumbers.signed32(argument) {
                    flags.vivifyExpiry = self.engine.expiry(value)
                } else {
                    error = "CLIENT_ERROR bad token in command line format"
                }
            case UInt8(ascii: "T"):
                flags.locked = true
                if let value = CNumbers.signed32(argument) {
                    flags.expiry = self.engine.expiry(value)
                    flags.newTTL = true
                } else {
                    error = "CLIENT_ERROR bad token in command line format"
                }
            case UInt8(ascii: "R"):
                flags.locked = true
                if let value = CNumbers.signed32(argument) {
                    flags.recacheTime = self.engine.expiry(value)
                } else {
                    error = "CLIENT_ERROR bad token in command line format"
                }
            case UInt8(ascii: "l"):
                flags.lastAccess = true
                flags.locked = true
            case UInt8(ascii: "O"), UInt8(ascii: "P"), UInt8(ascii: "L"), UInt8(ascii: "k"), UInt8(ascii: "s"),
                UInt8(ascii: "t"), UInt8(ascii: "c"), UInt8(ascii: "f"):
                break
            case UInt8(ascii: "v"):
                flags.value = true
            case UInt8(ascii: "h"):
                flags.locked = true
            case UInt8(ascii: "u"):
                flags.noUpdate = true
            case UInt8(ascii: "q"):
                flags.noReply = true
            case UInt8(ascii: "F"):
                if let value = CNumbers.unsigned32(argument) {
                    flags.clientFlags = value
                } else {
                    // memcached sets no message here: the caller's default ("bad command line format") is sent.
                    error = error ?? "CLIENT_ERROR bad command line format"
                }
            case UInt8(ascii: "C"):
                if let value = CNumbers.unsigned64(argument) {
                    flags.compareCAS = value
                    flags.hasCAS = true
                } else {
                    error = "CLIENT_ERROR bad token in command line format"
                }
            case UInt8(ascii: "M"):
                if token.count != 2 {
                    error = "CLIENT_ERROR incorrect length for M token"
                } else {
                    flags.mode = token[1]
                }
            case UInt8(ascii: "J"):
                if let value = CNumbers.unsigned64(argument) {
                    flags.initial = value
                } else {
                    error = "CLIENT_ERROR invalid numeric initial value"
                }
            case UInt8(ascii: "D"):
                if let value = CNumbers.unsigned64(argument) {
                    flags.delta = value
                } else {
                    error = "CLIENT_ERROR invalid numeric delta value"
                }
            case UInt8(ascii: "I"):
                flags.setStale = true
            default:
                return (flags, "CLIENT_ERROR invalid flag")
            }
            index += 1
        }
        return (flags, error)
    }

    /// " k<key>" (base64 and " b" for a binary key), as memcached's `META_KEY`.
    func writeMetaKey(_ key: UnsafeRawBufferPointer, binary: Bool, _ out: inout ByteBuffer) {
        out.writeStaticString(" k")
        if binary {
            var encoded: [UInt8] = []
            Base64.encode(key, into: &encoded)
            out.writeBytes(encoded)
            out.writeStaticString(" b")
        } else {
            out.writeBytes(key)
        }
    }

    // MARK: - mg

    func metaGet(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        guard self.ntokens >= 3 else {
            self.outString("ERROR", &out)
            return
        }
        if self.tokens[1].count > Self.keyMaxLength {
            self.outError("CLIENT_ERROR bad command line format", &out)
            return
        }
        if self.ntokens > Self.metaMaxOptions {
            self.outError("CLIENT_ERROR options flags are too long", &out)
            return
        }
        var key = Array(self.token(line, 1))
        let (flags, error) = self.metaPreparse(line, from: 2, key: &key)
        if let error {
            self.outError(error, &out)
            return
        }
        self.noreply = flags.noReply
        let store = self.store
        var item = key.withUnsafeBytes { store.find($0, bump: !flags.locked && !flags.noUpdate) }
        var created = false
        if item == nil && flags.vivify {
            if case .success(let fresh) = key.withUnsafeBytes({
                store.allocate(key: $0, clientFlags: 0, expiry: 0, valueLength: 0)
            }) {
                store.link(fresh)
                item = fresh
                created = true
            }
        }
        let start = out.writerIndex
        guard let item else {
            // A miss: EN (not sent under q), with O and k.
            // memcached's `ttl_set` is only set on a hit: a miss always counts as a get miss.
            self.engine.stats.getMisses += 1
            self.engine.stats.getCommands += 1
            out.writeStaticString("EN")
            guard self.writeOpaqueAndKey(line, key: key, binaryKey: flags.binaryKey, start: start, &out) else { return }
            out.writeStaticString("\r\n")
            if self.noreply { out.moveWriterIndex(to: start) }
            return
        }
        var wonToken = false
        var ttlSet = false
        if flags.value {
            out.writeStaticString("VA ")
            Self.writeDecimal(item.valueLength, &out)
        } else {
            out.writeStaticString("HD")
        }
        for index in 2..<self.tokens.count {
            let token = self.token(line, index)
            switch token[0] {
            case UInt8(ascii: "T"):
                ttlSet = true
                item.expiry = flags.expiry
            case UInt8(ascii: "N"):
                if created {
                    item.expiry = flags.vivifyExpiry
                    wonToken = true
                }
            case UInt8(ascii: "R"):
                if !item.flags.contains(.tokenSent) && !created && item.expiry != 0 && item.expiry < flags.recacheTime {
                    wonToken = true
                }
            case UInt8(ascii: "s"):
                out.writeStaticString(" s")
                Self.writeDecimal(item.valueLength, &out)
            case UInt8(ascii: "t"):
                out.writeStaticString(" t")
                if item.expiry == 0 {
                    out.writeStaticString("-1")
                } else {
                    Self.writeDecimal(item.expiry &- self.engine.now, &out)
                }
            case UInt8(ascii: "c"):
                out.writeStaticString(" c")
                Self.writeDecimal(item.cas, &out)
            case UInt8(ascii: "f"):
                out.writeStaticString(" f")
                Self.writeDecimal(item.clientFlags, &out)
            case UInt8(ascii: "l"):
                out.writeStaticString(" l")
                Self.writeDecimal(self.engine.now &- item.lastAccess, &out)
            case UInt8(ascii: "h"):
                out.writeStaticString(item.flags.contains(.fetched) ? " h1" : " h0")
            case UInt8(ascii: "O"):
                guard self.writeOpaque(token, start: start, &out) else { return }
            case UInt8(ascii: "k"):
                self.writeMetaKey(item.key, binary: item.flags.contains(.binaryKey), &out)
            default:
                break
            }
        }
        if item.flags.contains(.tokenSent) { out.writeStaticString(" Z") }
        if item.flags.contains(.stale) {
            out.writeStaticString(" X")
            if !item.flags.contains(.tokenSent) { wonToken = true }
        }
        if wonToken {
            out.writeStaticString(" W")
            item.flags.insert(.tokenSent)
        }
        out.writeStaticString("\r\n")
        if flags.value {
            item.forEachValuePiece { out.writeBytes($0) }
            out.writeStaticString("\r\n")
        }
        if flags.locked && !flags.noUpdate { store.bump(item) }
        let classID = store.lruClass(of: item)
        if ttlSet {
            self.engine.stats.touchCommands += 1
            store.commandStats[classID].touchHits += 1
        } else {
            self.engine.stats.lruHits[classID * 4 + item.lruSegment] += 1
            self.engine.stats.getCommands += 1
        }
    }

    // MARK: - ms

    func metaSet(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        guard self.ntokens >= 3 else {
            self.outString("ERROR", &out)
            return
        }
        if self.tokens[1].count > Self.keyMaxLength || self.ntokens == 3 {
            self.outError("CLIENT_ERROR bad command line format", &out)
            return
        }
        if self.ntokens > Self.metaMaxOptions {
            self.outError("CLIENT_ERROR options flags too long", &out)
            return
        }
        guard let declared = CNumbers.signed32(self.token(line, 2)), declared >= 0, declared <= Int32.max - 2 else {
            self.outError("CLIENT_ERROR bad command line format", &out)
            return
        }
        let length = Int(declared)
        var key = Array(self.token(line, 1))
        let (flags, preparseError) = self.metaPreparse(line, from: 3, key: &key)
        var error: StaticString? = preparseError
        var reply = MetaSetReply(returns: [])
        if error == nil {
            self.noreply = flags.noReply
            for index in 2..<self.tokens.count {
                let token = self.token(line, index)
                switch token[0] {
                case UInt8(ascii: "O"):
                    if token.count > Self.metaMaxOpaque {
                        error = "CLIENT_ERROR opaque token too long"
                    } else {
                        reply.returns.append((UInt8(ascii: "O"), Array(token)))
                    }
                case UInt8(ascii: "k"): reply.returns.append((UInt8(ascii: "k"), []))
                case UInt8(ascii: "c"): reply.returns.append((UInt8(ascii: "c"), []))
                default: break
                }
            }
        }
        var mode = MemcachedStore.StoreMode.set
        if error == nil {
            switch flags.mode {
            case 0, UInt8(ascii: "S"): mode = .set
            case UInt8(ascii: "E"): mode = .add
            case UInt8(ascii: "A"): mode = .append
            case UInt8(ascii: "P"): mode = .prepend
            case UInt8(ascii: "R"): mode = .replace
            default: error = "CLIENT_ERROR invalid mode for ms M token"
            }
            if flags.hasCAS && (mode == .set || mode == .replace) { mode = .cas }
        }
        if let error {
            self.swallow(length + 2) { self.outError(error, &$0) }
            return
        }
        let store = self.store
        let allocation = key.withUnsafeBytes {
            store.allocate(key: $0, clientFlags: flags.clientFlags, expiry: flags.expiry, valueLength: length)
        }
        switch allocation {
        case .success(let item):
            if flags.binaryKey { item.flags.insert(.binaryKey) }
            var pending = Pending(item: item, mode: mode, compare: flags.compareCAS)
            pending.meta = reply
            pending.allowStale = flags.setStale && mode == .cas
            self.pending = pending
            self.state = .receiving
        case .failure(let failure):
            if failure == .tooLarge {
                self.engine.stats.storeTooLarge += 1
            } else {
                self.engine.stats.storeNoMemory += 1
            }
            if let old = key.withUnsafeBytes({ store.find($0, bump: false) }) { store.unlink(old) }
            let text: StaticString =
                failure == .tooLarge
                ? "SERVER_ERROR object too large for cache" : "SERVER_ERROR out of memory storing object"
            self.swallow(length + 2) { self.outError(text, &$0) }
        }
    }

    /// memcached's `_finalize_mset`: HD (not sent under q), EX, NF or NS, then O, k and c in request order.
    func finishMetaSet(
        _ reply: MetaSetReply,
        outcome: MemcachedStore.StoreOutcome,
        cas: UInt64,
        key item: Item,
        _ out: inout ByteBuffer
    ) {
        let start = out.writerIndex
        switch outcome {
        case .stored: out.writeStaticString("HD")
        case .exists: out.writeStaticString("EX")
        case .notFound: out.writeStaticString("NF")
        case .notStored: out.writeStaticString("NS")
        }
        for (flag, token) in reply.returns {
            switch flag {
            case UInt8(ascii: "O"):
                out.writeStaticString(" ")
                out.writeBytes(token)
            case UInt8(ascii: "k"):
                self.writeMetaKey(item.key, binary: item.flags.contains(.binaryKey), &out)
            default:
                out.writeStaticString(" c")
                Self.writeDecimal(cas, &out)
            }
        }
        out.writeStaticString("\r\n")
        if outcome == .stored && self.noreply { out.moveWriterIndex(to: start) }
    }

    // MARK: - md

    func metaDelete(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        guard self.ntokens >= 3 else {
            self.outString("ERROR", &out)
            return
        }
        if self.tokens[1].count > Self.keyMaxLength {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        if self.ntokens > Self.metaMaxOptions {
            self.outString("CLIENT_ERROR options flags too long", &out)
            return
        }
        var key = Array(self.token(line, 1))
        let (flags, error) = self.metaPreparse(line, from: 2, key: &key)
        if error != nil {
            self.outError("CLIENT_ERROR invalid or duplicate flag", &out)
            return
        }
        self.noreply = flags.noReply
        let start = out.writerIndex
        out.writeStaticString("XX")
        guard self.writeOpaqueAndKey(line, key: key, binaryKey: flags.binaryKey, start: start, &out) else { return }
        out.writeStaticString("\r\n")
        let store = self.store
        var status: StaticString
        var skip = false
        if let item = key.withUnsafeBytes({ store.find($0, bump: false) }) {
            if flags.hasCAS && item.cas != flags.compareCAS {
                self.engine.stats.deleteMisses += 1
                status = "EX"
            } else if flags.setStale {
                if flags.newTTL { item.expiry = flags.expiry }
                item.flags.insert(.stale)
                item.flags.remove(.tokenSent)
                item.cas = store.settings.useCAS ? store.nextCAS() : 0
                skip = self.noreply
                status = "HD"
            } else {
                store.commandStats[store.lruClass(of: item)].deleteHits += 1
                store.unlink(item)
                skip = self.noreply
                status = "HD"
            }
        } else {
            self.engine.stats.deleteMisses += 1
            status = "NF"
        }
        _ = out.setStaticString(status, at: start)
        if skip { out.moveWriterIndex(to: start) }
    }

    // MARK: - ma

    func metaArithmetic(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        guard self.ntokens >= 3 else {
            self.outString("ERROR", &out)
            return
        }
        if self.tokens[1].count > Self.keyMaxLength {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        if self.ntokens > Self.metaMaxOptions {
            self.outString("CLIENT_ERROR options flags too long", &out)
            return
        }
        var key = Array(self.token(line, 1))
        let (flags, error) = self.metaPreparse(line, from: 2, key: &key)
        if error != nil {
            self.outError("CLIENT_ERROR invalid or duplicate flag", &out)
            return
        }
        self.noreply = flags.noReply
        var increment = true
        switch flags.mode {
        case 0, UInt8(ascii: "I"), UInt8(ascii: "+"): increment = true
        case UInt8(ascii: "D"), UInt8(ascii: "-"): increment = false
        default:
            self.outError("CLIENT_ERROR invalid mode for ma M token", &out)
            return
        }
        let store = self.store
        let start = out.writerIndex
        var item: Item? = nil
        var value: UInt64 = 0
        var created = false
        var skip = false
        let compare = flags.hasCAS ? flags.compareCAS : 0
        switch key.withUnsafeBytes({ store.delta($0, increment: increment, by: flags.delta, compare: compare) }) {
        case .value(let result, let updated):
            skip = self.noreply
            item = updated
            value = result
        case .nonNumeric:
            self.outError("CLIENT_ERROR cannot increment or decrement non-numeric value", &out)
            return
        case .outOfMemory:
            self.outError("SERVER_ERROR out of memory", &out)
            return
        case .notFound:
            if flags.vivify {
                var digits: [UInt8] = []
                MemcachedStore.appendDecimal(flags.initial, to: &digits)
                let allocation = key.withUnsafeBytes {
                    store.allocate(key: $0, clientFlags: 0, expiry: 0, valueLength: digits.count)
                }
                guard case .success(let fresh) = allocation else {
                    self.outError("SERVER_ERROR Out of memory allocating new item", &out)
                    return
                }
                digits.withUnsafeBytes { fresh.writeValue($0, at: 0) }
                let (outcome, _) = store.store(fresh, mode: .add)
                self.engine.logStore(fresh, outcome, .add)
                if outcome == .stored {
                    created = true
                    item = fresh
                    value = flags.initial
                } else {
                    store.discard(fresh)
                }
            } else {
                if increment { self.engine.stats.incrMisses += 1 } else { self.engine.stats.decrMisses += 1 }
                out.writeStaticString("NF")
            }
        case .casMismatch:
            out.writeStaticString("EX")
        }
        var digits: [UInt8] = []
        if let item {
            MemcachedStore.appendDecimal(value, to: &digits)
            if flags.value {
                out.writeStaticString("VA ")
                Self.writeDecimal(digits.count, &out)
            } else {
                out.writeStaticString("HD")
            }
            for index in 2..<self.tokens.count {
                let token = self.token(line, index)
                switch token[0] {
                case UInt8(ascii: "c"):
                    out.writeStaticString(" c")
                    Self.writeDecimal(item.cas, &out)
                case UInt8(ascii: "t"):
                    out.writeStaticString(" t")
                    if item.expiry == 0 {
                        out.writeStaticString("-1")
                    } else {
                        Self.writeDecimal(item.expiry &- self.engine.now, &out)
                    }
                case UInt8(ascii: "T"):
                    item.expiry = flags.expiry
                case UInt8(ascii: "N"):
                    if created { item.expiry = flags.vivifyExpiry }
                case UInt8(ascii: "O"):
                    guard self.writeOpaque(token, start: start, &out) else { return }
                case UInt8(ascii: "k"):
                    key.withUnsafeBytes { self.writeMetaKey($0, binary: flags.binaryKey, &out) }
                default:
                    break
                }
            }
            if flags.value {
                out.writeStaticString("\r\n")
                out.writeBytes(digits)
            }
        } else {
            guard self.writeOpaqueAndKey(line, key: key, binaryKey: flags.binaryKey, start: start, &out) else { return }
        }
        out.writeStaticString("\r\n")
        if skip { out.moveWriterIndex(to: start) }
    }

    // MARK: - me

    /// `me <key> [b]`: an item's metadata, as memcached prints it for debugging.
    func metaDebug(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        if self.ntokens < 3 || self.tokens[1].count > Self.keyMaxLength {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        var key = Array(self.token(line, 1))
        if self.ntokens >= 4 && self.tokens[2].count == 1 && self.token(line, 2)[0] == UInt8(ascii: "b") {
            guard let decoded = key.withUnsafeBytes({ Base64.decode($0) }) else {
                self.outString("CLIENT_ERROR bad command line format", &out)
                return
            }
            key = decoded
        }
        let store = self.store
        self.engine.stats.metaCommands += 1
        guard let item = key.withUnsafeBytes({ store.find($0, bump: false) }) else {
            self.outString("EN", &out)
            return
        }
        out.writeStaticString("ME ")
        if item.flags.contains(.binaryKey) {
            var encoded: [UInt8] = []
            Base64.encode(item.key, into: &encoded)
            out.writeBytes(encoded)
        } else {
            out.writeBytes(item.key)
        }
        out.writeStaticString(" exp=")
        if item.expiry == 0 {
            out.writeStaticString("-1")
        } else {
            Self.writeDecimal(Int32(bitPattern: self.engine.now &- item.expiry), &out)
        }
        out.writeStaticString(" la=")
        Self.writeDecimal(self.engine.now &- item.lastAccess, &out)
        out.writeStaticString(" cas=")
        Self.writeDecimal(item.cas, &out)
        out.writeStaticString(item.flags.contains(.fetched) ? " fetch=yes" : " fetch=no")
        out.writeStaticString(" cls=")
        Self.writeDecimal(store.lruClass(of: item), &out)
        out.writeStaticString(" size=")
        Self.writeDecimal(store.memcachedSize(of: item), &out)
        out.writeStaticString("\r\n")
    }
}
