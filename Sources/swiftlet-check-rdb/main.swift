import SwiftletKeyspace
import SwiftletPersistence

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// swiftlet-check-rdb FILE [--rewrite OUT [--no-compression]] — reads an RDB file with the server's own decoder
/// and prints a summary in the style of `redis-check-rdb`. Exits 0 when the file is valid, 1 otherwise.
/// `--rewrite OUT` also loads the file into a keyspace and writes it back out with the server's own writer
/// (a round trip through both halves, used by the interoperability tests).
let arguments = CommandLine.arguments
guard arguments.count == 2 || (arguments.count >= 4 && arguments[2] == "--rewrite") else {
    print("Usage: \(arguments[0]) <rdb-file-name> [--rewrite <out-file> [--no-compression]]")
    exit(1)
}
let path = arguments[1]
if arguments.count >= 4 {
    let keyspace = Keyspace()
    do {
        let now = Int64(time(nil)) * 1000
        let summary = try RDBReader.load(path: path, into: keyspace, now: now)
        var options = RDBWriter.Options()
        options.compression = !arguments.contains("--no-compression")
        options.creationTime = now / 1000
        try RDBWriter.write(keyspace: keyspace, to: arguments[3], options: options)
        print("[info] \(summary.keysLoaded) keys rewritten to \(arguments[3])")
        exit(0)
    } catch {
        print("--- RDB ERROR DETECTED ---")
        print("\(error)")
        exit(1)
    }
}
let fd = open(path, O_RDONLY | O_CLOEXEC)
if fd < 0 {
    print("Cannot open \(path): \(String(cString: strerror(errno)))")
    exit(1)
}
let source = RDBByteSource(fd: fd)
var reader = RDBReader(source: source, limits: RDBLoadLimits())
var keys = 0
var expires = 0
var expired = 0
var emptyKeys = 0
var types: [String: Int] = [:]
let now = Int64(time(nil)) * 1000
print("[offset 0] Checking RDB file \(path)")
do {
    try reader.readHeader()
    while true {
        let offset = source.offset
        let record: RDBFileRecord?
        do {
            record = try reader.next()
        } catch let error as RDBError where error.kind == .emptyKey {
            emptyKeys += 1
            continue
        }
        guard let record else { break }
        switch record {
        case .aux(let key, let value):
            print(
                "[offset \(offset)] AUX FIELD \(String(decoding: key, as: UTF8.self)) = '"
                    + "\(String(decoding: value, as: UTF8.self))'"
            )
        case .selectDB(let index):
            print("[offset \(offset)] Selecting DB ID \(index)")
        case .resizeDB(let k, let e):
            print("[offset \(offset)] DB size: \(k) keys, \(e) expires")
        case .function:
            print("[offset \(offset)] Function library (skipped)")
        case .key(let key):
            keys += 1
            types["\(key.type)", default: 0] += 1
            if let at = key.expireAt {
                expires += 1
                if at < now { expired += 1 }
            }
        }
    }
    print("[offset \(source.offset)] Checksum \(reader.checksumVerified ? "OK" : "not present (rdbchecksum no)")")
    print("[offset \(source.offset)] \\o/ RDB looks OK! \\o/")
    print("[info] RDB version \(reader.version)")
    print("[info] \(keys) keys read")
    print("[info] \(expires) expires")
    print("[info] \(expired) already expired")
    if emptyKeys > 0 { print("[info] \(emptyKeys) empty keys skipped") }
    for (type, count) in types.sorted(by: { $0.key < $1.key }) { print("[info] \(count) keys of type \(type)") }
    close(fd)
    exit(0)
} catch {
    print("--- RDB ERROR DETECTED ---")
    print("[offset \(source.offset)] \(error)")
    print("[additional info] While doing: read-object-value")
    print("[info] \(keys) keys read")
    close(fd)
    exit(1)
}
