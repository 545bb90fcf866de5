/// The walk behind `swiftlet-check-rdb` and the RDB part of `swiftlet-check-aof`: every record is read with
/// the server's own reader (`RDBReader`), and the lines are those `redis-check-rdb` 7.0 prints, offsets
/// included (the offset after the record, as Redis prints the bytes processed so far).
///
/// The counters stay readable afterwards, so that a tool can add lines of its own below Redis's.
public struct RDBCheck {
    public private(set) var keys = 0
    public private(set) var expires = 0
    public private(set) var alreadyExpired = 0
    public private(set) var emptyKeysSkipped = 0
    /// Keys per stored type name (`RDBKeyRecord.type`), for the tools' own summary lines.
    public private(set) var keysByType: [String: Int] = [:]
    public private(set) var version = 0

    public init() {}

    /// Checks the RDB that starts at the source's current position and prints Redis's report through `emit`.
    /// - Parameters:
    ///   - now: milliseconds since the epoch, for "already expired".
    /// - Returns: the offset after the RDB (its EOF opcode and checksum), or nil when it is not valid.
    public mutating func run(
        source: RDBByteSource,
        limits: RDBLoadLimits = RDBLoadLimits(),
        name: String,
        now: Int64,
        emit: (String) -> Void = { print($0) }
    ) -> Int? {
        var reader = RDBReader(source: source, limits: limits)
        emit("[offset \(source.offset)] Checking RDB file \(name)")
        do {
            try reader.readHeader()
            self.version = reader.version
            while true {
                let record: RDBFileRecord?
                do {
                    record = try reader.next()
                } catch let error as RDBError where error.kind == .emptyKey {
                    self.emptyKeysSkipped += 1
                    continue
                }
                guard let record else { break }
                let offset = source.offset
                switch record {
                case .aux(let key, let value):
                    emit(
                        "[offset \(offset)] AUX FIELD \(String(decoding: key, as: UTF8.self)) = '"
                            + "\(String(decoding: value, as: UTF8.self))'"
                    )
                case .selectDB(let index):
                    emit("[offset \(offset)] Selecting DB ID \(index)")
                case .resizeDB, .function:
                    break
                case .key(let key):
                    self.keys += 1
                    self.keysByType["\(key.type)", default: 0] += 1
                    if let at = key.expireAt {
                        self.expires += 1
                        if at < now { self.alreadyExpired += 1 }
                    }
                }
            }
        } catch {
            emit("--- RDB ERROR DETECTED ---")
            emit("[offset \(source.offset)] \(error)")
            emit("[additional info] While doing: read-object-value")
            self.emitCounts(emit)
            return nil
        }
        if reader.checksumVerified {
            emit("[offset \(source.offset)] Checksum OK")
        } else {
            emit("[offset \(source.offset)] RDB file was saved with checksum disabled: no check performed.")
        }
        emit("[offset \(source.offset)] \\o/ RDB looks OK! \\o/")
        self.emitCounts(emit)
        return source.offset
    }

    private func emitCounts(_ emit: (String) -> Void) {
        emit("[info] \(self.keys) keys read")
        emit("[info] \(self.expires) expires")
        emit("[info] \(self.alreadyExpired) already expired")
        if self.emptyKeysSkipped > 0 { emit("[info] \(self.emptyKeysSkipped) empty keys skipped") }
    }
}
