#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads for the client tools: a script for `--eval`, the last argument from stdin (`-x`).
public enum ToolFile {
    /// Reads a descriptor until end of file (or a read error, which ends the data as end of file does).
    /// - Returns: the bytes read.
    public static func readAll(descriptor: Int32) -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            data += chunk[0..<count]
        }
        return data
    }

    /// The whole file.
    /// - Returns: its bytes, or `nil` (with `errno` set) when it cannot be opened.
    public static func readFile(path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return Self.readAll(descriptor: descriptor)
    }
}
