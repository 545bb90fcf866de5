import NIOCore
import SwiftletKeyspace
import SwiftletRESP

extension CommandContext {
    /// Argument `index` as a signed 64-bit integer, or `ERR value is not an integer or out of range`.
    public func integer(_ index: Int) throws(RedisError) -> Int64 {
        guard let v = self.arguments[index].int64 else { throw RedisError.notInteger }
        return v
    }

    /// Argument `index` as a non-negative integer, or `error` (Redis words this per command).
    public func integer(_ index: Int, atLeast minimum: Int64, else error: RedisError) throws(RedisError) -> Int64 {
        let v = try self.integer(index)
        guard v >= minimum else { throw error }
        return v
    }

    /// Argument `index` as a double, or `ERR value is not a valid float`.
    public func double(_ index: Int) throws(RedisError) -> Double {
        guard let v = self.arguments[index].withUnsafeReadableBytes({ NumberFormat.parseDouble($0) }) else {
            throw RedisError.notFloat
        }
        return v
    }

    /// Whether argument `index` equals the lower-case option name, ignoring ASCII case.
    @inline(__always)
    public func argument(_ index: Int, is option: StaticString) -> Bool {
        self.arguments[index].equalsCaseInsensitive(option)
    }

    /// HDEL/SREM: removes arguments 2... from a collection, deletes the key once the collection is empty
    /// (Redis keeps no empty collections), counts the changes and replies with the number removed.
    mutating func removeEachArgument(
        from collection: some CollectionValue,
        event: (type: KeyspaceEvents, name: StaticString),
        remove: (UnsafeRawBufferPointer) -> Bool
    ) {
        var removed = 0
        var emptied = false
        for i in 2..<self.count where self.arguments[i].withUnsafeReadableBytes(remove) {
            removed += 1
            if collection.count == 0 {
                _ = self.arguments[1].withUnsafeReadableBytes { self.db.delete($0) }
                emptied = true
                break
            }
        }
        if removed > 0 {
            // The command's event, then "del" when it emptied the key (t_hash.c hdelCommand, t_set.c sremCommand).
            self.notify(event.type, event.name, key: self.arguments[1])
            if emptied { self.notify(.generic, "del", key: self.arguments[1]) }
        }
        self.dirty(removed)
        self.out.writeInteger(removed)
    }

    /// Argument `index` as a C `int`, as Redis's `getIntFromObjectOrReply` checks it.
    public func int32(_ index: Int) throws(RedisError) -> Int {
        let v = try self.integer(index)
        guard v >= Int64(Int32.min), v <= Int64(Int32.max) else { throw RedisError.notInt32 }
        return Int(v)
    }

    /// The database with index argument `index` (`SELECT`, `MOVE`, `COPY ... DB`).
    public func databaseIndex(_ index: Int) throws(RedisError) -> Int {
        let v = try self.int32(index)
        guard v >= 0, v < self.keyspace.databases.count else { throw RedisError.dbIndexOutOfRange }
        return v
    }
}

extension Entry {
    /// The value as a signed integer, for INCR and friends: `nil` when it is a string that is not one.
    var integerValue: Int64? {
        if case .int(let v) = self.value { return v }
        return self.withStringBytes { bytes in bytes.count <= 20 ? NumberFormat.parseInt64(bytes) : nil } ?? nil
    }
}
