import SwiftletKeyspace

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The current value of one parameter, typed as Redis stores it.
enum ConfigValue: Equatable, Sendable {
    case bool(Bool)
    /// Every numeric type, as Redis's `long long` (unsigned values by bit pattern, percentages negative).
    case number(Int64)
    /// `nil` is Redis's NULL string (an empty value of an `EMPTY_STRING_IS_NULL` parameter).
    case string(String?)
    /// An enum value or, for multi-argument enums, OR-ed flags.
    case enumeration(Int)
    case save([SaveRule])
    /// normal, replica, pubsub.
    case clientOutputBufferLimits([ClientBufferLimit])
    case oomScoreAdjValues([Int64])
    case keyspaceEvents(Int)
    case bind([String])
    case replicaOf(host: String?, port: Int64)
    case percentiles([Double])
    /// The value lives in the process: its current directory.
    case directory
}

/// One `save <seconds> <changes>` rule.
struct SaveRule: Equatable, Sendable {
    var seconds: Int64
    var changes: Int64
}

/// One class of `client-output-buffer-limit`: bytes (0 = no limit) and the soft limit's grace in seconds.
public struct ClientBufferLimit: Equatable, Sendable {
    public var hard: UInt64
    public var soft: UInt64
    public var seconds: Int64

    /// No limit (`0 0 0`).
    public static let unlimited = ClientBufferLimit(hard: 0, soft: 0, seconds: 0)
}

/// The result of parsing a value: the new value, or Redis's error text (without any prefix).
typealias ConfigParseResult = Result<ConfigValue, ConfigMessage>

/// An error text, as Redis's `*err` strings.
struct ConfigMessage: Error {
    var text: String
    init(_ text: String) { self.text = text }
}

// MARK: - Defaults

extension ConfigKind {
    var defaultValue: ConfigValue {
        switch self {
        case .bool(let value, _): return .bool(value)
        case .numeric(let spec): return .number(spec.defaultValue)
        case .string(let value, _, _): return .string(value)
        case .enumeration(let spec): return .enumeration(spec.defaultValue)
        case .special(let special):
            switch special {
            case .dir: return .directory
            case .save: return .save(ConfigDefaults.save)
            case .clientOutputBufferLimit: return .clientOutputBufferLimits(ConfigDefaults.clientOutputBufferLimits)
            case .oomScoreAdjValues: return .oomScoreAdjValues(ConfigDefaults.oomScoreAdjValues)
            case .notifyKeyspaceEvents: return .keyspaceEvents(0)
            case .bind: return .bind(ConfigDefaults.bind)
            case .replicaOf: return .replicaOf(host: nil, port: 6379)
            case .latencyTrackingInfoPercentiles: return .percentiles([50, 99, 99.9])
            }
        }
    }
}

/// Redis's compiled-in defaults for the special parameters.
enum ConfigDefaults {
    static let save = [
        SaveRule(seconds: 3600, changes: 1), SaveRule(seconds: 300, changes: 100),
        SaveRule(seconds: 60, changes: 10_000),
    ]
    static let clientOutputBufferLimits = [
        ClientBufferLimit(hard: 0, soft: 0, seconds: 0),
        ClientBufferLimit(hard: 256 << 20, soft: 64 << 20, seconds: 60),
        ClientBufferLimit(hard: 32 << 20, soft: 8 << 20, seconds: 60),
    ]
    static let oomScoreAdjValues: [Int64] = [0, 200, 800]
    static let bind = ["*", "-::*"]
    /// Redis's `CONFIG_BINDADDR_MAX`.
    static let maxBindAddresses = 16
    /// Redis's `NET_HOST_STR_LEN`.
    static let hostnameLimit = 256
    /// Redis's `CONFIG_MIN_HZ` and `CONFIG_MAX_HZ`.
    static let hzRange: ClosedRange<Int64> = 1...500
    /// Redis's `CONFIG_REPL_BACKLOG_MIN_SIZE`.
    static let minReplBacklogSize: Int64 = 16 * 1024
}

// MARK: - Parsing

extension ConfigValue {
    /// Parses the arguments of one parameter as Redis's `interface.set`, including its `is_valid_fn`.
    /// - Parameters:
    ///   - kind: the parameter's type.
    ///   - args: the values, already split for multi-argument parameters.
    ///   - current: the value being replaced (client-output-buffer-limit only changes the classes given).
    ///   - changeDirectory: performs `dir`'s chdir; returns an error text on failure.
    static func parse(
        _ kind: ConfigKind,
        _ args: [String],
        current: ConfigValue,
        changeDirectory: (String) -> String?
    ) -> ConfigParseResult {
        switch kind {
        case .bool(_, let validator):
            let text = args.first ?? ""
            let value: Bool
            if ConfigText.equalsIgnoringCase(text, "yes") {
                value = true
            } else if ConfigText.equalsIgnoringCase(text, "no") {
                value = false
            } else {
                return .failure(ConfigMessage("argument must be 'yes' or 'no'"))
            }
            if let validator, let error = validator.check(.bool(value)) { return .failure(error) }
            return .success(.bool(value))

        case .numeric(let spec):
            return parseNumber(spec, args.first ?? "")

        case .string(_, let emptyIsNull, let validator):
            let text = args.first ?? ""
            if let validator, let error = validator.check(.string(text)) { return .failure(error) }
            return .success(.string(emptyIsNull && text.isEmpty ? nil : text))

        case .enumeration(let spec):
            return parseEnumeration(spec, args)

        case .special(let special):
            return parseSpecial(special, args, current: current, changeDirectory: changeDirectory)
        }
    }

    /// Redis's `numericParseString` then `numericBoundaryCheck`.
    static func parseNumber(_ spec: NumericSpec, _ text: String) -> ConfigParseResult {
        var parsed: Int64?
        let bytes = Array(text.utf8)
        if spec.format == .memory || spec.format == .memoryOrPercent, let bytesValue = ConfigText.memoryToUInt64(bytes)
        {
            parsed = Int64(bitPattern: bytesValue)
        }
        if parsed == nil, spec.format == .memoryOrPercent, bytes.count > 1, bytes.last == UInt8(ascii: "%"),
            let percent = NumberFormat.parseInt64(Array(bytes.dropLast())), percent >= 0
        {
            // Percentages are stored negative, as Redis does.
            parsed = -percent
        }
        if parsed == nil, spec.format == .octal {
            let result = ConfigText.strtoll(text, base: 8)
            if result.errno == 0 && result.consumedAll { parsed = result.value }
        }
        if parsed == nil, spec.format == .integer {
            parsed = NumberFormat.parseInt64(bytes)
        }
        guard let value = parsed else {
            switch spec.format {
            case .memoryOrPercent: return .failure(ConfigMessage("argument must be a memory or percent value"))
            case .memory: return .failure(ConfigMessage("argument must be a memory value"))
            case .octal: return .failure(ConfigMessage("argument couldn't be parsed as an octal number"))
            case .integer: return .failure(ConfigMessage("argument couldn't be parsed into an integer"))
            }
        }

        if spec.unsigned {
            let unsignedValue = UInt64(bitPattern: value)
            let low = UInt64(bitPattern: spec.min)
            let high = UInt64(bitPattern: spec.max)
            if unsignedValue > high || unsignedValue < low {
                if spec.format == .octal {
                    return .failure(
                        ConfigMessage(
                            "argument must be between \(String(low, radix: 8)) and \(String(high, radix: 8)) inclusive"
                        )
                    )
                }
                return .failure(ConfigMessage("argument must be between \(low) and \(high) inclusive"))
            }
        } else if spec.format == .memoryOrPercent && value < 0 {
            if value < spec.min {
                return .failure(ConfigMessage("percentage argument must be less or equal to \(-spec.min)"))
            }
        } else if value > spec.max || value < spec.min {
            return .failure(ConfigMessage("argument must be between \(spec.min) and \(spec.max) inclusive"))
        }
        return .success(.number(value))
    }

    /// Redis's `configEnumGetValue` plus the enum's validator.
    static func parseEnumeration(_ spec: EnumSpec, _ args: [String]) -> ConfigParseResult {
        var value = 0
        var valid = !args.isEmpty && (spec.isFlags || args.count == 1)
        if valid {
            for arg in args {
                var matched = false
                // No early exit: synonyms OR together, as in Redis.
                for option in spec.options where ConfigText.equalsIgnoringCase(arg, option.name) {
                    value |= option.value
                    matched = true
                }
                if !matched {
                    valid = false
                    break
                }
            }
        }
        guard valid else {
            let names = spec.options.map(\.name).joined(separator: ", ")
            return .failure(ConfigMessage("argument(s) must be one of the following: \(names)"))
        }
        if let validator = spec.validator, let error = validator.check(.enumeration(value)) { return .failure(error) }
        return .success(.enumeration(value))
    }

    static func parseSpecial(
        _ special: SpecialConfig,
        _ args: [String],
        current: ConfigValue,
        changeDirectory: (String) -> String?
    ) -> ConfigParseResult {
        switch special {
        case .dir:
            guard args.count == 1 else { return .failure(ConfigMessage("wrong number of arguments")) }
            if let error = changeDirectory(args[0]) { return .failure(ConfigMessage(error)) }
            return .success(.directory)

        case .save:
            var args = args
            // A single empty argument means "no save points".
            if args.count == 1 && args[0].isEmpty { args = [] }
            if args.count % 2 != 0 { return .failure(ConfigMessage("Invalid save parameters")) }
            var rules: [SaveRule] = []
            for pair in stride(from: 0, to: args.count, by: 2) {
                let seconds = ConfigText.strtoll(args[pair], base: 10)
                let changes = ConfigText.strtoll(args[pair + 1], base: 10)
                guard seconds.consumedAll, changes.consumedAll, seconds.value >= 1, changes.value >= 0 else {
                    return .failure(ConfigMessage("Invalid save parameters"))
                }
                // `changes` is a C int in Redis.
                rules.append(SaveRule(seconds: seconds.value, changes: Int64(Int32(truncatingIfNeeded: changes.value))))
            }
            return .success(.save(rules))

        case .clientOutputBufferLimit:
            return parseClientOutputBufferLimit(args, current: current)

        case .oomScoreAdjValues:
            guard args.count == 3 else { return .failure(ConfigMessage("wrong number of arguments")) }
            var values: [Int64] = []
            for arg in args {
                let parsed = ConfigText.strtoll(arg, base: 10)
                guard parsed.consumedAll, parsed.value >= -2000, parsed.value <= 2000 else {
                    return .failure(
                        ConfigMessage("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
                    )
                }
                values.append(parsed.value)
            }
            return .success(.oomScoreAdjValues(values))

        case .notifyKeyspaceEvents:
            guard args.count == 1 else { return .failure(ConfigMessage("wrong number of arguments")) }
            guard let flags = KeyspaceEventFlags.parse(args[0]) else {
                return .failure(ConfigMessage("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."))
            }
            return .success(.keyspaceEvents(flags))

        case .bind:
            if args.count > ConfigDefaults.maxBindAddresses {
                return .failure(ConfigMessage("Too many bind addresses specified."))
            }
            // A single empty argument means "no addresses".
            if args.count == 1 && args[0].isEmpty { return .success(.bind([])) }
            return .success(.bind(args))

        case .replicaOf:
            guard args.count == 2 else { return .failure(ConfigMessage("wrong number of arguments")) }
            if ConfigText.equalsIgnoringCase(args[0], "no") && ConfigText.equalsIgnoringCase(args[1], "one") {
                return .success(.replicaOf(host: nil, port: 6379))
            }
            let port = ConfigText.strtoll(args[1], base: 10)
            guard port.consumedAll, port.value >= 0, port.value <= 65535 else {
                return .failure(ConfigMessage("Invalid master port"))
            }
            return .success(.replicaOf(host: args[0], port: port.value))

        case .latencyTrackingInfoPercentiles:
            if args.count == 1 && args[0].isEmpty { return .success(.percentiles([])) }
            var values: [Double] = []
            for arg in args {
                guard let value = NumberFormat.parseDouble(Array(arg.utf8)) else {
                    return .failure(ConfigMessage("Invalid latency-tracking-info-percentiles parameters"))
                }
                if value > 100 || value < 0 {
                    return .failure(
                        ConfigMessage("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
                    )
                }
                values.append(value)
            }
            return .success(.percentiles(values))
        }
    }

    /// Redis's `updateClientOutputBufferLimit`: groups of `<class> <hard> <soft> <soft-seconds>`; classes not given
    /// keep their limits.
    static func parseClientOutputBufferLimit(_ args: [String], current: ConfigValue) -> ConfigParseResult {
        guard args.count % 4 == 0 else {
            return .failure(ConfigMessage("Wrong number of arguments in buffer limit configuration."))
        }
        var limits = ConfigDefaults.clientOutputBufferLimits
        if case .clientOutputBufferLimits(let existing) = current { limits = existing }
        for group in stride(from: 0, to: args.count, by: 4) {
            let className = args[group]
            let index: Int
            if ConfigText.equalsIgnoringCase(className, "normal") {
                index = 0
            } else if ConfigText.equalsIgnoringCase(className, "slave")
                || ConfigText.equalsIgnoringCase(className, "replica")
            {
                index = 1
            } else if ConfigText.equalsIgnoringCase(className, "pubsub") {
                index = 2
            } else {
                // Includes "master", which has no output buffer limit.
                return .failure(ConfigMessage("Invalid client class specified in buffer limit configuration."))
            }
            let hard = ConfigText.memoryToUInt64(Array(args[group + 1].utf8))
            let soft = ConfigText.memoryToUInt64(Array(args[group + 2].utf8))
            let seconds = ConfigText.strtoll(args[group + 3], base: 10)
            // Redis reads the seconds into a C int before checking the sign.
            let secondsValue = Int64(Int32(truncatingIfNeeded: seconds.value))
            guard let hard, let soft, seconds.consumedAll, secondsValue >= 0 else {
                return .failure(
                    ConfigMessage("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
                )
            }
            limits[index] = ClientBufferLimit(hard: hard, soft: soft, seconds: secondsValue)
        }
        return .success(.clientOutputBufferLimits(limits))
    }
}

// MARK: - Validators

extension ConfigValidator {
    /// Redis's `is_valid_fn` for this parameter; `nil` when the value is acceptable.
    func check(_ value: ConfigValue) -> ConfigMessage? {
        switch (self, value) {
        case (.activeDefrag, .bool(true)):
            // The reference redis-server (Debian's, linked with the system jemalloc) refuses this too, and
            // Swiftlet has no defragmenter.
            return ConfigMessage(
                "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified "
                    + "Jemalloc like the one shipped by default with the Redis source distribution"
            )
        case (.dbFilename, .string(let text?)):
            return ConfigText.isBaseName(text) ? nil : ConfigMessage("dbfilename can't be a path, just a filename")
        case (.aofFilename, .string(let text?)):
            if text.isEmpty { return ConfigMessage("appendfilename can't be empty") }
            return ConfigText.isBaseName(text) ? nil : ConfigMessage("appendfilename can't be a path, just a filename")
        case (.aofDirname, .string(let text?)):
            if text.isEmpty { return ConfigMessage("appenddirname can't be empty") }
            return ConfigText.isBaseName(text) ? nil : ConfigMessage("appenddirname can't be a path, just a dirname")
        case (.shutdownFlags, .enumeration(let flags)):
            // SHUTDOWN_SAVE | SHUTDOWN_NOSAVE.
            if flags & 1 != 0 && flags & 2 != 0 {
                return ConfigMessage("shutdown options SAVE and NOSAVE can't be used simultaneously")
            }
            return nil
        case (.announcedHostname, .string(let text?)):
            if text.utf8.count >= ConfigDefaults.hostnameLimit {
                return ConfigMessage("Hostnames must be less than \(ConfigDefaults.hostnameLimit) characters")
            }
            let allowed = text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            }
            return allowed ? nil : ConfigMessage("Hostnames may only contain alphanumeric characters, hyphens or dots")
        case (.procTitleTemplate, .string(let text?)):
            return ConfigText.isValidProcTitleTemplate(text)
                ? nil : ConfigMessage("template format is invalid or contains unknown variables")
        default:
            return nil
        }
    }
}

// MARK: - Keyspace event flags

/// `notify-keyspace-events` classes, as notify.c.
enum KeyspaceEventFlags {
    static let keyspace = 1 << 0
    static let keyevent = 1 << 1
    static let generic = 1 << 2
    static let string = 1 << 3
    static let list = 1 << 4
    static let set = 1 << 5
    static let hash = 1 << 6
    static let zset = 1 << 7
    static let expired = 1 << 8
    static let evicted = 1 << 9
    static let stream = 1 << 10
    static let keyMiss = 1 << 11
    static let module = 1 << 13
    static let new = 1 << 14
    /// `A`: every class except key-miss and new.
    static let all = generic | string | list | set | hash | zset | expired | evicted | stream | module

    /// Redis's `keyspaceEventsStringToFlags`; `nil` on an unknown character.
    static func parse(_ text: String) -> Int? {
        var flags = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A"): flags |= all
            case UInt8(ascii: "g"): flags |= generic
            case UInt8(ascii: "$"): flags |= string
            case UInt8(ascii: "l"): flags |= list
            case UInt8(ascii: "s"): flags |= set
            case UInt8(ascii: "h"): flags |= hash
            case UInt8(ascii: "z"): flags |= zset
            case UInt8(ascii: "x"): flags |= expired
            case UInt8(ascii: "e"): flags |= evicted
            case UInt8(ascii: "K"): flags |= keyspace
            case UInt8(ascii: "E"): flags |= keyevent
            case UInt8(ascii: "t"): flags |= stream
            case UInt8(ascii: "m"): flags |= keyMiss
            case UInt8(ascii: "d"): flags |= module
            case UInt8(ascii: "n"): flags |= new
            default: return nil
            }
        }
        return flags
    }

    /// Redis's `keyspaceEventsFlagsToString`.
    static func format(_ flags: Int) -> String {
        var text = ""
        if flags & all == all {
            text += "A"
        } else {
            let classes: [(Int, String)] = [
                (generic, "g"), (string, "$"), (list, "l"), (set, "s"), (hash, "h"), (zset, "z"),
                (expired, "x"), (evicted, "e"), (stream, "t"), (module, "d"), (new, "n"),
            ]
            for (flag, letter) in classes where flags & flag != 0 { text += letter }
        }
        if flags & keyspace != 0 { text += "K" }
        if flags & keyevent != 0 { text += "E" }
        if flags & keyMiss != 0 { text += "m" }
        return text
    }
}
