public import NIOCore
import SwiftletMemcachedStore

/// One memcached client: the protocol state of its connection (which protocol it speaks, a value being received, bytes
/// being swallowed) and the commands it sends, answered into the transport's output buffer.
///
/// The transport calls `process` with the bytes read so far; it consumes every complete request, leaves a partial one
/// in the buffer, appends the replies to `out`, and says whether the connection stays open.
public final class MemcachedConnection {
    let engine: MemcachedEngine
    let store: MemcachedStore
    public internal(set) var id = 0
    /// `stats conns`: the peer and the listener, as memcached prints them ("tcp:127.0.0.1:11211").
    public var peerAddress = ""
    public var listenAddress = ""
    var lastCommandTime: UInt32 = 0
    var state = State.command
    /// The store command whose value is being received (with `.receiving`).
    var pending: Pending? = nil
    var mode = Mode.undecided
    /// Set by a command's `noreply` (or a meta `q`): `outString` says nothing.
    var noreply = false
    /// Asked by the engine (idle timeout); the next `process` closes.
    public private(set) var closeRequested = false
    var tokens = TokenList()
    /// Bytes `process` left in the buffer last time (they are not read again); how many reads it has seen.
    var unparsed = 0
    var reads = 0
    var tokensRest: Int? = nil
    /// The binary protocol's quiet replies wait here until a non-quiet command flushes them... (binary state)
    var binary = BinaryState()
    /// A UDP socket's connection (memcached keeps one per UDP socket): `stats conns` says so, and the transport asks
    /// for `responseEnds`.
    public var isUDP = false
    /// UDP: a datagram is being served (`stats conns` shows the peer then, the listening address otherwise).
    public var udpServing = false
    /// UDP: where each response ends in the output, in order; memcached sends each response as datagrams of its own.
    /// `forced`: sent even when empty (a multi-get starts a response per key, and a missed key's is an empty
    /// datagram; so is a quiet binary command's); an empty response that is not forced (text `noreply`, a quiet meta
    /// miss) is not sent. Nil: not recorded.
    public var responseEnds: [(end: Int, forced: Bool)]? = nil
    /// `watch`: set while the connection is a watcher (it then reads nothing more); the bytes its socket has not
    /// taken yet (`watchBacklog`, reported by the transport); the transport's hook that sends the lines.
    var watch: WatchState? = nil
    public var watchBacklog = 0
    public var watchReady: (() -> Void)?
    /// The transport's hook that sends the lines now (a full watcher buffer, before a line is skipped).
    public var watchFlushNow: (() -> Void)?
    public var isWatching: Bool { self.watch != nil }
    /// Why the connection closes (`watch connevents`): set by `quit` (normal), a protocol error (error), the idle
    /// timeout; the transport sets shutdown, and leaves normal for a client that hung up.
    public var closeReason = CloseReason.normal
    var quitRequested = false
    /// -Y: whether the connection has sent its user and password; the length of the payload being waited for.
    var authenticated = true
    var authPayload: Int? = nil
    /// Where in the output memcached would have written everything out (a get and `mn` force the write): replies after
    /// it are still queued, which `watch` and `metadump` refuse to follow (memcached's `resp_has_stack`).
    var flushMark = 0

    func hasQueuedReplies(_ out: ByteBuffer) -> Bool {
        out.writerIndex > max(out.readerIndex, self.flushMark)
    }

    enum Mode { case undecided, text, binary }

    enum State {
        case command
        /// Receiving the value of a store command (memcached's `conn_nread`), into `pending`.
        case receiving
        /// Discarding the value of a refused store command (memcached's `conn_swallow`); its error reply is held until
        /// the last byte is swallowed, as memcached sends it.
        case swallowing(Int, reply: [UInt8])
    }

    struct Pending {
        var item: Item
        var mode: MemcachedStore.StoreMode
        var compare: UInt64
        var received = 0
        var tail0: UInt8 = 0
        var tail1: UInt8 = 0
        /// A meta set's reply to build when the value is in.
        var meta: MetaSetReply? = nil
        var allowStale = false
        /// The binary protocol's request (its reply is built when the value is in).
        var binaryHeader: BinaryHeader? = nil
    }

    struct Token {
        var start: Int
        var count: Int
    }

    /// The tokens of the line being run: memcached's fixed array of 24, allocated once per connection.
    struct TokenList {
        private let storage = UnsafeMutablePointer<Token>.allocate(capacity: MemcachedConnection.maxTokens)
        private(set) var count = 0

        @inline(__always) subscript(index: Int) -> Token { self.storage[index] }
        var last: Token? { self.count == 0 ? nil : self.storage[self.count - 1] }
        @inline(__always) mutating func removeAll() { self.count = 0 }
        @inline(__always) mutating func append(_ token: Token) {
            self.storage[self.count] = token
            self.count += 1
        }
        func deallocate() { self.storage.deallocate() }
    }

    deinit {
        self.tokens.deallocate()
    }

    public init(engine: MemcachedEngine) {
        self.engine = engine
        self.store = engine.store
        self.lastCommandTime = engine.now
        self.authenticated = engine.authFile == nil
        switch engine.settings.bindingProtocol {
        case .auto: self.mode = .undecided
        case .ascii: self.mode = .text
        case .binary: self.mode = .binary
        }
    }

    /// Set by the transport: closes this connection's socket (the idle timeout closes clients that send nothing).
    public var closeHandler: (() -> Void)?

    public func requestClose() {
        guard !self.closeRequested else { return }
        self.closeRequested = true
        self.closeReason = .idleTimeout
        self.closeHandler?()
    }

    /// Frees a value still being received (the connection closed in the middle of it).
    func releasePending() {
        if case .receiving = self.state, let pending = self.pending {
            self.store.discard(pending.item)
            self.pending = nil
            self.state = .command
        }
    }

    /// UDP: marks the end of a response (see `responseEnds`).
    @inline(__always)
    func endResponse(_ out: ByteBuffer, forced: Bool = false) {
        if self.responseEnds != nil { self.responseEnds!.append((out.writerIndex, forced)) }
    }

    /// UDP: whether a value is being received or swallowed; the next datagram then continues it, as memcached reads
    /// it.
    public var isInsideValue: Bool {
        if case .command = self.state { return false }
        return true
    }

    /// UDP: how many more bytes the value being received or swallowed needs (its CRLF included); memcached reads at
    /// most that much of the next datagram and drops the rest of it.
    public var bytesExpected: Int {
        switch self.state {
        case .command: return 0
        case .swallowing(let remaining, _): return remaining
        case .receiving:
            guard let pending = self.pending else { return 0 }
            return pending.item.valueLength + (pending.binaryHeader == nil ? 2 : 0) - pending.received
        }
    }

    /// UDP: a datagram is a buffer of its own (nothing of the last one is left in it), and one that starts a command
    /// picks its protocol by its first byte, as memcached's `try_read_command_udp`.
    public func startDatagram() {
        self.unparsed = 0
        if case .command = self.state, self.engine.settings.bindingProtocol == .auto { self.mode = .undecided }
    }

    /// Whether the connection is in the middle of a request (for `stats conns`' state).
    var stateName: String {
        switch self.state {
        case .command: return "conn_parse_cmd"
        case .receiving: return "conn_nread"
        case .swallowing: return "conn_swallow"
        }
    }

    // MARK: - Input

    /// Consumes the complete requests in `input` and answers them into `out`.
    /// - Returns: false when the connection must close once `out` is written.
    public func process(_ input: inout ByteBuffer, into out: inout ByteBuffer) -> Bool {
        if self.closeRequested { return false }
        self.engine.currentConnectionID = self.id
        self.flushMark = out.writerIndex
        if self.watch != nil {
            // A watcher reads nothing more (memcached's logger only looks for the client hanging up).
            input.moveReaderIndex(to: input.writerIndex)
            return true
        }
        // Bytes left unparsed by the last call come back in `input`: only the new ones count as read.
        self.engine.stats.bytesRead += input.readableBytes - self.unparsed
        self.reads &+= 1
        let before = out.writerIndex
        defer {
            self.engine.stats.bytesWritten += out.writerIndex - before
            self.unparsed = input.readableBytes
        }
        var served = 0
        while input.readableBytes > 0 {
            switch self.state {
            case .swallowing(let remaining, let reply):
                let n = min(remaining, input.readableBytes)
                input.moveReaderIndex(forwardBy: n)
                if remaining - n == 0 {
                    out.writeBytes(reply)
                    self.state = .command
                    self.endResponse(out, forced: self.mode == .binary)
                } else {
                    self.state = .swallowing(remaining - n, reply: reply)
                }
            case .receiving:
                self.receive(from: &input, into: &out)
            case .command:
                if self.mode == .undecided {
                    // As memcached's negotiation: a first byte of 0x80 is the binary protocol's request magic.
                    self.mode = input.readableBytesView.first == 0x80 ? .binary : .text
                }
                let outcome: Outcome
                if self.mode == .binary {
                    outcome = self.processBinary(&input, into: &out)
                } else if !self.authenticated {
                    outcome = self.processAuthentication(&input, into: &out)
                } else {
                    outcome = self.processLine(&input, into: &out)
                }
                switch outcome {
                case .needMore: return true
                case .close:
                    self.closeReason = self.quitRequested ? .normal : .error
                    return false
                // memcached skips an empty text response (noreply, a quiet miss) but sends a binary one (a quiet
                // command's) as an empty datagram.
                // A store command's response ends once its value is in (`receive`), not here.
                case .done: self.endResponse(out, forced: self.mode == .binary && !self.isInsideValue)
                }
                if self.watch != nil {
                    // The command made this a watcher: memcached hands the connection to its logger and reads
                    // nothing more, the rest of this read included.
                    input.moveReaderIndex(to: input.writerIndex)
                    return true
                }
                served += 1
                self.lastCommandTime = self.engine.now
                // memcached serves `-R` commands an event (one more the first time), then yields the rest of the
                // read to the next event (`conn_yields`). One loop here serves the whole read, and counts the same.
                if self.mode == .text {
                    let perEvent = max(self.engine.settings.requestsPerEvent, 1)
                    if served > perEvent && (served - perEvent - 1) % perEvent == 0 {
                        self.engine.stats.connectionYields += 1
                    }
                }
            }
        }
        return true
    }

    enum Outcome { case done, needMore, close }

    /// Copies value bytes into the item being received; once the value and its CRLF are in, stores it.
    ///
    /// `pending` is read and updated in place (its scalars only) and moved out at the end: copying the whole
    /// `Pending` per read cost more than the copy of a small value.
    private func receive(from input: inout ByteBuffer, into out: inout ByteBuffer) {
        guard let item = self.pending?.item else {
            self.state = .command
            return
        }
        let valueLength = item.valueLength
        let received = self.pending.unsafelyUnwrapped.received
        let total = valueLength + (self.pending.unsafelyUnwrapped.binaryHeader == nil ? 2 : 0)
        let n = min(total - received, input.readableBytes)
        var tail0 = self.pending.unsafelyUnwrapped.tail0
        var tail1 = self.pending.unsafelyUnwrapped.tail1
        input.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            // The value part, then (text) the two bytes that must be CRLF.
            let valueEnd = max(0, min(n, valueLength - received))
            if valueEnd > 0 {
                item.writeValue(UnsafeRawBufferPointer(start: base, count: valueEnd), at: received)
            }
            var i = valueEnd
            while i < n {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                if received + i == valueLength { tail0 = byte } else { tail1 = byte }
                i += 1
            }
        }
        input.moveReaderIndex(forwardBy: n)
        if received + n < total {
            self.pending!.received = received + n
            self.pending!.tail0 = tail0
            self.pending!.tail1 = tail1
            return
        }
        var pending = self.pending.take()!
        pending.received = received + n
        pending.tail0 = tail0
        pending.tail1 = tail1
        self.state = .command
        if pending.binaryHeader != nil {
            self.completeBinaryStore(pending, into: &out)
        } else {
            self.completeStore(pending, into: &out)
        }
        self.endResponse(out, forced: pending.binaryHeader != nil)
    }

    // MARK: - Replies

    /// memcached's `out_string`: the line and CRLF, unless the command said `noreply`.
    @inline(__always)
    func outString(_ text: StaticString, _ out: inout ByteBuffer) {
        if self.noreply { return }
        // One reservation and a raw copy: two `writeStaticString`s cost twice the capacity and uniqueness checks.
        let count = text.utf8CodeUnitCount
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: count + 2) { buffer in
            let p = buffer.baseAddress!
            p.copyMemory(from: text.utf8Start, byteCount: count)
            p.storeBytes(of: 0x0D, toByteOffset: count, as: UInt8.self)
            p.storeBytes(of: 0x0A, toByteOffset: count + 1, as: UInt8.self)
            return count + 2
        }
    }

    /// `outString` for a line built at run time. (Not an overload of `outString`: a string literal would pick the
    /// `String` one, which costs an allocation-free but slow generic write; every fixed reply is a `StaticString`.)
    func outText(_ text: String, _ out: inout ByteBuffer) {
        if self.noreply { return }
        out.writeString(text)
        out.writeStaticString("\r\n")
    }

    /// Starts swallowing `count` bytes; what `reply` writes (an error, or nothing under `noreply`) is sent once they
    /// are all in.
    func swallow(_ count: Int, _ reply: (inout ByteBuffer) -> Void) {
        var buffer = ByteBuffer()
        reply(&buffer)
        self.state = .swallowing(count, reply: Array(buffer.readableBytesView))
    }

    /// memcached's `out_errstring`: an error is sent even under `noreply`.
    func outError(_ text: StaticString, _ out: inout ByteBuffer) {
        self.noreply = false
        self.outString(text, &out)
    }

    /// Copies a static string to `p + n` and advances `n`.
    @inline(__always)
    static func put(_ text: StaticString, _ p: UnsafeMutableRawPointer, _ n: inout Int) {
        (p + n).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        n += text.utf8CodeUnitCount
    }

    /// Writes `value` in decimal at `p` (room for 20 digits) and returns the digits written.
    @inline(__always)
    static func putDecimal(_ value: UInt64, _ p: UnsafeMutableRawPointer) -> Int {
        if value < 10 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: value) &+ 0x30, as: UInt8.self)
            return 1
        }
        var digits = 0
        var v = value
        while v > 0 {
            digits += 1
            v /= 10
        }
        v = value
        var i = digits
        while i > 0 {
            i -= 1
            p.storeBytes(of: UInt8(truncatingIfNeeded: v % 10) &+ 0x30, toByteOffset: i, as: UInt8.self)
            v /= 10
        }
        return digits
    }

    @inline(__always)
    static func writeDecimal<T: BinaryInteger>(_ value: T, _ out: inout ByteBuffer) {
        if value >= 0 && value < 10 {
            out.writeInteger(UInt8(truncatingIfNeeded: value) + 0x30)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let negative = value < 0
        var v = negative ? UInt64(truncatingIfNeeded: 0 - Int64(value)) : UInt64(value)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[23 - count] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
                count += 1
            } while v > 0
            if negative { out.writeInteger(UInt8(ascii: "-")) }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: buffer[(24 - count)..<24]))
        }
    }
}
