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
/// and prints what `redis-check-rdb` prints (`RDBCheck`), then the RDB version and the keys per type. Exits 0
/// when the file is valid, 1 otherwise.
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
var check = RDBCheck()
let valid = check.run(source: source, name: path, now: Int64(time(nil)) * 1000) != nil
close(fd)
guard valid else { exit(1) }
// Below Redis's report, two lines of Swiftlet's own.
print("[info] RDB version \(check.version)")
for (type, count) in check.keysByType.sorted(by: { $0.key < $1.key }) { print("[info] \(count) keys of type \(type)") }
exit(0)
