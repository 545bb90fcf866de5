import NIOCore
import SwiftletRESP
import SwiftletToolSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Session {
    // MARK: - --eval

    /// `--eval file key ... , arg ...`: EVAL with the file's contents; the words before a lone `,` are the keys.
    /// - Returns: the exit status.
    mutating func runEval(file: String) -> Int32 {
        guard self.connect(quiet: false) else { return 1 }
        guard let script = ToolFile.readFile(path: file) else {
            let reason = String(cString: strerror(errno))
            FileOutput.standardError.write("Can't open file '\(file)': \(reason)\n")
            return 1
        }
        let (keys, arguments) = Self.splitEvalWords(self.command)
        return self.execute(
            [Array("EVAL".utf8), script, Array(String(keys.count).utf8)] + keys + arguments
        )
    }

    /// Splits `key ... , arg ...` at the first word that is exactly `,`.
    static func splitEvalWords(_ words: [[UInt8]]) -> (keys: [[UInt8]], arguments: [[UInt8]]) {
        guard let comma = words.firstIndex(of: [UInt8(ascii: ",")]) else { return (words, []) }
        return (Array(words[..<comma]), Array(words[(comma + 1)...]))
    }
}
