import CSwiftletSupport
import Glibc
import SwiftletRESP

/// One benchmark connection: its prefix (AUTH / SELECT / HELLO, sent once), its output buffer (`-P` copies of the
/// request), what is in flight, and a read buffer that is scanned for complete replies without decoding them.
final class BenchmarkConnection {
    let fd: Int32
    /// AUTH / SELECT / HELLO, sent once before the first batch. Kept apart from `output` so that `__rand_int__` in a
    /// password is never substituted and the placeholder offsets never move.
    let prefix: [UInt8]
    /// How much of `prefix` has been sent.
    var prefixWritten = 0
    /// Prefix replies still to come.
    var prefixPending: Int
    var output: [UInt8]
    var placeholders: RandomPlaceholders
    /// Whether the current batch was counted, substituted and its clock started (it may still be partly unsent).
    var batchStarted = false
    /// How much of `output` has been sent in the current batch.
    var written = 0
    var pending: Int
    var start: UInt64 = 0
    var latency: Int64 = -1
    var wantsWrite = false
    var input: UnsafeMutableRawBufferPointer
    var inputCount = 0
    var parsed = 0
    /// The scan of the reply that starts at `parsed`, kept between reads.
    var scan = RESPReplyScanner.State(start: 0)
    /// With a ``RequestPlan``: whether each request of the batch in flight is a write.
    var operations: [Bool] = []

    init(fd: Int32, prefix: [[UInt8]], request: [UInt8], pipeline: Int) {
        self.fd = fd
        self.prefix = prefix.flatMap { $0 }
        output = []
        output.reserveCapacity(request.count * pipeline)
        for _ in 0..<pipeline { output += request }
        prefixPending = prefix.count
        pending = pipeline + prefix.count
        placeholders = RandomPlaceholders(in: output)
        input = .allocate(byteCount: 16384, alignment: 16)
    }

    deinit {
        input.deallocate()
        close(fd)
    }

    /// Makes room for at least `minimum` more bytes: first by dropping what was scanned, then by growing.
    func reserveInput(minimum: Int) {
        // The `!`s below: both buffers are allocated with a non-zero size, so they have a base address.
        if parsed > 0 {
            if parsed < inputCount {
                input.baseAddress!.copyMemory(from: input.baseAddress! + parsed, byteCount: inputCount - parsed)
            }
            inputCount -= parsed
            scan.shift(by: parsed)
            parsed = 0
        }
        if input.count - inputCount < minimum {
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count * 2, alignment: 16)
            grown.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: inputCount)
            input.deallocate()
            input = grown
        }
    }
}

/// The load loop: `-c` connections on one thread, level-triggered epoll, each connection with one batch of `-P`
/// requests in flight, as redis-benchmark drives its clients.
public final class BenchmarkRunner {
    let options: BenchmarkOptions
    let address: ServerAddress
    var generator: SplitMix64
    /// The keys writes and reads draw (nil: `__rand_int__` is sent as it is); kept from test to test, so a
    /// sequential pattern goes on where the last test stopped.
    var writeKeys: KeyGenerator?
    var readKeys: KeyGenerator?
    /// Where the `--threads` progress line is fed (nil: this runner prints its own, or none).
    var progressCounters: ProgressCounters?
    let epoll: Int32
    /// Connections by descriptor (descriptors are small and dense).
    var connections: [BenchmarkConnection?] = []
    let showProgress: Bool

    // Per-test state.
    var title = ""
    var request: [UInt8] = []
    var readsKeys = false
    var plan: RequestPlan?
    /// The mixed test's latencies of writes (0) and reads (1).
    var operationHistograms: [LatencyHistogram] = []
    /// Where the runner is in the plan's cycle of writes and reads: one cycle for all its connections, so that the
    /// ratio holds whatever the connections do (with `-k 0` each connection sends a single batch).
    var cycle = 0
    var requestsIssued = 0
    var requestsFinished = 0
    var previousRequestsFinished = 0
    var done = false
    var histogram: LatencyHistogram
    var currentHistogram: LatencyHistogram
    var startMicroseconds: UInt64 = 0
    var previousTick: UInt64 = 0
    var lastPrintedBytes = 0
    var failure: BenchmarkError?
    /// Connections whose batch finished during this wake-up; their next batch goes out after all events are handled.
    var readyToWrite: [BenchmarkConnection] = []
    /// Connections whose next batch waits for the `--qps` schedule; retried on every turn of the loop.
    var throttled: [BenchmarkConnection] = []
    /// The `--qps` rate this runner keeps (its share of it when several threads run), nil for no limit.
    var targetRate: Double?
    /// When `--duration` ends the test (monotonic microseconds), nil when `-n` does.
    var deadline: UInt64?

    /// The most requests a test issues: `-n`, or no bound when `--duration` ends the test.
    var requestLimit: Int { options.duration == nil ? options.requests : Int.max }

    static let readable = Int32(SWIFTLET_READABLE)
    static let writable = Int32(SWIFTLET_WRITABLE)

    /// - Parameters:
    ///   - options: the parsed command line.
    ///   - showProgress: print the live `rps=` line every 250 ms (only on a terminal).
    public init(options: BenchmarkOptions, showProgress: Bool) {
        self.options = options
        self.address = ServerAddress(options: options)
        let seed = options.seed ?? (monotonicMicroseconds() ^ UInt64(getpid()) << 32)
        self.generator = SplitMix64(seed: seed)
        self.epoll = swiftlet_epoll_create()
        self.showProgress = showProgress && !options.csv
        self.histogram = LatencyHistogram(precision: options.precision)
        self.currentHistogram = LatencyHistogram(precision: options.precision)
        self.targetRate = options.qps.map { Double($0) }
        self.writeKeys = options.keySpace(forReads: false).map {
            KeyGenerator($0, part: options.keyPart, of: options.keyParts)
        }
        self.readKeys = options.keySpace(forReads: true).map {
            KeyGenerator($0, part: options.keyPart, of: options.keyParts)
        }
    }

    deinit { close(epoll) }

    /// AUTH, SELECT and HELLO 3 as each connection sends them before its first request.
    var prefixCommands: [[UInt8]] {
        var prefix: [[UInt8]] = []
        // memcached has neither AUTH, SELECT nor HELLO.
        if options.wireProtocol.isMemcache { return prefix }
        if let password = options.password {
            let arguments = ["AUTH"] + (options.user.map { [$0] } ?? []) + [password]
            prefix.append(BenchmarkTest.multibulk(arguments.map { Array($0.utf8) }))
        }
        if options.enableTracking {
            prefix.append(BenchmarkTest.multibulk(["CLIENT", "TRACKING", "on"].map { Array($0.utf8) }))
        }
        if options.databaseNumber != 0 {
            prefix.append(BenchmarkTest.multibulk([Array("SELECT".utf8), Array("\(options.databaseNumber)".utf8)]))
        }
        if options.resp3 { prefix.append(BenchmarkTest.multibulk([Array("HELLO".utf8), Array("3".utf8)])) }
        return prefix
    }

    /// Runs one test to completion.
    /// - Returns: the report, with the progress line's width in `lastPrintedBytes`.
    /// - Throws: ``BenchmarkError`` when a connection fails or the server answers with an error.
    public func run(_ test: BenchmarkTest) throws(BenchmarkError) -> LatencyReport {
        title = test.title
        request = test.request
        readsKeys = test.readsKeys
        plan = test.plan
        cycle = 0
        operationHistograms =
            test.plan?.splitsReport == true
            ? [LatencyHistogram(precision: options.precision), LatencyHistogram(precision: options.precision)] : []
        requestsIssued = 0
        requestsFinished = 0
        previousRequestsFinished = 0
        lastPrintedBytes = 0
        done = false
        failure = nil
        histogram.reset()
        currentHistogram.reset()
        defer {
            readyToWrite.removeAll()
            throttled.removeAll()
            closeAll()
        }
        startMicroseconds = monotonicMicroseconds()
        previousTick = startMicroseconds
        // Capped at about 30 years, so that the deadline fits (a longer run is indistinguishable from forever).
        deadline = options.duration.map { startMicroseconds + UInt64(min($0, 1e9) * 1_000_000) }
        for _ in 0..<max(options.clients, 1) {
            try startConnection()
        }
        // redis-benchmark waits forever for a test of no requests; this one reports it empty.
        if requestLimit > 0 { try loop() }
        let elapsed = Int(monotonicMicroseconds() / 1000) - Int(startMicroseconds / 1000)
        var report = LatencyReport(
            title: title,
            requestsFinished: requestsFinished,
            elapsedMilliseconds: elapsed,
            histogram: histogram,
            // The value used: `-c 0` still opens one connection.
            clients: max(options.clients, 1),
            dataSize: options.dataSize,
            keepAlive: options.keepAlive
        )
        report.addParts(operationHistograms)
        return report
    }

    /// The width of the last progress line printed (the next report is prefixed by that many blanks and `\r`).
    public var progressWidth: Int { lastPrintedBytes }

    /// Opens `-c` connections that send nothing, and waits forever (`-I`).
    public func idle() throws(BenchmarkError) -> Never {
        var open: [Int32] = []
        for _ in 0..<max(options.clients, 1) { open.append(try address.connect()) }
        while true {
            writeAll("clients: \(open.count)\r")
            sleep(1)
        }
    }

    private func startConnection() throws(BenchmarkError) {
        let fd = try address.connect()
        let connection = BenchmarkConnection(
            fd: fd,
            prefix: prefixCommands,
            request: request,
            pipeline: options.pipeline
        )
        if Int(fd) >= connections.count {
            connections += [BenchmarkConnection?](repeating: nil, count: Int(fd) + 1 - connections.count)
        }
        connections[Int(fd)] = connection
        _ = swiftlet_epoll_control(epoll, 0, fd, Self.readable)
        write(connection)
    }

    private func closeAll() {
        for index in connections.indices {
            if let connection = connections[index] {
                _ = swiftlet_epoll_control(epoll, 2, connection.fd, 0)
                connections[index] = nil
            }
        }
    }

    private func interest(_ connection: BenchmarkConnection, writable: Bool) {
        guard connection.wantsWrite != writable else { return }
        connection.wantsWrite = writable
        _ = swiftlet_epoll_control(epoll, 1, connection.fd, Self.readable | (writable ? Self.writable : 0))
    }

    private func loop() throws(BenchmarkError) {
        let capacity = 256
        var fds = [Int32](repeating: 0, count: capacity)
        var events = [Int32](repeating: 0, count: capacity)
        while !done {
            // A throttled connection is due within a millisecond or so; a --duration test checks its deadline every
            // 10 ms even when the server is silent; otherwise wake up for the progress line.
            let timeout: Int32 = throttled.isEmpty ? (deadline == nil ? 250 : 10) : 1
            let count = swiftlet_epoll_wait(epoll, &fds, &events, Int32(capacity), timeout)
            if count < 0 {
                throw BenchmarkError("epoll_wait: \(String(cString: strerror(errno)))")
            }
            for index in 0..<Int(count) {
                let fd = Int(fds[index])
                let flags = events[index]
                guard fd < connections.count, let connection = connections[fd] else { continue }
                if flags & Self.writable != 0 { write(connection) }
                if flags & ~Self.writable != 0 { read(connection) }
                if let failure { throw failure }
                if done { break }
            }
            // As redis-benchmark writes the next batches on the loop's next turn, after every reply of this one
            // was read: the clock of a batch starts when it is written, so reading the other connections' replies
            // is not counted as this one's latency (which keeps the numbers comparable with redis-benchmark's).
            for connection in readyToWrite where !done { write(connection) }
            readyToWrite.removeAll(keepingCapacity: true)
            if !throttled.isEmpty {
                let waiting = throttled
                throttled.removeAll(keepingCapacity: true)
                for connection in waiting where !done { write(connection) }
            }
            if let failure { throw failure }
            let now = monotonicMicroseconds()
            // Replies still in flight when the time is up are not counted (they were not finished in time).
            if let deadline, now >= deadline { done = true }
            if now - previousTick >= 250_000 { tick(now) }
        }
    }

    /// Sends the connection's batch (first call of a batch: counts the requests, substitutes `__rand_int__` and
    /// starts the clock), continuing a partial write when the socket was full.
    private func write(_ connection: BenchmarkConnection) {
        if !connection.batchStarted {
            if let targetRate {
                // `--qps`: a batch may start once the requests issued so far are due by now.
                let allowed = targetRate * Double(monotonicMicroseconds() - startMicroseconds) / 1_000_000
                if Double(requestsIssued) > allowed && requestsIssued < requestLimit {
                    throttled.append(connection)
                    return
                }
            }
            // Enforce the upper bound on requests, a whole batch at a time (redis-benchmark's accounting).
            let issued = requestsIssued
            requestsIssued += options.pipeline
            if issued >= requestLimit {
                interest(connection, writable: false)
                return
            }
            if let plan {
                makeBatch(connection, plan: plan)
            } else if readsKeys, readKeys != nil {
                // `!`: just checked; the generator is mutated in place (a sequential cursor moves on).
                connection.placeholders.substitute(in: &connection.output, keys: &readKeys!, using: &generator)
            } else if !readsKeys, writeKeys != nil {
                connection.placeholders.substitute(in: &connection.output, keys: &writeKeys!, using: &generator)
            }
            connection.start = monotonicMicroseconds()
            connection.latency = -1
            connection.batchStarted = true
        }
        if connection.prefixWritten < connection.prefix.count {
            guard let sent = send(connection, connection.prefix, from: connection.prefixWritten) else { return }
            connection.prefixWritten += sent
            guard connection.prefixWritten == connection.prefix.count else {
                interest(connection, writable: true)
                return
            }
        }
        guard connection.written < connection.output.count else {
            interest(connection, writable: false)
            return
        }
        guard let sent = send(connection, connection.output, from: connection.written) else { return }
        connection.written += sent
        interest(connection, writable: connection.written < connection.output.count)
    }

    /// Makes a planned test's next batch: `-P` requests that go on with the runner's cycle of writes and
    /// reads, each with a fresh key and (for a write) a value of a size drawn from the plan's range.
    private func makeBatch(_ connection: BenchmarkConnection, plan: RequestPlan) {
        connection.output.removeAll(keepingCapacity: true)
        connection.operations.removeAll(keepingCapacity: true)
        let sizes = plan.sizes
        for _ in 0..<options.pipeline {
            let isWrite = plan.isWrite(cycle)
            cycle &+= 1
            let key = isWrite ? writeKeys?.next(using: &generator) : readKeys?.next(using: &generator)
            var size = sizes.lowerBound
            if isWrite && sizes.count > 1 { size += Int(generator.next() % UInt64(sizes.count)) }
            BenchmarkTest.appendRequest(
                write: isWrite,
                protocol: plan.wireProtocol,
                key: key,
                value: isWrite ? plan.value[0..<size] : [],
                into: &connection.output
            )
            connection.operations.append(isWrite)
        }
    }

    /// Sends `bytes[offset...]` once; nil when nothing was sent (the socket is full, or it failed: see `failure`).
    private func send(_ connection: BenchmarkConnection, _ bytes: [UInt8], from offset: Int) -> Int? {
        // `!`: callers send only when `offset < bytes.count`, so the array is not empty and has a base address.
        let sent = bytes.withUnsafeBytes {
            Glibc.send(connection.fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
        }
        if sent < 0 {
            if errno == EAGAIN || errno == EINTR {
                interest(connection, writable: true)
            } else {
                failure = BenchmarkError("Error writing to the server: \(String(cString: strerror(errno)))")
            }
            return nil
        }
        return sent
    }

    private func read(_ connection: BenchmarkConnection) {
        if connection.latency < 0 {
            // The first readable event of a batch: the server has answered; parsing is not latency.
            connection.latency = Int64(monotonicMicroseconds() - connection.start)
        }
        connection.reserveInput(minimum: 4096)
        // `!`: the input buffer is allocated with a non-zero size.
        let count = Glibc.read(
            connection.fd,
            connection.input.baseAddress! + connection.inputCount,
            connection.input.count - connection.inputCount
        )
        if count == 0 {
            failure = BenchmarkError("Error: Server closed the connection")
            return
        }
        if count < 0 {
            if errno != EAGAIN && errno != EINTR {
                failure = BenchmarkError("Error: \(String(cString: strerror(errno)))")
            }
            return
        }
        connection.inputCount += count
        let bytes = UnsafeRawBufferPointer(rebasing: connection.input[0..<connection.inputCount])
        // Every reply of a batch has the batch's latency: record them together, once per read.
        var unrecorded: UInt64 = 0
        defer {
            if unrecorded > 0 {
                let latency = UInt64(max(connection.latency, 0))
                histogram.record(microseconds: latency, count: unrecorded)
                currentHistogram.record(microseconds: latency, count: unrecorded)
                progressCounters?.add(requests: Int(unrecorded), microseconds: Int(latency * unrecorded))
            }
        }
        while connection.pending > 0 {
            let (outcome, error) =
                options.wireProtocol.isMemcache
                ? MemcacheReplyScanner.scanReply(bytes, from: connection.parsed)
                : RESPReplyScanner.scanReply(bytes, resuming: &connection.scan)
            switch outcome {
            case .incomplete:
                return
            case .protocolError:
                failure = BenchmarkError("Error: Protocol error, got unexpected bytes from the server")
                return
            case .complete(let end, _, let isPush):
                connection.parsed = end
                connection.scan = RESPReplyScanner.State(start: end)
                // A RESP3 push (a tracking invalidation) answers no request: dropped, as hiredis's default push
                // handler drops it in redis-benchmark.
                if isPush { continue }
                if let error {
                    let text = String(decoding: bytes[error], as: UTF8.self)
                    failure = BenchmarkError("Error from server: \(text)")
                    return
                }
                if connection.prefixPending > 0 {
                    // The prefix went out once, from its own buffer; later batches send only the requests.
                    connection.prefixPending -= 1
                    connection.pending -= 1
                    continue
                }
                if requestsFinished < requestLimit {
                    unrecorded += 1
                    if !operationHistograms.isEmpty {
                        // The batch's replies come in the order of its requests.
                        let isWrite = connection.operations[options.pipeline - connection.pending]
                        operationHistograms[isWrite ? 0 : 1].record(
                            microseconds: UInt64(max(connection.latency, 0))
                        )
                    }
                }
                requestsFinished += 1
                connection.pending -= 1
                if connection.pending == 0 {
                    batchDone(connection)
                    return
                }
            }
        }
    }

    /// A batch's replies are all in: stop when enough requests finished, else send the next batch (on this
    /// connection, or on a fresh one with `-k 0`).
    private func batchDone(_ connection: BenchmarkConnection) {
        if requestsFinished >= requestLimit {
            done = true
            return
        }
        if options.keepAlive != 0 {
            connection.written = 0
            connection.batchStarted = false
            connection.pending = options.pipeline
            // What follows the batch's last reply (the start of a push, with --enable-tracking) stays in the buffer
            // for the next read, as it stays in hiredis's reader.
            readyToWrite.append(connection)
        } else {
            _ = swiftlet_epoll_control(epoll, 2, connection.fd, 0)
            connections[Int(connection.fd)] = nil
            do { try startConnection() } catch { failure = error }
        }
    }

    /// The live progress line, every 250 ms on a terminal.
    private func tick(_ now: UInt64) {
        guard showProgress else {
            previousTick = now
            return
        }
        let elapsed = Float(now / 1000 - startMicroseconds / 1000) / 1000
        let rps = Float(requestsFinished) / elapsed
        let instantElapsed = Float(now / 1000 - previousTick / 1000) / 1000
        let instantRPS = Float(requestsFinished - previousRequestsFinished) / instantElapsed
        previousTick = now
        previousRequestsFinished = requestsFinished
        // An empty histogram's mean is 0/0, which C's printf writes as "-nan".
        func average(_ histogram: LatencyHistogram) -> String {
            histogram.count == 0 ? "-nan" : formatC("%.3f", histogram.mean / 1000)
        }
        let line =
            title + formatC(": rps=%.1f (overall: %.1f)", Double(instantRPS), Double(rps))
            + " avg_msec=\(average(currentHistogram)) (overall: \(average(histogram)))\r"
        writeAll(String(repeating: " ", count: max(lastPrintedBytes, 1)) + "\r" + line)
        lastPrintedBytes = line.utf8.count
        currentHistogram.reset()
    }
}
