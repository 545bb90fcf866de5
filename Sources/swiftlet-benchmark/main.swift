import Glibc
import SwiftletBenchmark

// argv as raw bytes: CommandLine.arguments would repair invalid UTF-8 in binary command arguments.
let arguments = (1..<Int(CommandLine.argc)).map { index in
    // `!`: argv[1..<argc] are non-null C strings.
    Array(UnsafeBufferPointer(start: CommandLine.unsafeArgv[index]!, count: strlen(CommandLine.unsafeArgv[index]!)))
        .map { UInt8(bitPattern: $0) }
}
exit(BenchmarkMain.run(rawArguments: arguments))
