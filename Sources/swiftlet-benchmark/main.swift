import Glibc
import SwiftletBenchmark

exit(BenchmarkMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
