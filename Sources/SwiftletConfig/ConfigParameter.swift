/// One configuration parameter as Redis 7.0 declares it in config.c's `static_configs`: its names, its type with
/// bounds and default, and its flags.
public struct ConfigParameter: Sendable {
    /// Redis's per-parameter flags (`IMMUTABLE_CONFIG`, `PROTECTED_CONFIG`, …).
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        /// Settable only at startup; CONFIG SET replies "can't set immutable config".
        public static let immutable = Flags(rawValue: 1 << 0)
        /// CONFIG SET refused unless `enable-protected-configs` allows it ("can't set protected config").
        public static let protected = Flags(rawValue: 1 << 1)
        /// Left out of CONFIG GET patterns; an exact name still finds it.
        public static let hidden = Flags(rawValue: 1 << 2)
        /// Its value is redacted from the slow log and MONITOR.
        public static let sensitive = Flags(rawValue: 1 << 3)
        /// Takes several space-separated values (`save 3600 1 300 100`).
        public static let multiArgument = Flags(rawValue: 1 << 4)
        /// Refused while loading the dataset (`-LOADING`).
        public static let denyLoading = Flags(rawValue: 1 << 5)
        /// A debugging knob (Redis's `DEBUG_CONFIG`), listed by CONFIG GET like any other.
        public static let debug = Flags(rawValue: 1 << 6)
        /// Setting the same value again still counts as a change (Redis's `VOLATILE_CONFIG`, TLS files).
        public static let volatile = Flags(rawValue: 1 << 7)
    }

    /// Whether Swiftlet acts on a parameter or only stores and reports it.
    public enum Support: String, Sendable {
        /// Swiftlet changes its behaviour according to the value.
        case honoured
        /// Stored and reported; acting on it is planned.
        case planned
        /// Stored and reported, no effect: a tuning knob of Redis internals Swiftlet does not have.
        case storedOnly
    }

    /// The canonical name, lower case.
    public let name: String
    /// The old name that still works (`slaveof` for `replicaof`), lower case.
    public let alias: String?
    public let flags: Flags
    let kind: ConfigKind
    /// Documentation only: whether Swiftlet honours the parameter; see ``support`` and ``note``.
    public let support: Support
    /// Documentation only: what Swiftlet does with the parameter, when more than "stored and reported".
    public let note: String

    /// `true` when Swiftlet acts on the value (documentation only).
    public var honoured: Bool { support == .honoured }

    /// Whether CONFIG SET refuses the parameter ("can't set immutable config").
    public var isImmutable: Bool { flags.contains(.immutable) }

    init(_ name: String, alias: String?, _ flags: Flags, _ kind: ConfigKind) {
        self.name = name
        self.alias = alias
        self.flags = flags
        self.kind = kind
        let documented = ConfigTable.support[name]
        self.support = documented?.0 ?? .storedOnly
        self.note = documented?.1 ?? ""
    }
}

// MARK: - Kinds

/// The value type of a parameter, as Redis's `createXxxConfig` macros.
enum ConfigKind: Sendable {
    case bool(default: Bool, validator: ConfigValidator?)
    case numeric(NumericSpec)
    /// Redis's string and sds configs. With `emptyIsNull`, an empty value is stored as "unset" (which matters only
    /// to CONFIG REWRITE).
    case string(default: String?, emptyIsNull: Bool, validator: ConfigValidator?)
    case enumeration(EnumSpec)
    case special(SpecialConfig)
}

/// How a numeric parameter is written and read.
enum NumericFormat: Sendable {
    /// Plain `string2ll` integer.
    case integer
    /// `memtoull`: digits with an optional b, k, kb, m, mb, g, gb unit, any case.
    case memory
    /// A memory value or `N%` (stored as −N, as Redis does).
    case memoryOrPercent
    /// `strtoll(…, 8)`.
    case octal
}

/// Bounds and default of a numeric parameter, with Redis's `long long` semantics: `max` of `ULLONG_MAX` is stored
/// as −1, and unsigned parameters compare bounds as unsigned.
struct NumericSpec: Sendable {
    var min: Int64
    var max: Int64
    var defaultValue: Int64
    /// Unsigned C storage (`unsigned int`, `unsigned long long`, `size_t`): bounds compare as `UInt64`.
    var unsigned: Bool
    var format: NumericFormat
}

/// One allowed value of an enumerated parameter.
struct ConfigEnumOption: Sendable {
    var name: String
    var value: Int
}

/// An enumerated parameter. With `isFlags` (Redis's multi-argument enums), several names may be given and are OR-ed.
struct EnumSpec: Sendable {
    var options: [ConfigEnumOption]
    var defaultValue: Int
    var isFlags: Bool
    var validator: ConfigValidator?
}

/// Parameters with their own parsing and formatting (`createSpecialConfig`).
enum SpecialConfig: Sendable {
    case dir
    case save
    case clientOutputBufferLimit
    case oomScoreAdjValues
    case notifyKeyspaceEvents
    case bind
    case replicaOf
    case latencyTrackingInfoPercentiles
}

/// Redis's `is_valid_fn` checks.
enum ConfigValidator: Sendable {
    case activeDefrag
    case dbFilename
    case aofFilename
    case aofDirname
    case shutdownFlags
    case announcedHostname
    case procTitleTemplate
}

// MARK: - Table-building helpers

extension ConfigParameter {
    static func bool(
        _ name: String,
        alias: String? = nil,
        _ flags: Flags,
        default value: Bool,
        validator: ConfigValidator? = nil
    ) -> ConfigParameter {
        ConfigParameter(name, alias: alias, flags, .bool(default: value, validator: validator))
    }

    static func string(
        _ name: String,
        alias: String? = nil,
        _ flags: Flags,
        default value: String?,
        emptyIsNull: Bool,
        validator: ConfigValidator? = nil
    ) -> ConfigParameter {
        ConfigParameter(
            name,
            alias: alias,
            flags,
            .string(default: value, emptyIsNull: emptyIsNull, validator: validator)
        )
    }

    static func enumeration(
        _ name: String,
        alias: String? = nil,
        _ flags: Flags,
        options: [ConfigEnumOption],
        default value: String,
        validator: ConfigValidator? = nil
    ) -> ConfigParameter {
        // Why `!`: every default in the table names one of its options; a test walks the whole table.
        let defaultValue = options.first { $0.name == value }!.value
        let spec = EnumSpec(
            options: options,
            defaultValue: defaultValue,
            isFlags: flags.contains(.multiArgument),
            validator: validator
        )
        return ConfigParameter(name, alias: alias, flags, .enumeration(spec))
    }

    static func numeric(
        _ name: String,
        alias: String? = nil,
        _ flags: Flags,
        min: Int64,
        max: Int64,
        default value: Int64,
        unsigned: Bool = false,
        format: NumericFormat = .integer
    ) -> ConfigParameter {
        let spec = NumericSpec(min: min, max: max, defaultValue: value, unsigned: unsigned, format: format)
        return ConfigParameter(name, alias: alias, flags, .numeric(spec))
    }

    static func special(_ name: String, alias: String? = nil, _ flags: Flags, _ kind: SpecialConfig) -> ConfigParameter
    {
        ConfigParameter(name, alias: alias, flags, .special(kind))
    }
}
