import NIOCore
import SwiftletMemcachedStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// memcached's ASCII authentication (`-Y FILE`, memcached's authfile.c): the file holds "user:password" lines, and a
/// text connection must first send "set <any key> <flags> <exptime> <bytes>\r\n<user> <password>\r\n" (answered
/// STORED) before any other command, which until then is answered "CLIENT_ERROR unauthenticated".
public struct AsciiAuthFile: Sendable {
    struct Entry: Sendable {
        var user: [UInt8]
        var password: [UInt8]
    }

    var entries: [Entry]

    /// memcached reads at most 8 entries, and 256 bytes of a line.
    static let maxEntries = 8
    static let maxEntryLength = 256

    public enum LoadError: Error {
        case open(String)
        case malformed
    }

    /// Loads the file as `authfile_load` does: every line needs a ':' in its first 256 bytes; the password ends at the
    /// line's end.
    public static func load(path: String) -> Result<AsciiAuthFile, LoadError> {
        guard let file = fopen(path, "r") else { return .failure(.open(String(cString: strerror(errno)))) }
        defer { fclose(file) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        var entries: [Entry] = []
        var start = 0
        while start < data.count && entries.count < Self.maxEntries {
            var end = start
            while end < data.count && data[end] != 0x0A { end += 1 }
            let line = data[start..<min(end, start + Self.maxEntryLength)]
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .failure(.malformed) }
            var passwordEnd = colon + 1
            while passwordEnd < line.endIndex && line[passwordEnd] != 0x0D && line[passwordEnd] != 0 {
                passwordEnd += 1
            }
            entries.append(Entry(user: Array(line[start..<colon]), password: Array(line[(colon + 1)..<passwordEnd])))
            start = end + 1
        }
        return .success(AsciiAuthFile(entries: entries))
    }

    /// `authfile_check`: the user and password of one entry, every byte compared.
    func check(user: UnsafeRawBufferPointer, password: UnsafeRawBufferPointer) -> Bool {
        var matched = false
        for entry in self.entries where entry.user.count == user.count && entry.password.count == password.count {
            var difference: UInt8 = 0
            for i in 0..<user.count { difference |= entry.user[i] ^ user[i] }
            for i in 0..<password.count { difference |= entry.password[i] ^ password[i] }
            if difference == 0 { matched = true }
        }
        return matched
    }
}

extension MemcachedConnection {
    static let authPayloadLimit: UInt32 = 65536

    /// memcached's `try_read_command_asciiauth`: the first line must be a `set` (its fifth token the payload's
    /// length), then the payload "user password"; anything else is answered and consumed.
    func processAuthentication(_ input: inout ByteBuffer, into out: inout ByteBuffer) -> Outcome {
        if self.authPayload == nil {
            let readable = input.readableBytes
            if readable < 2 { return .needMore }
            let lineEnd: Int? = input.withUnsafeReadableBytes { bytes in
                guard let base = bytes.baseAddress, let found = memchr(base, 0x0A, bytes.count) else { return nil }
                return base.distance(to: UnsafeRawPointer(found))
            }
            guard let newline = lineEnd else { return readable > 2048 ? .close : .needMore }
            let size: UInt32? = input.withUnsafeReadableBytes { bytes in
                var end = newline
                if let nul = memchr(bytes.baseAddress!, 0, end) { end = bytes.baseAddress!.distance(to: nul) }
                let line = UnsafeRawBufferPointer(rebasing: bytes[0..<end])
                self.tokenize(line, from: 0)
                guard self.tokens.count >= 5, self.tokenIs(line, 0, "set") else { return nil }
                return CNumbers.unsigned32(self.token(line, 4))
            }
            input.moveReaderIndex(forwardBy: newline + 1)
            guard let size else {
                self.outString("CLIENT_ERROR unauthenticated", &out)
                return .done
            }
            // memcached waits for the payload in its read buffer; here a client that is not in yet may not make the
            // connection hold more than this (a user and a password are never that long): it is closed instead.
            guard size <= Self.authPayloadLimit else { return .close }
            self.authPayload = Int(size) + 2
        }
        let needed = self.authPayload!
        guard input.readableBytes >= needed else { return .needMore }
        self.authPayload = nil
        let outcome: StaticString? = input.withUnsafeReadableBytes { bytes in
            let payload = UnsafeRawBufferPointer(rebasing: bytes[0..<needed])
            guard needed >= 2, payload[needed - 2] == 0x0D, payload[needed - 1] == 0x0A else {
                return "CLIENT_ERROR bad command line termination"
            }
            var end = needed - 2
            if let nul = memchr(payload.baseAddress!, 0, end) { end = payload.baseAddress!.distance(to: nul) }
            let text = UnsafeRawBufferPointer(rebasing: payload[0..<end])
            self.tokenize(text, from: 0)
            guard self.tokens.count >= 2 else { return "CLIENT_ERROR bad authentication token format" }
            self.engine.stats.authCommands += 1
            if self.engine.authFile?.check(user: self.token(text, 0), password: self.token(text, 1)) == true {
                self.authenticated = true
                return nil
            }
            self.engine.stats.authErrors += 1
            return "CLIENT_ERROR authentication failure"
        }
        input.moveReaderIndex(forwardBy: needed)
        self.noreply = false
        if let error = outcome {
            self.outString(error, &out)
        } else {
            self.outString("STORED", &out)
        }
        return .done
    }
}
