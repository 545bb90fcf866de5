public import Logging
public import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes Redis-style lines (`pid:M 21 Nov 2026 12:00:00.000 * message`) to standard
/// output or to the `logfile`.
public struct RedisLogHandler: LogHandler {
    /// The role letter after the pid: `M` for a master, `S` while the server is a replica (as Redis's serverLogRaw).
    public static let role = Atomic<UInt8>(UInt8(ascii: "M"))

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let path: String?

    public init(level: Logger.Level, path: String? = nil) {
        self.logLevel = level
        self.path = (path?.isEmpty ?? true) ? nil : path
    }

    /// Maps redis.conf's `loglevel` to swift-log levels.
    public static func level(_ name: String) -> Logger.Level {
        switch name {
        case "debug": return .debug
        case "verbose": return .info
        case "warning": return .warning
        default: return .notice
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    /// Writes `text` as it is (the start-up logo, as Redis's `serverLogRaw`) where the log goes.
    public static func writeRaw(_ text: String, path: String) {
        if !path.isEmpty, let file = fopen(path, "a") {
            fputs(text, file)
            fclose(file)
        } else {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        }
    }

    public func log(event: LogEvent) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tmv = tm()
        localtime_r(&t, &tmv)
        var text = [CChar](repeating: 0, count: 64)
        let length = strftime(&text, 64, "%d %b %Y %H:%M:%S", &tmv)
        let millis = Int(ts.tv_nsec / 1_000_000)
        let stamp =
            String(decoding: text[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) + "."
            + String(repeating: "0", count: millis < 10 ? 2 : millis < 100 ? 1 : 0)
            + "\(millis)"
        let mark: String
        switch event.level {
        case .trace, .debug: mark = "."
        case .info: mark = "-"
        case .notice: mark = "*"
        default: mark = "#"
        }
        var merged = self.metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let details =
            merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ")
        let role = Character(Unicode.Scalar(Self.role.load(ordering: .relaxed)))
        let line = "\(getpid()):\(role) \(stamp) \(mark) \(event.message)\(details)\n"
        if let path, let file = fopen(path, "a") {
            fputs(line, file)
            fclose(file)
        } else {
            let bytes = Array(line.utf8)
            _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        }
    }
}
