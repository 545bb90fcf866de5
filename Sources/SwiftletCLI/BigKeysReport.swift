#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The statistics of `--bigkeys` and `--memkeys`, and the lines redis-cli's `findBigKeys` prints from them.
struct BigKeysReport: Sendable, Hashable {
    /// One key type: how its size is measured and what was seen of it.
    struct TypeStats: Sendable, Hashable {
        let name: String
        /// The command that measures a key of this type (`STRLEN`, `LLEN`, ...); `nil` for module types.
        let sizeCommand: String?
        let unit: String
        var biggest: UInt64 = 0
        var count: UInt64 = 0
        var totalSize: UInt64 = 0
        /// The biggest key so far, quoted as `sdscatrepr` quotes it.
        var biggestKey: [UInt8]?
    }

    /// `--memkeys`: sizes are `MEMORY USAGE` bytes.
    let memory: Bool
    /// The known types: the six built-in ones, then module types in the order they were found.
    private(set) var types: [TypeStats] = [
        TypeStats(name: "list", sizeCommand: "LLEN", unit: "items"),
        TypeStats(name: "hash", sizeCommand: "HLEN", unit: "fields"),
        TypeStats(name: "string", sizeCommand: "STRLEN", unit: "bytes"),
        TypeStats(name: "stream", sizeCommand: "XLEN", unit: "entries"),
        TypeStats(name: "set", sizeCommand: "SCARD", unit: "members"),
        TypeStats(name: "zset", sizeCommand: "ZCARD", unit: "members"),
    ]
    /// How many TYPE replies were looked up in redis-cli's type dictionary: each lookup moves its incremental
    /// rehash one step, and the summary's order depends on how far it got.
    private(set) var lookups = 0
    private(set) var sampled: UInt64 = 0

    /// The order redis-cli's type dictionary iterates the built-in types, by the lookups done. Its hash seed is
    /// fixed (zero), so this never changes: the sixth insertion starts growing the table from 4 to 8 buckets and
    /// each lookup moves one more bucket; after two lookups the table is whole again.
    static let dictionaryOrders = [
        ["hash", "list", "string", "stream", "set", "zset"],
        ["string", "list", "hash", "stream", "set", "zset"],
        ["list", "hash", "string", "stream", "set", "zset"],
    ]

    /// The indices of ``types`` in the order redis-cli prints the summary. A module type comes last (in
    /// redis-cli it lands wherever its name hashes).
    var summaryOrder: [Int] {
        let names = Self.dictionaryOrders[min(self.lookups, Self.dictionaryOrders.count - 1)]
        let builtIn = names.compactMap { name in self.types.firstIndex { $0.name == name } }
        return builtIn + self.types.indices.filter { !builtIn.contains($0) }
    }
    private(set) var totalKeyLength: UInt64 = 0

    init(memory: Bool) {
        self.memory = memory
    }

    /// The header printed before the scan.
    static let header = """

        # Scanning the entire keyspace to find biggest keys as well as
        # average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec
        # per 100 SCAN commands (not usually needed).


        """

    /// The index of the type named by a TYPE reply, adding a module type on first sight.
    /// - Returns: `nil` for `none` (the key went away between SCAN and TYPE).
    mutating func typeIndex(named name: String) -> Int? {
        self.lookups += 1
        if let index = self.types.firstIndex(where: { $0.name == name }) { return index }
        if name == "none" { return nil }
        self.types.append(TypeStats(name: name, sizeCommand: nil, unit: "?"))
        return self.types.count - 1
    }

    /// The command that measures `key` of type `index`, or `nil` when the key is not measured (a module type
    /// outside `--memkeys`).
    func sizeCommand(type index: Int, key: [UInt8], samples: UInt32) -> [[UInt8]]? {
        if self.memory {
            let usage = [Array("MEMORY".utf8), Array("USAGE".utf8), key]
            return samples == 0 ? usage : usage + [Array("SAMPLES".utf8), Array(String(samples).utf8)]
        }
        guard let command = self.types[index].sizeCommand else { return nil }
        return [Array(command.utf8), key]
    }

    /// Counts one key.
    /// - Parameter percent: the progress before this SCAN call, as redis-cli computes it.
    /// - Returns: the progress lines to print (a new biggest key, every millionth key).
    mutating func add(key: [UInt8], type index: Int, size: UInt64, percent: Double) -> String {
        var lines = ""
        self.types[index].totalSize &+= size
        self.types[index].count += 1
        self.totalKeyLength += UInt64(key.count)
        self.sampled += 1
        if self.types[index].biggest < size {
            var quoted: [UInt8] = []
            ReplyFormatter.appendRepr(key, to: &quoted)
            self.types[index].biggestKey = quoted
            let name = self.types[index].name
            let padded = name + String(repeating: " ", count: max(0, 6 - name.utf8.count))
            lines +=
                "[\(CFormat.percent(percent))%] Biggest \(padded) found so far '\(String(decoding: quoted, as: UTF8.self))'"
                + " with \(size) \(self.unit(index))\n"
            self.types[index].biggest = size
        }
        if self.sampled % 1_000_000 == 0 {
            lines += "[\(CFormat.percent(percent))%] Sampled \(self.sampled) keys so far\n"
        }
        return lines
    }

    /// The summary printed after the scan.
    /// - Parameter cancelledAt: the progress when the scan was interrupted, or `nil` when it finished.
    func summary(cancelledAt: Double? = nil) -> String {
        var out = "\n-------- summary -------\n\n"
        if let cancelledAt { out += "[\(CFormat.percent(cancelledAt))%] " }
        out += "Sampled \(self.sampled) keys in the keyspace!\n"
        let average = self.totalKeyLength == 0 ? 0 : Double(self.totalKeyLength) / Double(self.sampled)
        out += "Total key length in bytes is \(self.totalKeyLength) (avg len \(CFormat.fixed2(average)))\n\n"
        for index in self.summaryOrder {
            let type = self.types[index]
            guard let key = type.biggestKey else { continue }
            let padded = String(repeating: " ", count: max(0, 6 - type.name.utf8.count)) + type.name
            out +=
                "Biggest \(padded) found '\(String(decoding: key, as: UTF8.self))' has \(type.biggest)"
                + " \(self.unit(index))\n"
        }
        out += "\n"
        for index in self.summaryOrder {
            let type = self.types[index]
            let share = self.sampled == 0 ? 0 : 100 * Double(type.count) / Double(self.sampled)
            let average = type.count == 0 ? 0 : Double(type.totalSize) / Double(type.count)
            out +=
                "\(type.count) \(type.name)s with \(type.totalSize) \(self.unit(index))"
                + " (\(CFormat.percent(share))% of keys, avg size \(CFormat.fixed2(average)))\n"
        }
        return out
    }

    private func unit(_ index: Int) -> String {
        self.memory ? "bytes" : self.types[index].unit
    }
}
