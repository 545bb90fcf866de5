import NIOCore
import SwiftletMemcachedStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// memcached's text protocol: one line per command ("\r\n" or "\n"), tokens split on spaces, the value of a store
/// command after its line. Every reply text is memcached 1.6.18's.
extension MemcachedConnection {
    static let maxTokens = 24
    static let keyMaxLength = 250

    /// Reads one command line and runs it (memcached's `try_read_command_ascii` and `process_command_ascii`).
    func processLine(_ input: inout ByteBuffer, into out: inout ByteBuffer) -> Outcome {
        let outcome: (Outcome, Int) = input.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, let found = memchr(base, 0x0A, bytes.count) else {
                // No line end in 2 KB: only a large multi-get may be that long; anything else closes the connection.
                if bytes.count > 2048 {
                    var i = 0
                    while i < bytes.count && bytes[i] == 0x20 { i += 1 }
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[i...])
                    if i > 100 || !(Self.hasPrefix(rest, "get ") || Self.hasPrefix(rest, "gets ")) {
                        return (.close, 0)
                    }
                }
                return (.needMore, 0)
            }
            let newline = base.distance(to: UnsafeRawPointer(found))
            var end = newline
            if end > 1 && bytes[end - 1] == 0x0D { end -= 1 }
            // The line is a C string to memcached: a NUL ends it.
            if let nul = memchr(base, 0, end) { end = base.distance(to: UnsafeRawPointer(nul)) }
            let line = UnsafeRawBufferPointer(start: base, count: end)
            return (self.runCommand(line, &out), newline + 1)
        }
        if outcome.0 == .needMore { return .needMore }
        input.moveReaderIndex(forwardBy: outcome.1)
        return outcome.0
    }

    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        return CNumbers.equals(UnsafeRawBufferPointer(rebasing: bytes[0..<prefix.utf8CodeUnitCount]), prefix)
    }

    /// memcached's `tokenize_command`: up to 23 tokens split on single spaces; `tokensRest` is where an unread
    /// remainder starts (a long multi-get).
    func tokenize(_ line: UnsafeRawBufferPointer, from start: Int) {
        self.tokens.removeAll()
        self.tokensRest = nil
        guard let base = line.baseAddress else { return }
        let count = line.count
        var s = start
        // Each token ends at the next space (memchr), runs of spaces are skipped.
        while s < count {
            if line[s] == 0x20 {
                s += 1
                continue
            }
            let e: Int
            if let space = memchr(base + s, 0x20, count - s) {
                e = base.distance(to: UnsafeRawPointer(space))
            } else {
                e = count
            }
            self.tokens.append(Token(start: s, count: e - s))
            if e < count && self.tokens.count == Self.maxTokens - 1 {
                // memcached stops here: the rest of the line (after this space) is left unread.
                if e + 1 < count { self.tokensRest = e + 1 }
                return
            }
            s = e + 1
        }
    }

    /// The token count as memcached counts it: the tokens and the terminal one.
    var ntokens: Int { self.tokens.count + 1 }

    @inline(__always)
    func token(_ line: UnsafeRawBufferPointer, _ index: Int) -> UnsafeRawBufferPointer {
        guard index < self.tokens.count, let base = line.baseAddress else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        let t = self.tokens[index]
        return UnsafeRawBufferPointer(start: base + t.start, count: t.count)
    }

    @inline(__always)
    func tokenIs(_ line: UnsafeRawBufferPointer, _ index: Int, _ text: StaticString) -> Bool {
        index < self.tokens.count && CNumbers.equals(self.token(line, index), text)
    }

    /// memcached's `set_noreply_maybe`: the last token is "noreply".
    @discardableResult
    func setNoreplyMaybe(_ line: UnsafeRawBufferPointer) -> Bool {
        if self.tokensRest == nil && self.tokens.count > 0
            && CNumbers.equals(self.token(line, self.tokens.count - 1), "noreply")
        {
            self.noreply = true
        }
        return self.noreply
    }

    func runCommand(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) -> Outcome {
        self.noreply = false
        self.tokenize(line, from: 0)
        let n = self.ntokens
        if n < 2 || self.tokens[0].count < 2 {
            self.outString("ERROR", &out)
            return .done
        }
        let command = self.token(line, 0)
        let first = command[0]
        if first == UInt8(ascii: "m") && command.count == 2 {
            switch command[1] {
            case UInt8(ascii: "g"): self.metaGet(line, &out)
            case UInt8(ascii: "s"): self.metaSet(line, &out)
            case UInt8(ascii: "d"): self.metaDelete(line, &out)
            case UInt8(ascii: "n"):
                out.writeStaticString("MN\r\n")
                // memcached writes everything out after `mn`.
                self.flushMark = out.writerIndex
            case UInt8(ascii: "a"): self.metaArithmetic(line, &out)
            case UInt8(ascii: "e"): self.metaDebug(line, &out)
            default: self.outString("ERROR", &out)
            }
            return .done
        }
        switch first {
        case UInt8(ascii: "g"):
            guard n >= 3 else { break }
            if CNumbers.equals(command, "get") {
                self.get(line, returnCAS: false, touch: false, &out)
            } else if CNumbers.equals(command, "gets") {
                self.get(line, returnCAS: true, touch: false, &out)
            } else if CNumbers.equals(command, "gat") {
                self.get(line, returnCAS: false, touch: true, &out)
            } else if CNumbers.equals(command, "gats") {
                self.get(line, returnCAS: true, touch: true, &out)
            } else {
                break
            }
            return .done
        case UInt8(ascii: "s"):
            if CNumbers.equals(command, "set") {
                guard n == 6 || n == 7 else { break }
                self.update(line, mode: .set, &out)
            } else if CNumbers.equals(command, "stats") {
                self.stats(line, &out)
            } else if CNumbers.equals(command, "shutdown") {
                return self.shutdown(line, &out)
            } else if CNumbers.equals(command, "slabs") {
                self.slabs(line, &out)
            } else {
                break
            }
            return .done
        case UInt8(ascii: "a"):
            let mode: MemcachedStore.StoreMode
            if CNumbers.equals(command, "add") {
                mode = .add
            } else if CNumbers.equals(command, "append") {
                mode = .append
            } else {
                break
            }
            guard n == 6 || n == 7 else { break }
            self.update(line, mode: mode, &out)
            return .done
        case UInt8(ascii: "c"):
            if CNumbers.equals(command, "cas") {
                guard n == 7 || n == 8 else { break }
                self.update(line, mode: .cas, &out)
            } else if CNumbers.equals(command, "cache_memlimit") {
                guard n == 3 || n == 4 else { break }
                self.cacheMemlimit(line, &out)
            } else {
                break
            }
            return .done
        case UInt8(ascii: "i"):
            guard CNumbers.equals(command, "incr"), n == 4 || n == 5 else { break }
            self.arithmetic(line, increment: true, &out)
            return .done
        case UInt8(ascii: "d"):
            if CNumbers.equals(command, "delete") {
                guard n >= 3 && n <= 5 else { break }
                self.delete(line, &out)
            } else if CNumbers.equals(command, "decr") {
                guard n == 4 || n == 5 else { break }
                self.arithmetic(line, increment: false, &out)
            } else {
                break
            }
            return .done
        case UInt8(ascii: "t"):
            guard CNumbers.equals(command, "touch"), n == 4 || n == 5 else { break }
            self.touch(line, &out)
            return .done
        default:
            if CNumbers.equals(command, "replace") || CNumbers.equals(command, "prepend") {
                guard n == 6 || n == 7 else { break }
                self.update(line, mode: CNumbers.equals(command, "replace") ? .replace : .prepend, &out)
            } else if CNumbers.equals(command, "bget") {
                guard n >= 3 else { break }
                self.get(line, returnCAS: false, touch: false, &out)
            } else if CNumbers.equals(command, "flush_all") {
                guard n >= 2 && n <= 4 else { break }
                self.flushAll(line, &out)
            } else if CNumbers.equals(command, "version") {
                self.outText("VERSION \(MemcachedEngine.version)", &out)
            } else if CNumbers.equals(command, "quit") {
                self.quitRequested = true
                return .close
            } else if CNumbers.equals(command, "lru_crawler") {
                self.lruCrawler(line, &out)
            } else if CNumbers.equals(command, "watch") {
                self.watchCommand(line, &out)
            } else if CNumbers.equals(command, "verbosity") {
                guard n == 3 || n == 4 else { break }
                self.verbosity(line, &out)
            } else if CNumbers.equals(command, "lru") {
                guard n >= 3 else { break }
                self.lru(line, &out)
            } else {
                // memcached drops an HTTP request without a word.
                if self.tokens.count >= 1 && Self.hasPrefix(self.token(line, self.tokens.count - 1), "HTTP/") {
                    return .close
                }
                break
            }
            return .done
        }
        self.outString("ERROR", &out)
        return .done
    }

    // MARK: - Retrieval

    /// get, gets, gat, gats (memcached's `process_get_command`): VALUE lines for the keys found, then END. A key
    /// longer than 250 bytes drops every reply of the command and answers a format error instead.
    func get(_ line: UnsafeRawBufferPointer, returnCAS: Bool, touch: Bool, _ out: inout ByteBuffer) {
        var keyIndex = 1
        var expiry: UInt32 = 0
        if touch {
            guard let exptime = CNumbers.signed32(self.token(line, 1)) else {
                self.outString("CLIENT_ERROR invalid exptime argument", &out)
                return
            }
            keyIndex = 2
            expiry = self.engine.expiry(exptime)
        }
        var firstKey = true
        while true {
            while keyIndex < self.tokens.count {
                let key = self.token(line, keyIndex)
                if key.count > Self.keyMaxLength {
                    // memcached releases every response not yet sent (`conn_release_items`): the replies of the
                    // commands before this one in the same read go too.
                    out.moveWriterIndex(to: out.readerIndex)
                    if self.responseEnds != nil { self.responseEnds = [] }
                    self.outString("CLIENT_ERROR bad command line format", &out)
                    return
                }
                // memcached starts a response per key after the first (UDP sends each as its own datagrams).
                if !firstKey { self.endResponse(out, forced: true) }
                firstKey = false
                self.getOne(key, returnCAS: returnCAS, touch: touch, expiry: expiry, &out)
                keyIndex += 1
            }
            guard let rest = self.tokensRest else { break }
            self.tokenize(line, from: rest)
            keyIndex = 0
        }
        out.writeStaticString("END\r\n")
        // memcached writes everything out after a get.
        self.flushMark = out.writerIndex
    }

    @inline(__always)
    private func getOne(
        _ key: UnsafeRawBufferPointer,
        returnCAS: Bool,
        touch: Bool,
        expiry: UInt32,
        _ out: inout ByteBuffer
    ) {
        let store = self.store
        let found = store.find(key, bump: true)
        if self.engine.detailEnabled { self.engine.recordPrefix(key, .get(hit: found != nil)) }
        guard let item = found else {
            if touch {
                self.engine.stats.touchCommands += 1
                self.engine.stats.touchMisses += 1
            } else {
                self.engine.stats.getMisses += 1
                self.engine.stats.getCommands += 1
            }
            return
        }
        let classID = store.lruClass(of: item)
        if touch {
            store.touch(item, expiry: expiry)
            self.engine.stats.touchCommands += 1
        } else {
            // memcached's get_hits is the sum of its per-LRU hit counters.
            self.engine.stats.lruHits[classID * 4 + item.lruSegment] += 1
            self.engine.stats.getCommands += 1
        }
        // One reservation and raw copies: "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n".
        let key = item.key
        let valueLength = item.valueLength
        let room = 6 + key.count + 1 + 10 + 1 + 10 + 21 + 2 + valueLength + 2
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { buffer in
            let p = buffer.baseAddress!
            var n = 0
            Self.put("VALUE ", p, &n)
            (p + n).copyMemory(from: key.baseAddress!, byteCount: key.count)
            n += key.count
            p.storeBytes(of: 0x20, toByteOffset: n, as: UInt8.self)
            n += 1
            n += Self.putDecimal(UInt64(item.clientFlags), p + n)
            p.storeBytes(of: 0x20, toByteOffset: n, as: UInt8.self)
            n += 1
            n += Self.putDecimal(UInt64(valueLength), p + n)
            if returnCAS {
                p.storeBytes(of: 0x20, toByteOffset: n, as: UInt8.self)
                n += 1
                n += Self.putDecimal(item.cas, p + n)
            }
            Self.put("\r\n", p, &n)
            item.forEachValuePiece { piece in
                if piece.count > 0 { (p + n).copyMemory(from: piece.baseAddress!, byteCount: piece.count) }
                n += piece.count
            }
            Self.put("\r\n", p, &n)
            return n
        }
    }

    // MARK: - Storage

    /// set, add, replace, append, prepend, cas (memcached's `process_update_command`): the item is allocated when the
    /// line is read and the value goes straight into it; a refused item's value is swallowed.
    func update(_ line: UnsafeRawBufferPointer, mode: MemcachedStore.StoreMode, _ out: inout ByteBuffer) {
        self.setNoreplyMaybe(line)
        let key = self.token(line, 1)
        if key.count > Self.keyMaxLength {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        guard let flags = CNumbers.unsigned32(self.token(line, 2)),
            let exptime = CNumbers.signed32(self.token(line, 3)),
            let length = CNumbers.signed32(self.token(line, 4))
        else {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        let expiry = self.engine.expiry(exptime)
        if self.engine.detailEnabled { self.engine.recordPrefix(key, .set) }
        var compare: UInt64 = 0
        if mode == .cas {
            guard let value = CNumbers.unsigned64(self.token(line, 5)) else {
                self.outString("CLIENT_ERROR bad command line format", &out)
                return
            }
            compare = value
        }
        if length < 0 || length > Int32.max - 2 {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        switch self.store.allocate(key: key, clientFlags: flags, expiry: expiry, valueLength: Int(length)) {
        case .success(let item):
            self.pending = Pending(item: item, mode: mode, compare: compare)
            self.state = .receiving
        case .failure(let failure):
            if failure == .tooLarge {
                self.swallow(Int(length) + 2) { self.outString("SERVER_ERROR object too large for cache", &$0) }
                self.engine.stats.storeTooLarge += 1
            } else {
                self.swallow(Int(length) + 2) { self.outString("SERVER_ERROR out of memory storing object", &$0) }
                self.engine.stats.storeNoMemory += 1
            }
            self.engine.logStoreFailure(key, tooLarge: failure == .tooLarge, mode)
            // A set that failed must not leave the old value readable.
            if mode == .set, let old = self.store.find(key, bump: false) { self.store.unlink(old) }
        }
    }

    /// The value is in (memcached's `complete_nread_ascii`): it must end in CRLF, then it is stored.
    func completeStore(_ pending: Pending, into out: inout ByteBuffer) {
        let item = pending.item
        self.store.commandStats[self.store.lruClass(of: item)].setCommands += 1
        guard pending.tail0 == 0x0D && pending.tail1 == 0x0A else {
            if pending.meta != nil { self.noreply = false }
            self.outString("CLIENT_ERROR bad data chunk", &out)
            self.store.discard(item)
            return
        }
        let (outcome, cas) = self.store.store(
            item,
            mode: pending.mode,
            compare: pending.compare,
            allowStale: pending.allowStale
        )
        self.engine.logStore(item, outcome, pending.mode)
        // A refused item, or the uploaded part of an append (the combined item took its place), is freed.
        if !item.flags.contains(.linked) { self.store.discard(item) }
        if let meta = pending.meta {
            self.finishMetaSet(meta, outcome: outcome, cas: cas, key: item, &out)
            return
        }
        switch outcome {
        case .stored: self.outString("STORED", &out)
        case .exists: self.outString("EXISTS", &out)
        case .notFound: self.outString("NOT_FOUND", &out)
        case .notStored: self.outString("NOT_STORED", &out)
        }
    }

    // MARK: - Other item commands

    func touch(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        self.setNoreplyMaybe(line)
        let key = self.token(line, 1)
        if key.count > Self.keyMaxLength {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        guard let exptime = CNumbers.signed32(self.token(line, 2)) else {
            self.outString("CLIENT_ERROR invalid exptime argument", &out)
            return
        }
        let expiry = self.engine.expiry(exptime)
        self.engine.stats.touchCommands += 1
        if let item = self.store.find(key, bump: true) {
            self.store.touch(item, expiry: expiry)
            self.outString("TOUCHED", &out)
        } else {
            self.engine.stats.touchMisses += 1
            self.outString("NOT_FOUND", &out)
        }
    }

    func arithmetic(_ line: UnsafeRawBufferPointer, increment: Bool, _ out: inout ByteBuffer) {
        self.setNoreplyMaybe(line)
        let key = self.token(line, 1)
        if key.count > Self.keyMaxLength {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        guard let delta = CNumbers.unsigned64(self.token(line, 2)) else {
            self.outString("CLIENT_ERROR invalid numeric delta argument", &out)
            return
        }
        switch self.store.delta(key, increment: increment, by: delta) {
        case .value(let value, _):
            if self.noreply { return }
            Self.writeDecimal(value, &out)
            out.writeStaticString("\r\n")
        case .nonNumeric:
            self.outString("CLIENT_ERROR cannot increment or decrement non-numeric value", &out)
        case .outOfMemory:
            self.outString("SERVER_ERROR out of memory", &out)
        case .notFound:
            if increment { self.engine.stats.incrMisses += 1 } else { self.engine.stats.decrMisses += 1 }
            self.outString("NOT_FOUND", &out)
        case .casMismatch:
            break
        }
    }

    func delete(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        let n = self.ntokens
        if n > 3 {
            let holdIsZero = self.tokenIs(line, 2, "0")
            let setsNoreply = self.setNoreplyMaybe(line)
            let valid = (n == 4 && (holdIsZero || setsNoreply)) || (n == 5 && holdIsZero && setsNoreply)
            if !valid {
                self.outString("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]", &out)
                return
            }
        }
        let key = self.token(line, 1)
        if key.count > Self.keyMaxLength {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        if self.engine.detailEnabled { self.engine.recordPrefix(key, .delete) }
        if let item = self.store.find(key, bump: false) {
            self.store.commandStats[self.store.lruClass(of: item)].deleteHits += 1
            self.store.unlink(item)
            self.outString("DELETED", &out)
        } else {
            self.engine.stats.deleteMisses += 1
            self.outString("NOT_FOUND", &out)
        }
    }

    // MARK: - Server commands

    func flushAll(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        self.setNoreplyMaybe(line)
        self.engine.stats.flushCommands += 1
        if !self.engine.settings.flushEnabled {
            self.outString("CLIENT_ERROR flush_all not allowed", &out)
            return
        }
        var exptime: Int32 = 0
        if self.ntokens != (self.noreply ? 3 : 2) {
            guard let value = CNumbers.signed32(self.token(line, 1)) else {
                self.outString("CLIENT_ERROR invalid exptime argument", &out)
                return
            }
            exptime = value
        }
        let oldest = exptime > 0 ? self.engine.expiry(exptime) : self.engine.now
        self.store.flush(oldestLive: oldest)
        self.outString("OK", &out)
    }

    func verbosity(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        self.setNoreplyMaybe(line)
        guard let level = CNumbers.unsigned32(self.token(line, 1)) else {
            self.outString("CLIENT_ERROR bad command line format", &out)
            return
        }
        self.engine.settings.verbosity = min(Int(level), 2)
        self.outString("OK", &out)
    }

    func cacheMemlimit(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        self.setNoreplyMaybe(line)
        guard let megabytes = CNumbers.unsigned32(self.token(line, 1)) else {
            self.outString("ERROR", &out)
            return
        }
        if megabytes < 8 {
            self.outString("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m", &out)
        } else if megabytes > 1_000_000_000 {
            self.outString("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes", &out)
        } else {
            self.store.setMemoryLimit(Int(megabytes) * 1024 * 1024)
            self.engine.settings.maxBytes = Int(megabytes) * 1024 * 1024
            self.outString("OK", &out)
        }
    }

    func shutdown(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) -> Outcome {
        guard self.engine.settings.shutdownCommand else {
            self.outString("ERROR: shutdown not enabled", &out)
            return .done
        }
        if self.ntokens == 2 {
            self.engine.onShutdown?(false)
            return .close
        }
        if self.ntokens == 3 && self.tokenIs(line, 1, "graceful") {
            self.engine.onShutdown?(true)
            return .close
        }
        self.outString("CLIENT_ERROR invalid shutdown mode", &out)
        return .done
    }

    func slabs(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        let n = self.ntokens
        if n == 5 && self.tokenIs(line, 1, "reassign") {
            guard self.engine.settings.store.slabReassign else {
                self.outString("CLIENT_ERROR slab reassignment disabled", &out)
                return
            }
            guard let source = CNumbers.signed32(self.token(line, 2)),
                let destination = CNumbers.signed32(self.token(line, 3))
            else {
                self.outString("CLIENT_ERROR bad command line format", &out)
                return
            }
            switch self.store.reassign(from: Int(source), to: Int(destination)) {
            case .ok: self.outString("OK", &out)
            case .badClass: self.outString("BADCLASS invalid src or dst class id", &out)
            case .noSpare: self.outString("NOSPARE source class has no spare pages", &out)
            case .same: self.outString("SAME src and dst class are identical", &out)
            }
        } else if n >= 4 && self.tokenIs(line, 1, "automove") {
            self.setNoreplyMaybe(line)
            if self.tokenIs(line, 2, "ratio") {
                guard n >= 5, let ratio = CNumbers.double(self.token(line, 3)) else {
                    self.outString("ERROR", &out)
                    return
                }
                self.store.settings.slabAutomoveRatio = ratio
                self.engine.settings.store.slabAutomoveRatio = ratio
            } else {
                guard let level = CNumbers.unsigned32(self.token(line, 2)) else {
                    self.outString("CLIENT_ERROR bad command line format", &out)
                    return
                }
                guard level <= 2 else {
                    self.outString("ERROR", &out)
                    return
                }
                self.store.settings.slabAutomove = Int(level)
                self.engine.settings.store.slabAutomove = Int(level)
            }
            self.outString("OK", &out)
        } else {
            self.outString("ERROR", &out)
        }
    }

    func lru(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        self.setNoreplyMaybe(line)
        let n = self.ntokens
        var settings = self.engine.settings.store
        if self.tokenIs(line, 1, "tune") && n >= 7 {
            guard let hot = CNumbers.unsigned32(self.token(line, 2)),
                let warm = CNumbers.unsigned32(self.token(line, 3)),
                let hotFactor = CNumbers.double(self.token(line, 4)),
                let warmFactor = CNumbers.double(self.token(line, 5))
            else {
                self.outString("ERROR", &out)
                return
            }
            if hot &+ warm > 80 {
                self.outString("ERROR hot and warm pcts must not exceed 80", &out)
                return
            }
            if warmFactor <= 0 || hotFactor <= 0 {
                self.outString("ERROR hot/warm age factors must be greater than 0", &out)
                return
            }
            settings.hotLRUPercent = Int(hot)
            settings.warmLRUPercent = Int(warm)
            settings.hotMaxFactor = hotFactor
            settings.warmMaxFactor = warmFactor
        } else if self.tokenIs(line, 1, "mode") && n >= 4 && settings.lruMaintainer {
            if self.tokenIs(line, 2, "flat") {
                settings.segmentedLRU = false
            } else if self.tokenIs(line, 2, "segmented") {
                settings.segmentedLRU = true
            } else {
                self.outString("ERROR", &out)
                return
            }
        } else if self.tokenIs(line, 1, "temp_ttl") && n >= 4 && settings.lruMaintainer {
            guard let ttl = CNumbers.signed32(self.token(line, 2)) else {
                self.outString("ERROR", &out)
                return
            }
            if ttl < 0 {
                settings.temporaryLRU = false
            } else {
                settings.temporaryLRU = true
                settings.temporaryTTL = UInt32(ttl)
            }
        } else {
            self.outString("ERROR", &out)
            return
        }
        self.engine.settings.store = settings
        self.store.settings = settings
        self.outString("OK", &out)
    }

    func lruCrawler(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        let n = self.ntokens
        let crawlerOn = self.engine.settings.store.lruCrawler
        if n == 4 && self.tokenIs(line, 1, "crawl") {
            guard crawlerOn else {
                self.outString("CLIENT_ERROR lru crawler disabled", &out)
                return
            }
            guard let classes = self.crawlerClasses(self.token(line, 2)) else {
                self.outString("BADCLASS invalid class id", &out)
                return
            }
            self.store.crawl(classes: classes)
            self.outString("OK", &out)
        } else if n == 4 && self.tokenIs(line, 1, "metadump") {
            guard crawlerOn else {
                self.outString("CLIENT_ERROR lru crawler disabled", &out)
                return
            }
            guard self.engine.settings.dumpEnabled else {
                self.outString("ERROR metadump not allowed", &out)
                return
            }
            // memcached hands the connection to the crawler thread: replies still queued would be lost.
            if self.hasQueuedReplies(out) {
                self.outString("ERROR cannot pipeline other commands before metadump", &out)
                return
            }
            guard let classes = self.crawlerClasses(self.token(line, 2)) else {
                self.outString("BADCLASS invalid class id", &out)
                return
            }
            self.metadump(classes: classes, &out)
        } else if n == 4 && self.tokenIs(line, 1, "tocrawl") {
            guard let value = CNumbers.unsigned32(self.token(line, 2)) else {
                self.outString("CLIENT_ERROR bad command line format", &out)
                return
            }
            self.engine.settings.crawlerToCrawl = Int(value)
            self.outString("OK", &out)
        } else if n == 4 && self.tokenIs(line, 1, "sleep") {
            guard let value = CNumbers.unsigned32(self.token(line, 2)) else {
                self.outString("CLIENT_ERROR bad command line format", &out)
                return
            }
            if value > 1_000_000 {
                self.outString("CLIENT_ERROR sleep must be one second or less", &out)
                return
            }
            self.engine.settings.crawlerSleep = Int(value)
            self.outString("OK", &out)
        } else if n == 3 && self.tokenIs(line, 1, "enable") {
            // memcached cannot start the crawler thread twice.
            if crawlerOn {
                self.outString("ERROR failed to start lru crawler thread", &out)
                return
            }
            self.engine.settings.store.lruCrawler = true
            self.store.settings.lruCrawler = true
            self.outString("OK", &out)
        } else if n == 3 && self.tokenIs(line, 1, "disable") {
            self.engine.settings.store.lruCrawler = false
            self.store.settings.lruCrawler = false
            self.outString("OK", &out)
        } else {
            self.outString("ERROR", &out)
        }
    }

    /// "all", or class ids separated by commas (memcached's `lru_crawler_crawl` argument).
    private func crawlerClasses(_ token: UnsafeRawBufferPointer) -> [Int]? {
        // `hash` walks memcached's hash table instead of its LRUs: every item once, as `all` here.
        if CNumbers.equals(token, "all") || CNumbers.equals(token, "hash") { return Array(self.store.slabs.classIDs) }
        var classes: [Int] = []
        for part in token.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
            let bytes = UnsafeRawBufferPointer(rebasing: part)
            guard let id = CNumbers.unsigned32(bytes), id >= 1, id < MemcachedStoreSettings.maxClasses else {
                return nil
            }
            classes.append(Int(id))
        }
        return classes
    }

    /// `lru_crawler metadump`: one line per live item, then END (memcached's format; page order, not LRU order).
    private func metadump(classes: [Int], _ out: inout ByteBuffer) {
        let store = self.store
        let now = self.engine.now
        let started = self.engine.processStarted
        store.forEachItem(classes: classes) { item in
            out.writeStaticString("key=")
            self.writeURLEncodedKey(item, &out)
            out.writeStaticString(" exp=")
            if item.expiry == 0 {
                out.writeStaticString("-1")
            } else {
                Self.writeDecimal(Int64(item.expiry) + started, &out)
            }
            out.writeStaticString(" la=")
            Self.writeDecimal(Int64(item.lastAccess) + started, &out)
            out.writeStaticString(" cas=")
            Self.writeDecimal(item.cas, &out)
            out.writeStaticString(" fetch=")
            out.writeStaticString(item.flags.contains(.fetched) ? "yes" : "no")
            out.writeStaticString(" cls=")
            Self.writeDecimal(store.lruClass(of: item), &out)
            out.writeStaticString(" size=")
            Self.writeDecimal(store.memcachedSize(of: item), &out)
            out.writeStaticString("\n")
            _ = now
        }
        out.writeStaticString("END\r\n")
    }

    /// Keys in a metadump are URL-encoded (or base64 for binary keys), as memcached prints them.
    private func writeURLEncodedKey(_ item: Item, _ out: inout ByteBuffer) {
        if item.flags.contains(.binaryKey) {
            var encoded: [UInt8] = []
            Base64.encode(item.key, into: &encoded)
            out.writeBytes(encoded)
            return
        }
        let hex = Array("0123456789ABCDEF".utf8)
        for b in item.key {
            let unreserved =
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D
                || b == 0x2E || b == 0x5F || b == 0x7E
            if unreserved {
                out.writeInteger(b)
            } else {
                out.writeInteger(UInt8(ascii: "%"))
                out.writeInteger(hex[Int(b >> 4)])
                out.writeInteger(hex[Int(b & 15)])
            }
        }
    }

    /// `watch [kinds]` (memcached's `process_watch_command`): the connection becomes a log watcher (WatchLog.swift).
    func watchCommand(_ line: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        self.setNoreplyMaybe(line)
        // Over UDP a watcher would take the socket's one connection (every later datagram ignored) and have no
        // stream to write to: refused, as with -W.
        guard self.engine.settings.extras.watchEnabled, !self.isUDP else {
            self.outString("CLIENT_ERROR watch commands not allowed", &out)
            return
        }
        // Replies of earlier commands in the same read not yet sent: memcached's `resp_has_stack`.
        if self.hasQueuedReplies(out) {
            self.outString("ERROR cannot pipeline other commands before watch", &out)
            return
        }
        var flags: WatchFlags = []
        if self.tokens.count > 1 {
            for index in 1..<self.tokens.count {
                let token = self.token(line, index)
                guard
                    let (_, flag) = WatchFlags.names.first(where: { name, _ in
                        token.elementsEqual(name.utf8)
                    })
                else {
                    self.outString("ERROR", &out)
                    return
                }
                flags.insert(flag)
            }
        } else {
            flags = .fetchers
        }
        guard self.engine.watch(self, flags: flags) else {
            self.outString("WATCHER_TOO_MANY log watcher limit reached", &out)
            return
        }
        out.writeStaticString("OK\r\n")
    }
}
