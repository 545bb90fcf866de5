import CSwiftletAllocator
import CSwiftletSupport
import Dispatch
import Logging
import SwiftletConfig
import SwiftletEngine
import SwiftletMemcached
import SwiftletServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// swiftlet-server [/path/to/redis.conf] [--option value ...]
///
/// Arguments work as redis-server's: an optional config file first, then `--name value...` pairs that act as
/// extra config lines (`--port 7000 --save ''`).

/// Writes to standard error without touching C's global `stderr` stream (not concurrency-safe in Swift 6).
func printError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "-v" || arguments.first == "--version" {
    print("Swiftlet server v=\(SwiftletBuild.version) redis-compat=\(ConnectionCommands.redisVersion)")
    exit(0)
}
if arguments.first == "-h" || arguments.first == "--help" {
    print(
        """
        Usage: swiftlet-server [/path/to/redis.conf] [options]
        Examples:
               swiftlet-server (run the server with default config)
               swiftlet-server /etc/redis/6379.conf
               swiftlet-server --port 7777
               swiftlet-server /etc/myredis.conf --loglevel verbose
        """
    )
    exit(0)
}

let config = ConfigStore()
let (file, _, options) = ConfigFileParser.commandLineOptions(arguments)
let configFile = file ?? ""
/// A path made absolute against the directory the server started in, before `dir` changes it: CONFIG REWRITE must
/// find the config file again, as Redis's getAbsolutePath at startup.
func absolutePath(_ path: String) -> String {
    guard !path.isEmpty, !path.hasPrefix("/") else { return path }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return path }
    let directory = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return directory + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
}
let absoluteConfigFile = absolutePath(configFile)
let absoluteExecutable = absolutePath(CommandLine.arguments[0])
var text = ""
if !configFile.isEmpty {
    do {
        text = try ConfigFileIO.read(configFile)
    } catch {
        printError("Fatal error, can't open config file '\(configFile)': No such file or directory\n")
        exit(1)
    }
    if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
}
var configText = text + options
let memcachedDirectives: MemcachedDirectives
do {
    memcachedDirectives = try MemcachedDirectives.extract(from: &configText)
} catch {
    printError("\(error.message)\n")
    exit(1)
}
var memcachedSettings: MemcachedSettings? = nil
if let port = memcachedDirectives.port {
    switch MemcachedOptions.parse(memcachedDirectives.options) {
    case .run(let parsed):
        var settings = parsed.settings
        settings.port = port
        if let reason = settings.unsupportedReason {
            printError("memcached-options: \(reason)\n")
            exit(1)
        }
        if let path = settings.authFile, case .failure(let failure) = AsciiAuthFile.load(path: path) {
            if case .open(let reason) = failure {
                printError("memcached-options: could not open authfile [\(path)] for reading, error \(reason)\n")
            } else {
                printError("memcached-options: authfile [\(path)] has a malformed entry. Should be 'user:password'\n")
            }
            exit(1)
        }
        // The NIO front end beside RESP serves TCP and Unix sockets; UDP is swiftlet-memcached's (its epoll transport).
        if settings.udpPort != 0 {
            printError(
                "memcached-options: UDP (-U \(settings.udpPort)) is served by swiftlet-memcached, not beside RESP\n"
            )
            exit(1)
        }
        memcachedSettings = settings
    case .exit(let status, let output, _):
        printError("memcached-options: \(output)\n")
        exit(status == 0 ? 1 : status)
    }
}
do {
    // Command-line options are config lines after the file's, as redis-server treats them.
    try config.load(configText: configText)
} catch {
    printError(error.message)
    exit(1)
}

if Daemon.requested(config), let status = Daemon.detach(config) { exit(status) }

let logLevel = RedisLogHandler.level(config.string("loglevel"))
let logFile = config.string("logfile")
LoggingSystem.bootstrap { _ in RedisLogHandler(level: logLevel, path: logFile) }
let logger = Logger(label: "swiftlet")

let dir = config.string("dir")
if chdir(dir) != 0 {
    logger.critical("Can't chdir to '\(dir)': \(String(cString: strerror(errno)))")
    exit(1)
}

signal(SIGPIPE, SIG_IGN)
// The counting allocator replaces malloc for the process (CSwiftletAllocator); the call keeps it linked.
swiftlet_allocator_link()
MemoryInfo.configureAllocator()
#if !DEBUG
// Our own modules are built with `-enforce-exclusivity=unchecked` in release (Package.swift), but SwiftNIO is not, and
// every access to a class field in its channel and ByteBuffer code still calls the runtime, which walks a per-thread
// list of accesses: 8% of the server's instructions per request without pipelining (SADD, callgrind). The runtime's
// own switch turns those calls into an early return for the whole process, as the flag does for our code. Debug
// builds, and so the tests, keep the checks.
swiftlet_disable_exclusivity_checking()
#endif
let server = Server(config: config, logger: logger)
// As redis-server: `port 0` listens on no TCP port (the embedded API's port 0 picks a free one instead).
server.portZeroDisablesTCP = true
try await server.withState { state in
    state.configFile = absoluteConfigFile
    state.executable = absoluteExecutable
}
await server.createPidFile()
do {
    try await server.loadDataFromDisk()
} catch {
    logger.critical("\((error as? RedisError)?.message ?? "\(error)")")
    exit(1)
}
do {
    try await server.start()
} catch let error as UnixSocketError {
    logger.critical("Failed opening Unix socket: \(error.reason)")
    server.removePidFile()
    exit(1)
} catch {
    logger.critical("Failed listening on port \(config.port) (tcp), aborting: \(error)")
    server.removePidFile()
    exit(1)
}

// The memcached front end, on the server's loop (`memcached-port`).
if let settings = memcachedSettings {
    do {
        let port = try await server.startMemcached(settings)
        logger.notice("memcached front end listening", metadata: ["port": "\(port)"])
    } catch {
        logger.critical("Failed listening on memcached port \(settings.port) (tcp), aborting: \(error)")
        server.removePidFile()
        exit(1)
    }
}

// SIGTERM and SIGINT shut down gracefully.
var signalSources: [any DispatchSourceSignal] = []
for sig in [SIGTERM, SIGINT] {
    signal(sig, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
    source.setEventHandler { @Sendable in
        logger.notice("Received \(sig == SIGTERM ? "SIGTERM" : "SIGINT") scheduling shutdown...")
        server.shutdownOnSignal(sig == SIGTERM ? "SIGTERM" : "SIGINT")
    }
    source.resume()
    signalSources.append(source)
}
await server.waitUntilClosed()
exit(0)
