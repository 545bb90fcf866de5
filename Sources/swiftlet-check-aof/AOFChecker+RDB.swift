import SwiftletKeyspace
import SwiftletPersistence

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension AOFChecker {
    /// Reads the RDB at the start of `bytes` with the server's reader, printing a summary in the style of
    /// `redis-check-rdb`.
    /// - Returns: the offset after the RDB (its EOF opcode and checksum), or nil if it is not valid.
    static func checkRDB(_ bytes: [UInt8], name: String) -> Int? {
        let source = RDBByteSource(bytes: bytes)
        var reader = RDBReader(source: source)
        let now = Int64(time(nil)) * 1000
        var keys = 0
        var expires = 0
        var expired = 0
        var emptyKeys = 0
        print("[offset 0] Checking RDB file \(name)")
        do {
            try reader.readHeader()
            while true {
                let record: RDBFileRecord?
                do {
                    record = try reader.next()
                } catch let error as RDBError where error.kind == .emptyKey {
                    emptyKeys += 1
                    continue
                }
                guard let record else { break }
                // redis-check-rdb shows the offset after each record.
                let offset = source.offset
                switch record {
                case .aux(let key, let value):
                    print(
                        "[offset \(offset)] AUX FIELD \(String(decoding: key, as: UTF8.self)) = '"
                            + "\(String(decoding: value, as: UTF8.self))'"
                    )
                case .selectDB(let index):
                    print("[offset \(offset)] Selecting DB ID \(index)")
                case .resizeDB, .function:
                    break
                case .key(let key):
                    keys += 1
                    if let at = key.expireAt {
                        expires += 1
                        if at < now { expired += 1 }
                    }
                }
            }
        } catch {
            print("--- RDB ERROR DETECTED ---")
            print("[offset \(source.offset)] \(error)")
            print("[info] \(keys) keys read")
            return nil
        }
        print("[offset \(source.offset)] Checksum \(reader.checksumVerified ? "OK" : "not present (rdbchecksum no)")")
        print("[offset \(source.offset)] \\o/ RDB looks OK! \\o/")
        print("[info] \(keys) keys read")
        print("[info] \(expires) expires")
        print("[info] \(expired) already expired")
        if emptyKeys > 0 { print("[info] \(emptyKeys) empty keys skipped") }
        return source.offset
    }
}
