import CSwiftletSupport
import SwiftletConfig
import SwiftletEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `daemonize yes`: the server runs on in the background and the command that started it returns at once with
/// status 0, as with redis-server's `daemonize()`.
///
/// Redis forks: the child calls `setsid` and points standard input, output and error at /dev/null, the parent
/// exits. A Swift process cannot fork safely (the runtime may already have threads, whose locks the child would
/// inherit held), so this one starts its own binary again with the same arguments in the same state (a new session,
/// /dev/null for 0, 1 and 2), marked by an environment variable so that the copy stays and serves, and exits.
enum Daemon {
    static let childMarker = "SWIFTLET_DAEMONIZED"
    /// Redis's `CONFIG_DEFAULT_PID_FILE`: a daemon always writes a pid file, here unless `pidfile` names another.
    static let defaultPidFile = "/var/run/redis.pid"

    /// Whether to go to the background: `daemonize yes`, unless a supervisor (upstart, systemd) manages the
    /// process, which Redis recognises by the supervisor's environment variable (`redisIsSupervised`).
    static func requested(_ config: ConfigStore) -> Bool {
        guard config.get("daemonize") == "yes" else { return false }
        let upstart = getenv("UPSTART_JOB") != nil
        let systemd = getenv("NOTIFY_SOCKET") != nil
        switch config.string("supervised") {
        case "upstart": return !upstart
        case "systemd": return !systemd
        case "auto": return !upstart && !systemd
        default: return true
        }
    }

    /// In the process the user started: starts the daemon and returns the status to exit with. In the daemon:
    /// returns nil, after giving it Redis's default pid file when none is configured.
    static func detach(_ config: ConfigStore) -> Int32? {
        if getenv(childMarker) != nil {
            unsetenv(childMarker)
            if (config.string("pidfile")).isEmpty {
                try? config.setFromConfigFile("pidfile", [defaultPidFile])
            }
            return nil
        }
        setenv(childMarker, "1", 1)
        #if os(Linux)
        let executable = "/proc/self/exe"
        #else
        let executable = CommandLine.arguments[0]
        #endif
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        guard swiftlet_spawn_daemon(executable, argv) > 0 else {
            printError("Can't start the server in the background: \(String(cString: strerror(errno)))\n")
            return 1
        }
        return 0
    }
}
