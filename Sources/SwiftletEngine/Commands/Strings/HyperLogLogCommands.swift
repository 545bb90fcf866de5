import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletRESP

/// The HyperLogLog family: PFADD, PFCOUNT, PFMERGE, and the debugging commands PFDEBUG and PFSELFTEST.
///
/// A HyperLogLog is a plain string holding Redis's exact bytes (see ``HyperLogLog``); the commands change it
/// in place through the entry (the array is moved out, changed and moved back: no copy per command).
public enum HyperLogLogCommands {
    // MARK: - Helpers

    /// Redis's `isHLLObjectOrReply`: another type is the usual `WRONGTYPE`; a string that is not a
    /// HyperLogLog (wrong magic, unknown encoding, dense of the wrong length, integer-encoded) gets its own text.
    static func check(_ entry: Entry) throws(RedisError) {
        guard entry.isString else { throw RedisError.wrongType }
        // An integer-encoded string is never a HyperLogLog (Redis checks the encoding before the bytes).
        if case .int = entry.value { throw RedisError.hllWrongType }
        guard entry.withStringBytes({ HyperLogLog.isValid($0) }) == true else { throw RedisError.hllWrongType }
    }

    /// `hll-sparse-max-bytes`: read once per command, and only when a sparse HyperLogLog is written.
    static func sparseMaxBytes(_ context: CommandContext) -> Int {
        Int(clamping: context.server.config.number("hll-sparse-max-bytes"))
    }

    /// Creates `key` holding an empty (sparse) HyperLogLog.
    static func create(_ context: CommandContext, _ key: ByteBuffer) -> Entry {
        key.withUnsafeReadableBytes { context.db.set($0, .raw(HyperLogLog.makeEmpty()), now: context.now) }
    }

    // MARK: - PFADD

    /// PFADD key [element [element ...]] — O(1) per element
    static func pfadd(_ context: inout CommandContext) throws(RedisError) {
        let key = context.arguments[1]
        var updated = 0
        let entry: Entry
        if let existing = context.lookupWrite(key) {
            try Self.check(existing)
            entry = existing
        } else {
            entry = Self.create(context, key)
            updated = 1
        }
        var corrupt = false
        let arguments = context.arguments
        let limit = entry.withStringBytes { HyperLogLog.encoding($0) } == .sparse ? Self.sparseMaxBytes(context) : 0
        _ = StringCommands.mutateRaw(entry) { bytes in
            for i in 2..<max(2, arguments.count) {
                let result = arguments[i].withUnsafeReadableBytes {
                    HyperLogLog.add(&bytes, $0, sparseMaxBytes: limit)
                }
                if result == .changed {
                    updated += 1
                } else if result == .corrupt {
                    // Registers set by earlier elements stay set, as in Redis.
                    corrupt = true
                    return
                }
            }
            if updated > 0 { HyperLogLog.invalidateCache(&bytes) }
        }
        if corrupt { throw RedisError.hllCorrupt }
        if updated > 0 {
            context.notify(.string, "pfadd", key: key)
            context.dirty(updated)
        }
        context.out.writeInteger(updated > 0 ? 1 : 0)
    }

    // MARK: - PFCOUNT

    /// PFCOUNT key [key ...] — O(1) for one key (cached), O(N) for N keys
    static func pfcount(_ context: inout CommandContext) throws(RedisError) {
        if context.count > 2 {
            // The union of several keys: merge into a temporary register array (missing keys are empty).
            let registers = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: HyperLogLog.registerCount)
            defer { registers.deallocate() }
            registers.initialize(repeating: 0)
            try Self.mergeSources(&context, into: registers)
            context.out.writeInteger(Int(HyperLogLog.cardinality(registers: UnsafeBufferPointer(registers))))
            return
        }
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeInteger(0)
            return
        }
        try Self.check(entry)
        var card: UInt64 = 0
        var corrupt = false
        var recomputed = false
        // A running BGSAVE saves the key before its cache changes.
        context.db.willModify(entry)
        // Redis unshares the value even when the cache is valid (an embstr becomes raw).
        _ = StringCommands.mutateRaw(entry) { bytes in
            if let cached = bytes.withUnsafeBytes({ HyperLogLog.cachedCardinality($0) }) {
                card = cached
                return
            }
            guard let computed = bytes.withUnsafeBytes({ HyperLogLog.cardinality($0) }) else {
                corrupt = true
                return
            }
            HyperLogLog.storeCardinality(&bytes, computed)
            card = computed
            recomputed = true
        }
        if corrupt { throw RedisError.hllCorrupt }
        // Updating the cache changes the string: counted like a write.
        if recomputed {
            context.dirty()
            // Redis signals the key as modified even though PFCOUNT is flagged read-only: WATCH sees it.
            if !context.server.watchers.isEmpty {
                context.server.touchWatched(database: context.session.database, key: context.arguments[1].bytes)
            }
        }
        // The top bit of a valid cache is clear, so the value fits an Int.
        context.out.writeInteger(Int(truncatingIfNeeded: card))
    }

    /// Raises `registers` to every HyperLogLog among arguments 1... (PFCOUNT of several keys, PFMERGE).
    /// - Returns: whether any of them is dense.
    @discardableResult
    static func mergeSources(
        _ context: inout CommandContext,
        into registers: UnsafeMutableBufferPointer<UInt8>
    ) throws(RedisError) -> Bool {
        var dense = false
        for i in 1..<context.count {
            guard let entry = context.lookupRead(context.arguments[i]) else { continue }
            try Self.check(entry)
            let merged = entry.withStringBytes { bytes in
                if HyperLogLog.encoding(bytes) == .dense { dense = true }
                return HyperLogLog.merge(bytes, into: registers)
            }
            if merged != true { throw RedisError.hllCorrupt }
        }
        return dense
    }

    // MARK: - PFMERGE

    /// PFMERGE destkey [sourcekey [sourcekey ...]] — O(N) for N keys
    static func pfmerge(_ context: inout CommandContext) throws(RedisError) {
        let registers = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: HyperLogLog.registerCount)
        defer { registers.deallocate() }
        registers.initialize(repeating: 0)
        // The destination is a source too (argument 1).
        let useDense = try Self.mergeSources(&context, into: registers)
        let key = context.arguments[1]
        let entry = context.lookupWrite(key) ?? Self.create(context, key)
        let limit = Self.sparseMaxBytes(context)
        var corrupt = false
        _ = StringCommands.mutateRaw(entry) { bytes in
            // A dense source makes the destination dense at once.
            if useDense && !HyperLogLog.sparseToDense(&bytes) {
                corrupt = true
                return
            }
            HyperLogLog.raise(&bytes, to: UnsafeBufferPointer(registers), sparseMaxBytes: limit)
            HyperLogLog.invalidateCache(&bytes)
        }
        if corrupt { throw RedisError.hllCorrupt }
        // PFMERGE announces itself as "pfadd", as in Redis.
        context.notify(.string, "pfadd", key: key)
        context.dirty()
        context.out.writeOK()
    }

    // MARK: - PFDEBUG / PFSELFTEST

    /// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key — O(N)
    static func pfdebug(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = context.lookupWrite(context.arguments[2]) else { throw RedisError.hllDebugNoSuchKey }
        try Self.check(entry)
        var converted = false
        var corrupt = false
        let toDense = context.argument(1, is: "getreg") || context.argument(1, is: "todense")
        // Redis unshares the value first, whatever the subcommand (an embstr becomes raw).
        _ = StringCommands.mutateRaw(entry) { bytes in
            guard toDense, bytes[4] == HyperLogLog.Encoding.sparse.rawValue else { return }
            if HyperLogLog.sparseToDense(&bytes) {
                converted = true
            } else {
                corrupt = true
            }
        }
        if corrupt { throw RedisError.hllCorrupt }
        // The encoding change is propagated as a write.
        if converted { context.dirty() }
        if context.argument(1, is: "getreg") {
            context.out.writeArrayHeader(HyperLogLog.registerCount)
            _ = entry.withStringBytes { bytes in
                let registers = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + HyperLogLog.headerSize
                for i in 0..<HyperLogLog.registerCount {
                    context.out.writeInteger(Int(HyperLogLog.denseRegister(registers, i)))
                }
            }
        } else if context.argument(1, is: "decode") {
            let decoded: [UInt8]? = entry.withStringBytes { bytes in
                HyperLogLog.encoding(bytes) == .sparse ? HyperLogLog.decodeSparse(bytes) : nil
            }!  // checked to be a string above
            guard let decoded else { throw RedisError.hllNotSparse }
            context.out.writeBulkString(decoded)
        } else if context.argument(1, is: "encoding") {
            let dense = entry.withStringBytes { HyperLogLog.encoding($0) == .dense } == true
            context.out.writeSimpleString(dense ? "dense" : "sparse")
        } else if context.argument(1, is: "todense") {
            context.out.writeInteger(converted ? 1 : 0)
        } else {
            throw RedisError.hllUnknownDebugSubcommand(context.arguments[1].bytes)
        }
    }

    /// PFSELFTEST — checks the register packing and the estimator's error on 10 million elements.
    static func pfselftest(_ context: inout CommandContext) throws(RedisError) {
        var system = SystemRandomNumberGenerator()
        // Millions of random register values: a fast generator, not a system call each.
        var rng = SplitMix64(seededFrom: &system)
        var dense = [UInt8](repeating: 0, count: HyperLogLog.denseSize + 1)
        var expected = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        // Test 1: every register keeps its value without disturbing its neighbours.
        for _ in 0..<1000 {
            for i in 0..<HyperLogLog.registerCount { expected[i] = UInt8.random(in: 0...63, using: &rng) }
            let mismatch: (Int, UInt8)? = dense.withUnsafeMutableBufferPointer { buffer in
                let registers = buffer.baseAddress! + HyperLogLog.headerSize
                for i in 0..<HyperLogLog.registerCount { HyperLogLog.setDenseRegister(registers, i, expected[i]) }
                for i in 0..<HyperLogLog.registerCount where HyperLogLog.denseRegister(registers, i) != expected[i] {
                    return (i, HyperLogLog.denseRegister(registers, i))
                }
                return nil
            }
            if let (i, v) = mismatch {
                throw RedisError.hllSelfTestRegister(i, expected: Int(expected[i]), actual: Int(v))
            }
        }
        // Test 2: dense and sparse agree, and the error stays within six standard errors.
        dense = HyperLogLog.makeEmpty()
        _ = HyperLogLog.sparseToDense(&dense)
        var sparse = HyperLogLog.makeEmpty()
        let limit = Self.sparseMaxBytes(context)
        let relativeError = 1.04 / Double(HyperLogLog.registerCount).squareRoot()
        var checkpoint: UInt64 = 1
        let seed = rng.next()
        for j in UInt64(1)...10_000_000 {
            var element = j ^ seed
            withUnsafeBytes(of: &element) { e in
                _ = HyperLogLog.add(&dense, e, sparseMaxBytes: limit)
                _ = HyperLogLog.add(&sparse, e, sparseMaxBytes: limit)
            }
            guard j == checkpoint else { continue }
            if j < UInt64(limit / 2) && sparse[4] != HyperLogLog.Encoding.sparse.rawValue {
                throw RedisError.hllSelfTestNotSparse
            }
            let d = dense.withUnsafeBytes { HyperLogLog.cardinality($0) } ?? 0
            let s = sparse.withUnsafeBytes { HyperLogLog.cardinality($0) } ?? 0
            if d != s { throw RedisError.hllSelfTestDisagree }
            var maxError = UInt64((relativeError * 6 * Double(checkpoint)).rounded(.up))
            if j == 10 { maxError = 1 }
            let error = Int64(checkpoint) - Int64(d)
            if error.magnitude > maxError { throw RedisError.hllSelfTestError(checkpoint, Int64(error.magnitude)) }
            checkpoint *= 10
        }
        context.out.writeOK()
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init(
            "pfadd",
            arity: -2,
            flags: [.write, .denyOOM, .fast],
            keys: .init(1, 1, 1),
            group: "hyperloglog",
            run: pfadd
        ),
        .init(
            "pfcount",
            arity: -2,
            flags: [.readonly, .mayReplicate],
            keys: .init(1, -1, 1),
            group: "hyperloglog",
            run: pfcount
        ),
        .init(
            "pfmerge",
            arity: -2,
            flags: [.write, .denyOOM],
            keys: .init(1, -1, 1),
            group: "hyperloglog",
            run: pfmerge
        ),
        .init(
            "pfdebug",
            arity: 3,
            flags: [.write, .denyOOM, .admin],
            keys: .init(2, 2, 1),
            group: "hyperloglog",
            run: pfdebug
        ),
        .init("pfselftest", arity: 1, flags: [.admin], group: "hyperloglog", run: pfselftest),
    ]
}
