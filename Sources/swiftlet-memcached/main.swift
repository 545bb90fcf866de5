import CSwiftletSupport
import Dispatch
import Logging
import NIOCore
import NIOPosix
import SwiftletMemcached
import SwiftletMemcachedStore
import SwiftletServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// swiftlet-memcached [memcached's flags]
///
/// A drop-in for `memcached` 1.6: the same flags (`-p -U -l -m -c -t -M -I -f -n -v -d -u -P -A -o ...`, parsed by
/// `MemcachedOptions`), the same protocols and statistics, one event loop (docs/MEMCACHED.md).

func printError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func printOut(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let parsed: MemcachedOptions.ParsedOptions
switch MemcachedOptions.parse(Array(CommandLine.arguments.dropFirst())) {
case .run(let options):
    parsed = options
case .exit(let status, let output, let toStandardError):
    if toStandardError { printError(output) } else { printOut(output) }
    exit(status)
}
let settings = parsed.settings
for warning in parsed.warnings { printError(warning.hasSuffix("\n") ? warning : warning + "\n") }
if let reason = settings.unsupportedReason {
    printError(reason + "\n")
    exit(64)
}

// As memcached: -r raises the core file limit to its maximum, and the descriptor limit must cover -c.
if settings.maximizeCoreFile {
    var limit = rlimit()
    if getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit) == 0 {
        limit.rlim_cur = limit.rlim_max
        if setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit) != 0 {
            printError("failed to ensure corefile creation\n")
            exit(71)
        }
    }
}
var files = rlimit()
if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) == 0 {
    let wanted = rlim_t(settings.maxConnections)
    if files.rlim_cur < wanted {
        files.rlim_cur = wanted
        files.rlim_max = max(files.rlim_max, wanted)
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) != 0 {
            printError(
                "failed to set rlimit for open files. Try starting as root or requesting smaller maxconns value.\n"
            )
            exit(71)
        }
    }
}

// As memcached: root must name the user to run as, and the process becomes that user.
if getuid() == 0 || geteuid() == 0 {
    guard let user = settings.user else {
        printError("can't run as root without the -u switch\n")
        exit(64)
    }
    guard let entry = getpwnam(user) else {
        printError("can't find the user \(user) to switch to\n")
        exit(64)
    }
    if entry.pointee.pw_uid != 0
        && (setgroups(0, nil) < 0 || setgid(entry.pointee.pw_gid) < 0
            || setuid(entry.pointee.pw_uid) < 0)
    {
        printError("failed to assume identity of user \(user)\n")
        exit(64)
    }
}

// -d: memcached forks; a Swift process cannot fork safely once the runtime runs, so the binary starts itself again
// in a new session with the same arguments (as swiftlet-server's daemonize), and this one exits.
let daemonMarker = "SWIFTLET_MEMCACHED_DAEMONIZED"
if settings.daemonize {
    if getenv(daemonMarker) != nil {
        unsetenv(daemonMarker)
    } else {
        setenv(daemonMarker, "1", 1)
        #if os(Linux)
        let executable = "/proc/self/exe"
        #else
        let executable = CommandLine.arguments[0]
        #endif
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        guard swiftlet_spawn_daemon(executable, argv) > 0 else {
            printError("failed to daemon() in order to daemonize\n")
            exit(1)
        }
        exit(0)
    }
}

// -Y: memcached loads the file after dropping privileges and exits when it cannot (its messages, status 1).
if let path = settings.authFile {
    switch AsciiAuthFile.load(path: path) {
    case .success: break
    case .failure(.open(let reason)):
        printError("Could not open authfile [\(path)] for reading, error \(reason): \(reason)\n")
        exit(1)
    case .failure(.malformed):
        printError("Authfile [\(path)] has a malformed entry. Should be 'user:password'")
        exit(1)
    }
}

// -k: memcached locks its memory down (a warning when it cannot).
if settings.lockMemory && mlockall(MCL_CURRENT | MCL_FUTURE) != 0 {
    printError("warning: -k invalid, mlockall() failed: \(String(cString: strerror(errno)))\n")
}

signal(SIGPIPE, SIG_IGN)
#if !DEBUG
// As swiftlet-server: SwiftNIO is built with exclusivity checks; the runtime's switch turns them off for the process.
swiftlet_disable_exclusivity_checking()
#endif

if settings.verbosity > 1 {
    // memcached -vv lists its slab classes at start.
    let engine = MemcachedEngine(settings: settings, unixTime: 0, monotonicTime: 0)
    let slabs = engine.store.slabs
    for id in slabs.classIDs {
        let size = String(slabs.chunkSize(ofClass: id))
        let perPage = String(slabs.chunksPerPage(ofClass: id))
        let idText = String(id)
        printError(
            "slab class \(String(repeating: " ", count: max(0, 3 - idText.count)))\(idText): chunk size "
                + "\(String(repeating: " ", count: max(0, 9 - size.count)))\(size) perslab "
                + "\(String(repeating: " ", count: max(0, 7 - perPage.count)))\(perPage)\n"
        )
    }
}

let logger = Logger(label: "swiftlet-memcached")

func writePidFile() {
    guard let path = settings.pidFile else { return }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if fd >= 0 {
        let text = Array("\(getpid())\n".utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    } else {
        printError("Could not open the pid file \(path) for writing: \(String(cString: strerror(errno)))\n")
    }
}

// SIGINT, SIGTERM and SIGUSR1 close the listeners and the connections and end the process (memcached exits at once
// on the first two and gracefully on SIGUSR1; here all three are graceful: nothing is kept that would need more).
var signalSources: [any DispatchSourceSignal] = []
@MainActor func onSignals(_ stop: @escaping @Sendable () -> Void) {
    for (sig, name) in [(SIGINT, "Interrupt"), (SIGTERM, "Terminated"), (SIGUSR1, "User defined signal 1")] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { @Sendable in
            printError("Signal handled: \(name).\n")
            stop()
        }
        source.resume()
        signalSources.append(source)
    }
}

#if os(Linux)
// Linux: the front end's own epoll transport on this thread (docs/MEMCACHED.md, "Transport").
let frontEnd = MemcachedEpollFrontEnd(settings: settings, logger: logger)
do {
    try frontEnd.start()
} catch {
    printError("failed to listen on TCP port \(settings.port): \(error)\n")
    exit(71)
}
writePidFile()
onSignals { frontEnd.requestShutdown() }
// SIGHUP: memcached reads the -Y file again.
signal(SIGHUP, SIG_IGN)
let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
hangUp.setEventHandler { @Sendable in frontEnd.requestAuthReload() }
hangUp.resume()
frontEnd.run()
#else
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let loop = group.next()
let frontEnd = try await loop.submit { MemcachedFrontEnd(settings: settings, loop: loop, logger: logger) }.get()
do {
    try await frontEnd.start()
} catch {
    printError("failed to listen on TCP port \(settings.port): \(error)\n")
    exit(71)
}
try await frontEnd.withEngine { engine in
    engine.onShutdown = { _ in
        Task { await frontEnd.shutdown() }
    }
}
writePidFile()
onSignals { Task { await frontEnd.shutdown() } }
await frontEnd.waitUntilClosed()
#endif
if let path = settings.pidFile { unlink(path) }
exit(0)
