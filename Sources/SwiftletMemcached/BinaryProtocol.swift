import NIOCore
import SwiftletMemcachedStore

/// The binary protocol's request header (24 bytes, big-endian), as memcached 1.6.18's `try_read_command_binary` reads
/// it: magic, opcode, key length, extras length, data type, vbucket, total body length, opaque, CAS. The data type
/// and the vbucket are ignored, as memcached ignores them.
struct BinaryHeader {
    /// The opcode as sent (replies carry it, quiet ones included).
    var opcode: UInt8 = 0
    /// The opcode with its quiet form folded into the loud one (memcached's `c->cmd` after `dispatch_bin_command`).
    var command: UInt8 = 0
    /// A quiet opcode: success replies (and, for the gets, misses) are not sent (memcached's `c->noreply`).
    var quiet = false
    var keyLength = 0
    var extrasLength = 0
    var bodyLength = 0
    /// Echoed in every reply, byte for byte.
    var opaque: UInt32 = 0
    var cas: UInt64 = 0
}

/// Per-connection state of the binary protocol: which replies memcached would still hold.
///
/// memcached queues replies and writes them when it flushes: when its 16 KB read buffer runs dry or holds only part
/// of a request (so also after a value or a swallow that went past it), after a NOOP, after an error that swallows
/// nothing, and after every `-R` requests of one read (its yield). It does not flush while it waits for a value or
/// for bytes to swallow, and a bad magic closes the connection without writing what is queued. The transport writes
/// `out` after each `process`, so this follows where memcached's read buffer ends and which replies it would have
/// flushed, and holds those it would not have until it would.
struct BinaryState {
    /// The engine's `bytes_read` when the last request was read: it moves with every `process` call (a new read).
    var read = -1
    /// Where memcached's read buffer ends, as an index into the input of this `process` call.
    var bufferEnd = 0
    /// Where in `out` the replies not yet flushed begin.
    var flushed = 0
    /// Requests completed since memcached last read (its `nreqs` counts down from `-R`).
    var requests = 0
    /// Replies queued before a value that is still arriving (written before that store's reply).
    var held: [UInt8] = []
}

/// memcached's binary protocol (proto_bin.c, protocol_binary.h): opcodes, statuses and the fixed error texts.
enum BinaryProtocol {
    static let requestMagic: UInt8 = 0x80
    static let responseMagic: UInt8 = 0x81
    static let headerLength = 24
    /// memcached's `READ_BUFFER_SIZE`: one read fills at most this much.
    static let readBufferSize = 16384
    /// memcached's `KEY_MAX_LENGTH`: the binary protocol carries 16-bit key lengths, memcached's keys stop at 250.
    static let keyMaxLength = 250

    // Opcodes.
    static let get: UInt8 = 0x00
    static let set: UInt8 = 0x01
    static let add: UInt8 = 0x02
    static let replace: UInt8 = 0x03
    static let delete: UInt8 = 0x04
    static let increment: UInt8 = 0x05
    static let decrement: UInt8 = 0x06
    static let quit: UInt8 = 0x07
    static let flush: UInt8 = 0x08
    static let getQ: UInt8 = 0x09
    static let noop: UInt8 = 0x0a
    static let version: UInt8 = 0x0b
    static let getK: UInt8 = 0x0c
    static let getKQ: UInt8 = 0x0d
    static let append: UInt8 = 0x0e
    static let prepend: UInt8 = 0x0f
    static let stat: UInt8 = 0x10
    static let setQ: UInt8 = 0x11
    static let addQ: UInt8 = 0x12
    static let replaceQ: UInt8 = 0x13
    static let deleteQ: UInt8 = 0x14
    static let incrementQ: UInt8 = 0x15
    static let decrementQ: UInt8 = 0x16
    static let quitQ: UInt8 = 0x17
    static let flushQ: UInt8 = 0x18
    static let appendQ: UInt8 = 0x19
    static let prependQ: UInt8 = 0x1a
    static let touch: UInt8 = 0x1c
    static let gat: UInt8 = 0x1d
    static let gatQ: UInt8 = 0x1e
    static let saslListMechanisms: UInt8 = 0x20
    static let saslAuth: UInt8 = 0x21
    static let saslStep: UInt8 = 0x22
    static let gatK: UInt8 = 0x23
    static let gatKQ: UInt8 = 0x24

    // Statuses.
    static let success: UInt16 = 0x00
    static let keyNotFound: UInt16 = 0x01
    static let keyExists: UInt16 = 0x02
    static let tooBig: UInt16 = 0x03
    static let invalidArguments: UInt16 = 0x04
    static let notStored: UInt16 = 0x05
    static let deltaBadValue: UInt16 = 0x06
    static let authError: UInt16 = 0x20
    static let unknownCommand: UInt16 = 0x81
    static let outOfMemory: UInt16 = 0x82

    /// memcached's `write_bin_error` texts for a status given no text of its own.
    static func errorText(_ status: UInt16) -> StaticString {
        switch status {
        case outOfMemory: return "Out of memory"
        case unknownCommand: return "Unknown command"
        case keyNotFound: return "Not found"
        case invalidArguments: return "Invalid arguments"
        case keyExists: return "Data exists for key."
        case tooBig: return "Too large."
        case deltaBadValue: return "Non-numeric server-side value for incr or decr"
        case notStored: return "Not stored."
        case authError: return "Auth failure."
        default: return "UNHANDLED ERROR"
        }
    }

    /// The loud opcode of a quiet one, or nil (memcached's first switch in `dispatch_bin_command`).
    static func loudForm(of opcode: UInt8) -> UInt8? {
        switch opcode {
        case setQ: return set
        case addQ: return add
        case replaceQ: return replace
        case deleteQ: return delete
        case incrementQ: return increment
        case decrementQ: return decrement
        case quitQ: return quit
        case flushQ: return flush
        case appendQ: return append
        case prependQ: return prepend
        case getQ: return get
        case getKQ: return getK
        case gatQ: return gat
        case gatKQ: return gatK
        default: return nil
        }
    }

    @inline(__always)
    static func load32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    static func load64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension MemcachedConnection {
    /// Reads one binary request and runs it (memcached's `try_read_command_binary` and `dispatch_bin_command`).
    ///
    /// The request runs once its header, extras and key are in; a value that goes into an item is read afterwards
    /// (the connection's `receiving` state), and one memcached throws away is swallowed.
    func processBinary(_ input: inout ByteBuffer, into out: inout ByteBuffer) -> Outcome {
        let base = input.readerIndex
        if self.reads != self.binary.read {
            // A new read: memcached flushed everything before it.
            self.binary.read = self.reads
            self.refillBinaryBuffer(at: base, input, out)
        }
        if base + BinaryProtocol.headerLength > self.binary.bufferEnd { self.refillBinaryBuffer(at: base, input, out) }
        guard input.readableBytes >= BinaryProtocol.headerLength else { return .needMore }
        // A binary connection never goes back to text: any other magic closes it without a word, and what memcached
        // had queued but not flushed is never written.
        guard input.getInteger(at: base, as: UInt8.self) == BinaryProtocol.requestMagic else {
            if self.binary.flushed >= out.readerIndex && self.binary.flushed <= out.writerIndex {
                out.moveWriterIndex(to: self.binary.flushed)
            }
            return .close
        }
        var header = BinaryHeader()
        header.opcode = input.getInteger(at: base + 1, as: UInt8.self)!
        header.keyLength = Int(input.getInteger(at: base + 2, as: UInt16.self)!)
        header.extrasLength = Int(input.getInteger(at: base + 4, as: UInt8.self)!)
        header.bodyLength = Int(input.getInteger(at: base + 8, as: UInt32.self)!)
        header.opaque = input.getInteger(at: base + 12, as: UInt32.self)!
        header.cas = input.getInteger(at: base + 16, as: UInt64.self)!
        let consumed = BinaryProtocol.headerLength + header.extrasLength + header.keyLength
        if base + consumed > self.binary.bufferEnd { self.refillBinaryBuffer(at: base, input, out) }
        guard input.readableBytes >= consumed else { return .needMore }
        let outcome = input.withUnsafeReadableBytes { bytes -> Outcome in
            let extrasStart = BinaryProtocol.headerLength
            let keyStart = extrasStart + header.extrasLength
            let extras = UnsafeRawBufferPointer(rebasing: bytes[extrasStart..<keyStart])
            let key = UnsafeRawBufferPointer(rebasing: bytes[keyStart..<consumed])
            let following = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
            return self.dispatchBinary(&header, extras: extras, key: key, following: following, &out)
        }
        input.moveReaderIndex(forwardBy: consumed)
        if outcome == .done { self.endBinaryStep(available: input.readableBytes, &out) }
        return outcome
    }

    /// memcached's read buffer ran dry, or holds only part of the request at `start`: it flushes its replies and
    /// reads again, up to 16 KB from there, and its count of requests per read starts again.
    private func refillBinaryBuffer(at start: Int, _ input: ByteBuffer, _ out: ByteBuffer) {
        self.flushBinary(out)
        self.binary.bufferEnd = start + min(BinaryProtocol.readBufferSize, input.writerIndex - start)
        self.binary.requests = 0
    }

    /// Marks what `out` holds as flushed.
    @inline(__always)
    private func flushBinary(_ out: ByteBuffer) { self.binary.flushed = out.writerIndex }

    /// A request is complete: memcached flushes after `-R` + 1 requests of one read, then after every `-R` more, and
    /// yields to its other connections (`conn_yields`).
    private func binaryRequestDone(_ out: ByteBuffer) {
        self.binary.requests += 1
        let perEvent = max(self.engine.settings.requestsPerEvent, 1)
        let count = self.binary.requests
        if count > perEvent && (count - perEvent - 1) % perEvent == 0 {
            self.flushBinary(out)
            self.engine.stats.connectionYields += 1
        }
    }

    /// After a request: if it left the connection waiting for a value or for bytes to swallow beyond what this read
    /// holds (`available`), memcached keeps its queued replies until then, so they move out of `out`.
    private func endBinaryStep(available: Int, _ out: inout ByteBuffer) {
        let start = self.binary.flushed
        let unflushed = start >= out.readerIndex && start <= out.writerIndex ? out.writerIndex - start : 0
        switch self.state {
        case .command:
            self.binaryRequestDone(out)
        case .receiving:
            guard let pending = self.pending else { return }
            if available >= pending.item.valueLength || unflushed == 0 { return }
            self.binary.held += out.getBytes(at: start, length: unflushed) ?? []
            out.moveWriterIndex(to: start)
        case .swallowing(let count, let reply):
            self.binaryRequestDone(out)
            if available >= count || unflushed == 0 { return }
            let queued = out.getBytes(at: start, length: unflushed) ?? []
            self.state = .swallowing(count, reply: queued + reply)
            out.moveWriterIndex(to: start)
        }
    }

    /// memcached's `dispatch_bin_command`: the length checks, then the opcode's handler. `following` is what the
    /// read buffer holds after the key (memcached's STAT compares subcommands past the key's end).
    private func dispatchBinary(
        _ header: inout BinaryHeader,
        extras: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer,
        following: UnsafeRawBufferPointer,
        _ out: inout ByteBuffer
    ) -> Outcome {
        typealias P = BinaryProtocol
        let keyLength = header.keyLength
        let extrasLength = header.extrasLength
        let bodyLength = header.bodyLength
        if keyLength > bodyLength || keyLength + extrasLength > bodyLength {
            self.writeBinaryError(header, P.unknownCommand, &out)
            return .close
        }
        if keyLength > BinaryProtocol.keyMaxLength {
            self.writeBinaryError(header, P.invalidArguments, &out)
            return .close
        }
        if let loud = P.loudForm(of: header.opcode) {
            header.command = loud
            header.quiet = true
        } else {
            header.command = header.opcode
            header.quiet = false
        }
        let valid: Bool
        switch header.command {
        case P.version, P.noop, P.quit, P.saslListMechanisms:
            valid = extrasLength == 0 && keyLength == 0 && bodyLength == 0
        case P.flush:
            valid = keyLength == 0 && bodyLength == extrasLength && (extrasLength == 0 || extrasLength == 4)
        case P.set, P.add, P.replace:
            valid = extrasLength == 8 && keyLength != 0 && bodyLength >= keyLength + 8
        case P.get, P.getK, P.delete:
            valid = extrasLength == 0 && keyLength > 0 && bodyLength == keyLength
        case P.increment, P.decrement:
            valid = keyLength > 0 && extrasLength == 20 && bodyLength == keyLength + extrasLength
        case P.append, P.prepend, P.saslAuth, P.saslStep:
            valid = keyLength > 0 && extrasLength == 0
        case P.stat:
            valid = extrasLength == 0
        case P.touch, P.gat, P.gatK:
            valid = extrasLength == 4 && keyLength != 0
        default:
            // Every other opcode, VERBOSITY (0x1b) among them: memcached swallows `bodylen` bytes counted from the
            // end of the key it already read (so it swallows extlen + keylen bytes too many), then answers.
            self.writeBinaryError(header, P.unknownCommand, swallow: bodyLength > 0 ? bodyLength : nil, &out)
            return .done
        }
        guard valid else {
            self.writeBinaryError(header, P.invalidArguments, &out)
            return .close
        }
        switch header.command {
        case P.version:
            self.writeBinaryVersion(header, &out)
        case P.noop:
            // NOOP flushes the replies queued before it.
            self.writeBinaryHeader(header, bodyLength: 0, &out)
            self.flushBinary(out)
        case P.quit:
            if !header.quiet { self.writeBinaryHeader(header, bodyLength: 0, &out) }
            self.quitRequested = true
            return .close
        case P.flush:
            self.binaryFlush(header, extras: extras, &out)
        case P.set, P.add, P.replace, P.append, P.prepend:
            self.binaryUpdate(header, extras: extras, key: key, &out)
        case P.get, P.getK, P.touch, P.gat, P.gatK:
            self.binaryGetOrTouch(header, extras: extras, key: key, &out)
        case P.delete:
            self.binaryDelete(header, key: key, &out)
        case P.increment, P.decrement:
            self.binaryDelta(header, extras: extras, key: key, &out)
        case P.stat:
            self.binaryStat(header, key: key, following: following, &out)
        default:
            // SASL: memcached without SASL answers "Unknown command" and swallows the mechanism's data (the body
            // after the key), which keeps the stream in step.
            let length = bodyLength - keyLength
            self.writeBinaryError(header, P.unknownCommand, swallow: length > 0 ? length : nil, &out)
        }
        return .done
    }

    // MARK: - Replies

    /// memcached's `add_bin_header`: magic 0x81, the request's opcode, the lengths, data type 0, the status, the
    /// total body length, the request's opaque and a CAS.
    private func writeBinaryHeader(
        _ header: BinaryHeader,
        status: UInt16 = BinaryProtocol.success,
        extrasLength: Int = 0,
        keyLength: Int = 0,
        bodyLength: Int,
        cas: UInt64 = 0,
        _ out: inout ByteBuffer
    ) {
        out.writeInteger(BinaryProtocol.responseMagic)
        out.writeInteger(header.opcode)
        out.writeInteger(UInt16(truncatingIfNeeded: keyLength))
        out.writeInteger(UInt8(truncatingIfNeeded: extrasLength))
        out.writeInteger(UInt8(0))
        out.writeInteger(status)
        out.writeInteger(UInt32(truncatingIfNeeded: bodyLength))
        out.writeInteger(header.opaque)
        out.writeInteger(cas)
    }

    /// memcached's `write_bin_error`: the status and its text as the body, CAS 0; sent whether the opcode is quiet or
    /// not. Without `swallow` the reply is flushed with everything before it (memcached's `conn_mwrite`); with it,
    /// the reply waits until that many bytes are thrown away (none: it is queued at once, unflushed).
    private func writeBinaryError(
        _ header: BinaryHeader,
        _ status: UInt16,
        text: StaticString? = nil,
        swallow: Int? = nil,
        _ out: inout ByteBuffer
    ) {
        let message = text ?? BinaryProtocol.errorText(status)
        if let swallow, swallow > 0 {
            self.swallow(swallow) { reply in
                self.writeBinaryHeader(header, status: status, bodyLength: message.utf8CodeUnitCount, &reply)
                reply.writeStaticString(message)
            }
            return
        }
        self.writeBinaryHeader(header, status: status, bodyLength: message.utf8CodeUnitCount, &out)
        out.writeStaticString(message)
        if swallow == nil { self.flushBinary(out) }
    }

    private func writeBinaryVersion(_ header: BinaryHeader, _ out: inout ByteBuffer) {
        let version = MemcachedEngine.version
        self.writeBinaryHeader(header, bodyLength: version.utf8.count, &out)
        out.writeString(version)
    }

    /// memcached's `realtime` for the binary protocol's unsigned 32-bit expiration times (never negative, so a time
    /// past 2^31 is a Unix time far ahead rather than one already past).
    private func binaryExpiry(_ exptime: UInt32) -> UInt32 {
        let time = Int64(exptime)
        if time == 0 { return 0 }
        if time > MemcachedEngine.realtimeMaxDelta {
            let started = self.engine.processStarted
            if time <= started { return 1 }
            return UInt32(truncatingIfNeeded: time - started)
        }
        return UInt32(truncatingIfNeeded: time + Int64(self.engine.now))
    }

    // MARK: - Retrieval

    /// GET, GETQ, GETK, GETKQ, TOUCH, GAT, GATQ, GATK, GATKQ (memcached's `process_bin_get_or_touch`). A hit carries
    /// the flags as extras, the key for the K forms, the value except for TOUCH, and the item's CAS. A miss is
    /// "Not found", or for the K forms status 1 with the key and no text; the quiet forms say nothing on a miss.
    private func binaryGetOrTouch(
        _ header: BinaryHeader,
        extras: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer,
        _ out: inout ByteBuffer
    ) {
        typealias P = BinaryProtocol
        let command = header.command
        let touch = command == P.touch || command == P.gat || command == P.gatK
        let returnKey = command == P.getK || command == P.gatK
        let returnValue = command != P.touch
        let store = self.store
        let found = store.find(key, bump: true)
        if self.engine.detailEnabled { self.engine.recordPrefix(key, .get(hit: found != nil)) }
        guard let item = found else {
            if touch {
                self.engine.stats.touchCommands += 1
                self.engine.stats.touchMisses += 1
            } else {
                self.engine.stats.getCommands += 1
                self.engine.stats.getMisses += 1
            }
            if header.quiet { return }
            if returnKey {
                self.writeBinaryHeader(
                    header,
                    status: P.keyNotFound,
                    keyLength: key.count,
                    bodyLength: key.count,
                    &out
                )
                out.writeBytes(key)
            } else {
                self.writeBinaryError(header, P.keyNotFound, &out)
            }
            return
        }
        let classID = store.lruClass(of: item)
        if touch {
            store.touch(item, expiry: self.binaryExpiry(BinaryProtocol.load32(extras, 0)))
            self.engine.stats.touchCommands += 1
        } else {
            // memcached's get_hits is the sum of its per-LRU hit counters.
            self.engine.stats.lruHits[classID * 4 + item.lruSegment] += 1
            self.engine.stats.getCommands += 1
        }
        let keyLength = returnKey ? key.count : 0
        let valueLength = returnValue ? item.valueLength : 0
        self.writeBinaryHeader(
            header,
            extrasLength: 4,
            keyLength: keyLength,
            bodyLength: 4 + keyLength + valueLength,
            cas: item.cas,
            &out
        )
        out.writeInteger(item.clientFlags)
        if returnKey { out.writeBytes(key) }
        if returnValue { item.forEachValuePiece { out.writeBytes($0) } }
    }

    // MARK: - Storage

    /// SET, ADD, REPLACE, APPEND, PREPEND and their quiet forms (memcached's `process_bin_update` and
    /// `process_bin_append_prepend`): the item is allocated now and the value (the body after extras and key, with no
    /// CRLF) is read into it. A request CAS makes SET, ADD and REPLACE a CAS store; APPEND and PREPEND compare it.
    private func binaryUpdate(
        _ header: BinaryHeader,
        extras: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer,
        _ out: inout ByteBuffer
    ) {
        typealias P = BinaryProtocol
        let command = header.command
        let appending = command == P.append || command == P.prepend
        var flags: UInt32 = 0
        var expiry: UInt32 = 0
        if !appending {
            flags = P.load32(extras, 0)
            expiry = self.binaryExpiry(P.load32(extras, 4))
        }
        // memcached keeps the value length in an int: a body over 2 GB makes it negative.
        let valueLength = Int(Int32(truncatingIfNeeded: header.bodyLength - header.keyLength - header.extrasLength))
        if self.engine.detailEnabled { self.engine.recordPrefix(key, .set) }
        let allocation: Result<Item, MemcachedStore.AllocationFailure> =
            valueLength < 0
            ? .failure(.tooLarge)
            : self.store.allocate(key: key, clientFlags: flags, expiry: expiry, valueLength: valueLength)
        switch allocation {
        case .success(let item):
            let mode: MemcachedStore.StoreMode
            switch command {
            case P.append: mode = .append
            case P.prepend: mode = .prepend
            case _ where header.cas != 0: mode = .cas
            case P.add: mode = .add
            case P.replace: mode = .replace
            default: mode = .set
            }
            let pending = Pending(item: item, mode: mode, compare: header.cas, binaryHeader: header)
            if valueLength == 0 {
                // Nothing to read: memcached completes the store at once.
                self.finishBinaryStore(pending, &out)
            } else {
                self.pending = pending
                self.state = .receiving
            }
        case .failure(let failure):
            if failure == .tooLarge {
                self.writeBinaryError(header, P.tooBig, swallow: valueLength, &out)
            } else {
                self.writeBinaryError(
                    header,
                    P.outOfMemory,
                    text: "Out of memory allocating item",
                    swallow: valueLength,
                    &out
                )
            }
            // A SET that failed must not leave the old value readable (APPEND and PREPEND keep it).
            if command == P.set, let old = self.store.find(key, bump: false) { self.store.unlink(old) }
        }
    }

    /// The value of a binary store is in (memcached's `complete_update_bin`): it is stored and answered with the
    /// new CAS, or with the status of the failure.
    func completeBinaryStore(_ pending: Pending, into out: inout ByteBuffer) {
        if !self.binary.held.isEmpty {
            out.writeBytes(self.binary.held)
            self.binary.held.removeAll()
        }
        self.finishBinaryStore(pending, &out)
        self.binaryRequestDone(out)
    }

    private func finishBinaryStore(_ pending: Pending, _ out: inout ByteBuffer) {
        typealias P = BinaryProtocol
        let item = pending.item
        guard let header = pending.binaryHeader else {
            self.store.discard(item)
            return
        }
        self.store.commandStats[self.store.lruClass(of: item)].setCommands += 1
        let (outcome, cas) = self.store.store(item, mode: pending.mode, compare: pending.compare)
        self.engine.logStore(item, outcome, pending.mode)
        // A refused item, or the uploaded part of an append (the combined item took its place), is freed.
        if !item.flags.contains(.linked) { self.store.discard(item) }
        switch outcome {
        case .stored:
            if !header.quiet { self.writeBinaryHeader(header, bodyLength: 0, cas: cas, &out) }
        case .exists:
            self.writeBinaryError(header, P.keyExists, &out)
        case .notFound:
            self.writeBinaryError(header, P.keyNotFound, &out)
        case .notStored:
            switch pending.mode {
            case .add: self.writeBinaryError(header, P.keyExists, &out)
            case .replace: self.writeBinaryError(header, P.keyNotFound, &out)
            default: self.writeBinaryError(header, P.notStored, &out)
            }
        }
    }

    // MARK: - Other item commands

    /// DELETE, DELETEQ (memcached's `process_bin_delete`): a request CAS must match the item's.
    private func binaryDelete(_ header: BinaryHeader, key: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        if self.engine.detailEnabled { self.engine.recordPrefix(key, .delete) }
        guard let item = self.store.find(key, bump: false) else {
            self.writeBinaryError(header, BinaryProtocol.keyNotFound, &out)
            self.engine.stats.deleteMisses += 1
            return
        }
        guard header.cas == 0 || header.cas == item.cas else {
            self.writeBinaryError(header, BinaryProtocol.keyExists, &out)
            return
        }
        self.store.commandStats[self.store.lruClass(of: item)].deleteHits += 1
        self.store.unlink(item)
        if !header.quiet { self.writeBinaryHeader(header, bodyLength: 0, &out) }
    }

    /// INCREMENT, DECREMENT and their quiet forms (memcached's `complete_incr_bin`): extras are the delta, the initial
    /// value and an expiration. The reply is the new value as 8 big-endian bytes with the new CAS. A missing key is
    /// created holding the initial value, unless the expiration is 0xffffffff ("Not found").
    private func binaryDelta(
        _ header: BinaryHeader,
        extras: UnsafeRawBufferPointer,
        key: UnsafeRawBufferPointer,
        _ out: inout ByteBuffer
    ) {
        typealias P = BinaryProtocol
        let increment = header.command == P.increment
        let amount = P.load64(extras, 0)
        let initial = P.load64(extras, 8)
        let expiration = P.load32(extras, 16)
        let store = self.store
        switch store.delta(key, increment: increment, by: amount, compare: header.cas) {
        case .value(let value, let item):
            if !header.quiet { self.writeBinaryDeltaValue(header, value, cas: item.cas, &out) }
        case .nonNumeric:
            self.writeBinaryError(header, P.deltaBadValue, &out)
        case .outOfMemory:
            self.writeBinaryError(header, P.outOfMemory, text: "Out of memory incrementing value", &out)
        case .casMismatch:
            self.writeBinaryError(header, P.keyExists, &out)
        case .notFound:
            guard expiration != 0xffff_ffff else {
                if increment { self.engine.stats.incrMisses += 1 } else { self.engine.stats.decrMisses += 1 }
                self.writeBinaryError(header, P.keyNotFound, &out)
                return
            }
            var digits: [UInt8] = []
            MemcachedStore.appendDecimal(initial, to: &digits)
            let allocation = store.allocate(
                key: key,
                clientFlags: 0,
                expiry: self.binaryExpiry(expiration),
                valueLength: digits.count
            )
            guard case .success(let fresh) = allocation else {
                self.writeBinaryError(header, P.outOfMemory, text: "Out of memory allocating new item", &out)
                return
            }
            digits.withUnsafeBytes { fresh.writeValue($0, at: 0) }
            let (outcome, cas) = store.store(fresh, mode: .add)
            if outcome == .stored {
                if !header.quiet { self.writeBinaryDeltaValue(header, initial, cas: cas, &out) }
            } else {
                store.discard(fresh)
                self.writeBinaryError(header, P.notStored, &out)
            }
        }
    }

    private func writeBinaryDeltaValue(_ header: BinaryHeader, _ value: UInt64, cas: UInt64, _ out: inout ByteBuffer) {
        self.writeBinaryHeader(header, bodyLength: 8, cas: cas, &out)
        out.writeInteger(value)
    }

    // MARK: - Server commands

    /// FLUSH, FLUSHQ (memcached's `process_bin_flush`): an optional 4-byte delay. With `-F`: "Auth failure.".
    private func binaryFlush(_ header: BinaryHeader, extras: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        guard self.engine.settings.flushEnabled else {
            self.writeBinaryError(header, BinaryProtocol.authError, &out)
            return
        }
        let exptime = header.extrasLength == 4 ? BinaryProtocol.load32(extras, 0) : 0
        let oldest = exptime > 0 ? self.binaryExpiry(exptime) : self.engine.now
        self.store.flush(oldestLive: oldest)
        self.engine.stats.flushCommands += 1
        if !header.quiet { self.writeBinaryHeader(header, bodyLength: 0, &out) }
    }

    /// STAT (memcached's `process_bin_stat`): one packet per statistic (key the name, value the value), then an empty
    /// one. The key picks the group as memcached does: none gives the general statistics; "reset", "settings" and
    /// "detail" are prefix matches (compared past the key's end, as memcached's `strncmp` reads the buffer); "items",
    /// "slabs", "sizes", "sizes_enable" and "sizes_disable" must match exactly; anything else is "Not found".
    ///
    /// The statistics themselves are the text protocol's `stats` output, turned into packets, so both protocols
    /// report the same names and values.
    private func binaryStat(
        _ header: BinaryHeader,
        key: UnsafeRawBufferPointer,
        following: UnsafeRawBufferPointer,
        _ out: inout ByteBuffer
    ) {
        func hasPrefix(_ text: StaticString, at offset: Int = 0) -> Bool {
            let count = text.utf8CodeUnitCount
            return text.withUTF8Buffer { expected in
                for i in 0..<count {
                    let position = offset + i
                    let byte: UInt8
                    if position < key.count {
                        byte = key[position]
                    } else if position - key.count < following.count {
                        byte = following[position - key.count]
                    } else {
                        return false
                    }
                    if byte != expected[i] { return false }
                }
                return true
            }
        }
        var terminate = true
        if key.isEmpty {
            self.binaryStatsFromText("stats", header, &out)
        } else if hasPrefix("reset") {
            self.engine.resetStatistics()
        } else if hasPrefix("settings") {
            self.binaryStatsFromText("stats settings", header, &out)
        } else if hasPrefix("detail") {
            if hasPrefix(" dump", at: 6) {
                var dump = ByteBuffer()
                self.engine.writePrefixStatistics(&dump)
                self.writeBinaryStat(header, name: "detailed".utf8, value: dump.readableBytesView, &out)
            } else if hasPrefix(" on", at: 6) {
                self.engine.detailEnabled = true
            } else if hasPrefix(" off", at: 6) {
                self.engine.detailEnabled = false
            } else {
                self.writeBinaryError(header, BinaryProtocol.keyNotFound, &out)
                return
            }
        } else if CNumbers.equals(key, "items") {
            self.binaryStatsFromText("stats items", header, &out)
        } else if CNumbers.equals(key, "slabs") {
            self.binaryStatsFromText("stats slabs", header, &out)
        } else if CNumbers.equals(key, "sizes") {
            self.binaryStatsFromText("stats sizes", header, &out)
        } else if CNumbers.equals(key, "sizes_enable") || CNumbers.equals(key, "sizes_disable") {
            // memcached sends the status packet alone, with no terminator.
            let line: StaticString = CNumbers.equals(key, "sizes_enable") ? "stats sizes_enable" : "stats sizes_disable"
            self.binaryStatsFromText(line, header, &out)
            terminate = false
        } else {
            self.writeBinaryError(header, BinaryProtocol.keyNotFound, &out)
            return
        }
        if terminate { self.writeBinaryStat(header, name: [UInt8](), value: [UInt8](), &out) }
    }

    /// Runs the text protocol's `stats` command `line` and sends each "STAT name value" line it writes as a packet
    /// (its END is left out: the caller sends the terminator).
    private func binaryStatsFromText(_ line: StaticString, _ header: BinaryHeader, _ out: inout ByteBuffer) {
        var text = ByteBuffer()
        self.noreply = false
        // memcached counts `bytes_written` as it writes: the replies of this `process` call it has flushed already
        // count. (The transport's count of the call comes when `process` returns.)
        let flushed = self.binary.flushed >= out.readerIndex ? self.binary.flushed - out.readerIndex : 0
        self.engine.stats.bytesWritten += flushed
        defer { self.engine.stats.bytesWritten -= flushed }
        line.withUTF8Buffer { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            self.tokenize(raw, from: 0)
            self.stats(raw, &text)
        }
        let view = text.readableBytesView
        var start = view.startIndex
        while start < view.endIndex {
            guard let lineEnd = view[start...].firstIndex(of: 0x0A) else { break }
            var end = lineEnd
            if end > start && view[end - 1] == 0x0D { end -= 1 }
            let statLine = view[start..<end]
            start = lineEnd + 1
            // "STAT <name> <value>" (a name alone has an empty value); anything else (END) is not a statistic.
            guard statLine.count > 5, statLine.starts(with: "STAT ".utf8) else { continue }
            let rest = statLine.dropFirst(5)
            if let space = rest.firstIndex(of: 0x20) {
                self.writeBinaryStat(header, name: rest[..<space], value: rest[(space + 1)...], &out)
            } else {
                self.writeBinaryStat(header, name: rest, value: [UInt8](), &out)
            }
        }
    }

    /// memcached's `append_bin_stats`: opcode STAT, status 0, CAS 0, the request's opaque; the value only with a
    /// name (an empty name and value make the terminator).
    private func writeBinaryStat(
        _ header: BinaryHeader,
        name: some Collection<UInt8>,
        value: some Collection<UInt8>,
        _ out: inout ByteBuffer
    ) {
        var statHeader = header
        statHeader.opcode = BinaryProtocol.stat
        let valueLength = name.isEmpty ? 0 : value.count
        self.writeBinaryHeader(statHeader, keyLength: name.count, bodyLength: name.count + valueLength, &out)
        if !name.isEmpty {
            out.writeBytes(name)
            out.writeBytes(value)
        }
    }
}
