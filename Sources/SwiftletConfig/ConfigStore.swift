import SwiftletKeyspace

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A configuration error, carrying Redis's full text.
///
/// For CONFIG SET it is the reply without the leading `-`, for example
/// `ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value`.
/// For ``ConfigStore/setFromConfigFile(_:_:)`` it is the bare reason (`wrong number of arguments`), and for
/// ``ConfigStore/load(configText:)`` and ``ConfigFileParser/parse(_:)`` the whole block redis-server prints to
/// standard error before exiting.
public struct ConfigError: Error, Equatable, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public init(message: String) {
        self.message = message
    }
}

/// Where `dir` lives: by default the process's current directory, as in Redis.
public struct WorkingDirectory {
    /// The current directory (`getcwd`).
    public var current: () -> String
    /// Changes directory (`chdir`); returns the error text (`strerror`) on failure.
    public var change: (String) -> String?

    public init(current: @escaping () -> String, change: @escaping (String) -> String?) {
        self.current = current
        self.change = change
    }

    /// The real process directory.
    public static var process: WorkingDirectory {
        WorkingDirectory(
            current: {
                var buffer = [CChar](repeating: 0, count: 1024)
                // Redis replies "" when getcwd fails.
                guard getcwd(&buffer, buffer.count) != nil else { return "" }
                let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                return String(decoding: bytes, as: UTF8.self)
            },
            change: { path in
                if chdir(path) == 0 { return nil }
                return String(cString: strerror(errno))
            }
        )
    }

    /// A directory that exists only in memory, for tests: every change succeeds.
    public static func simulated(_ initial: String) -> WorkingDirectory {
        final class Box {
            var path: String
            init(_ path: String) { self.path = path }
        }
        let box = Box(initial)
        return WorkingDirectory(
            current: { box.path },
            change: { path in
                box.path = path
                return nil
            }
        )
    }
}

/// The server's configuration: every Redis 7.0 parameter with its current value, and CONFIG GET/SET/REWRITE
/// semantics byte for byte. Owned by the server's event loop (not `Sendable`).
public final class ConfigStore {
    /// Called after CONFIG SET changed a parameter, with its canonical name as key and the new CONFIG GET text.
    public var observers: [String: (String) -> Void] = [:]
    /// Called during CONFIG SET, after every value is set and before observers, for each changed parameter (keyed by
    /// canonical name) with its new CONFIG GET text; returns an error text to refuse it, as Redis's apply functions
    /// (`Unable to listen on this port. Check server logs.`, `Failed to bind to specified addresses.`). A refusal
    /// restores every value of the command (appliers already run are called again with the old text) and the
    /// command fails with `CONFIG SET failed (possibly related to argument '<name>') - <text>`.
    public var appliers: [String: (String) -> String?] = [:]
    /// Where `dir` reads and changes the directory.
    public var workingDirectory: WorkingDirectory

    private var values: [ConfigValue]
    /// Set once a config file's first `save` line has replaced the defaults; later lines add rules.
    private var saveSeenInFile = false

    /// Lower-case name or alias → (parameter index, the name as the table spells it).
    private static let index: [String: (Int, String)] = {
        var index: [String: (Int, String)] = [:]
        for (position, parameter) in ConfigTable.parameters.enumerated() {
            index[parameter.name] = (position, parameter.name)
            if let alias = parameter.alias { index[alias] = (position, alias) }
        }
        return index
    }()

    /// A store with every parameter at Redis's default and `dir` on the process's current directory.
    public convenience init() {
        self.init(workingDirectory: .process)
    }

    public init(workingDirectory: WorkingDirectory) {
        self.workingDirectory = workingDirectory
        self.values = ConfigTable.parameters.map(\.kind.defaultValue)
    }

    private static func lookup(_ name: String) -> (index: Int, spelled: String)? {
        index[ConfigText.lowercased(name)].map { (index: $0.0, spelled: $0.1) }
    }

    private func text(at index: Int) -> String {
        values[index].text(ConfigTable.parameters[index].kind, currentDirectory: workingDirectory.current)
    }

    // MARK: - CONFIG GET

    /// The CONFIG GET text of a parameter, by canonical name or alias in any case; `nil` if there is no such
    /// parameter.
    public func get(_ name: String) -> String? {
        Self.lookup(name).map { text(at: $0.index) }
    }

    /// CONFIG GET for one argument. Without `*`, `?` or `[` it is an exact lookup (hidden parameters included) and
    /// the reply uses the name as given; otherwise it globs, case-insensitively, over every visible name and alias,
    /// replying with the table's spelling. In table order.
    public func getMatching(_ pattern: [UInt8]) -> [(name: String, value: String)] {
        getMatching(patterns: [pattern])
    }

    /// CONFIG GET with several arguments, as Redis 7.0: a parameter reached under the same name twice (in any case)
    /// is listed once; an alias and its canonical name are different names.
    public func getMatching(patterns: [[UInt8]]) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        var seen = Set<String>()
        for pattern in patterns {
            if !Glob.hasWildcards(pattern) {
                let name = String(decoding: pattern, as: UTF8.self)
                let key = ConfigText.lowercased(name)
                if seen.contains(key) { continue }
                if let found = Self.lookup(name) {
                    seen.insert(key)
                    result.append((name, text(at: found.index)))
                }
                continue
            }
            for (position, parameter) in ConfigTable.parameters.enumerated()
            where !parameter.flags.contains(.hidden) {
                for name in [parameter.name, parameter.alias].compactMap({ $0 }) where !seen.contains(name) {
                    if Glob.match(pattern: pattern, string: Array(name.utf8), noCase: true) {
                        seen.insert(name)
                        result.append((name, text(at: position)))
                    }
                }
            }
        }
        return result
    }

    // MARK: - CONFIG SET

    /// CONFIG SET with one or more name/value pairs, all or nothing, with Redis's checks in Redis's order: unknown
    /// names, immutable and protected parameters, and the same parameter twice are refused before any value is
    /// parsed; then values are set in order; then appliers run; the first failure wins and nothing changes.
    /// - Parameters:
    ///   - pairs: names (any case, aliases allowed) and values as given. Multi-argument values are split on single
    ///     spaces, as Redis does.
    ///   - clientIsLocal: whether the client is on a loopback or Unix socket, which `enable-protected-configs local`
    ///     needs.
    /// - Throws: ``ConfigError`` with Redis's reply text.
    public func set(_ pairs: [(String, String)], clientIsLocal: Bool = false) throws(ConfigError) {
        var targets: [(index: Int, spelled: String, value: String)] = []
        for (name, value) in pairs {
            guard let found = Self.lookup(name) else {
                throw ConfigError("ERR Unknown option or number of arguments for CONFIG SET - '\(name)'")
            }
            let parameter = ConfigTable.parameters[found.index]
            if parameter.flags.contains(.immutable) {
                throw Self.setFailure(name, "can't set immutable config")
            }
            if parameter.flags.contains(.protected) && !protectedConfigsAllowed(clientIsLocal: clientIsLocal) {
                throw Self.setFailure(name, "can't set protected config")
            }
            // The same table entry twice; an alias and its canonical name are distinct entries in Redis.
            if targets.contains(where: { $0.index == found.index && $0.spelled == found.spelled }) {
                throw Self.setFailure(name, "duplicate parameter")
            }
            targets.append((found.index, found.spelled, value))
        }

        let before = values
        let setsDirectory = targets.contains { ConfigTable.parameters[$0.index].name == "dir" }
        let beforeDirectory = setsDirectory ? workingDirectory.current() : ""
        var beforeTexts: [Int: String] = [:]
        for target in targets where beforeTexts[target.index] == nil {
            beforeTexts[target.index] = text(at: target.index)
        }
        // Undoes the command: values, and the process directory if `dir` was among them.
        func rollBack() {
            values = before
            if setsDirectory { _ = workingDirectory.change(beforeDirectory) }
        }

        for target in targets {
            let parameter = ConfigTable.parameters[target.index]
            let args = parameter.flags.contains(.multiArgument) ? Self.splitOnSpaces(target.value) : [target.value]
            let current = values[target.index]
            switch ConfigValue.parse(parameter.kind, args, current: current, changeDirectory: workingDirectory.change) {
            case .success(let value):
                values[target.index] = value
            case .failure(let message):
                rollBack()
                throw Self.setFailure(target.spelled, message.text)
            }
        }
        applyRuntimeAdjustments()

        // Each changed parameter once, in command order.
        var changed: [(index: Int, spelled: String)] = []
        for target in targets where !changed.contains(where: { $0.index == target.index }) {
            let parameter = ConfigTable.parameters[target.index]
            if text(at: target.index) != beforeTexts[target.index] || parameter.flags.contains(.volatile) {
                changed.append((target.index, target.spelled))
            }
        }
        // Swiftlet has no TLS: turning it on fails as Redis's apply step does when TLS cannot be configured.
        for (index, spelled) in changed where Self.enablesTLS(index, values[index]) {
            rollBack()
            throw Self.setFailure(spelled, "Unable to update TLS configuration. Check server logs.")
        }
        var applied: [(name: String, oldText: String)] = []
        for (index, spelled) in changed {
            let name = ConfigTable.parameters[index].name
            guard let applier = appliers[name] else { continue }
            if let error = applier(text(at: index)) {
                rollBack()
                for undo in applied.reversed() { _ = appliers[undo.name]?(undo.oldText) }
                throw Self.setFailure(spelled, error)
            }
            // Why `!`: every target's old text was recorded above.
            applied.append((name, beforeTexts[index]!))
        }
        for (index, _) in changed {
            observers[ConfigTable.parameters[index].name]?(text(at: index))
        }
    }

    /// `tls-port` other than 0, `tls-replication yes` or `tls-cluster yes`.
    private static func enablesTLS(_ index: Int, _ value: ConfigValue) -> Bool {
        switch (ConfigTable.parameters[index].name, value) {
        case ("tls-port", .number(let port)): return port != 0
        case ("tls-replication", .bool(true)), ("tls-cluster", .bool(true)): return true
        default: return false
        }
    }

    private static func setFailure(_ name: String, _ reason: String) -> ConfigError {
        ConfigError("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
    }

    /// Redis's `sdssplitlen(value, " ")`: every single space separates, so doubled spaces give empty arguments and
    /// the empty string gives none.
    static func splitOnSpaces(_ value: String) -> [String] {
        if value.isEmpty { return [] }
        return value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    }

    private func protectedConfigsAllowed(clientIsLocal: Bool) -> Bool {
        switch get("enable-protected-configs") {
        case "yes": return true
        case "local": return clientIsLocal
        default: return false
        }
    }

    /// What Redis's apply functions do to values visible in CONFIG GET: `hz` is clamped to 1...500 and
    /// `repl-backlog-size` raised to 16 KiB.
    private func applyRuntimeAdjustments() {
        clampHz()
        if let found = Self.lookup("repl-backlog-size"), case .number(let size) = values[found.index],
            size < ConfigDefaults.minReplBacklogSize
        {
            values[found.index] = .number(ConfigDefaults.minReplBacklogSize)
        }
    }

    private func clampHz() {
        if let found = Self.lookup("hz"), case .number(let hz) = values[found.index] {
            values[found.index] = .number(
                min(max(hz, ConfigDefaults.hzRange.lowerBound), ConfigDefaults.hzRange.upperBound)
            )
        }
    }

    // MARK: - Config file

    /// Applies one directive of a config file or command line (`--name value`), as Redis at startup: immutable and
    /// protected parameters are allowed; a single argument of a multi-argument parameter is split like a config
    /// line (`--save "60 1"`); successive `save` lines add rules. Observers and appliers are not called.
    /// - Parameters:
    ///   - name: the directive, any case.
    ///   - args: its arguments.
    /// - Throws: ``ConfigError`` whose message is Redis's bare reason, such as `wrong number of arguments` or
    ///   `Bad directive or wrong number of arguments`.
    public func setFromConfigFile(_ name: String, _ args: [String]) throws(ConfigError) {
        let lowered = ConfigText.lowercased(name)
        guard let found = Self.lookup(lowered) else {
            try Self.otherDirective(lowered, args)
            return
        }
        let parameter = ConfigTable.parameters[found.index]
        var args = args
        if parameter.flags.contains(.multiArgument) {
            if args.count == 1 && !args[0].isEmpty {
                // Redis passes no arguments at all when this split fails on quotes.
                args = ConfigFileParser.splitArguments(args[0]) ?? []
            }
        } else if args.count != 1 {
            throw ConfigError("wrong number of arguments")
        }
        switch ConfigValue.parse(
            parameter.kind,
            args,
            current: values[found.index],
            changeDirectory: workingDirectory.change
        ) {
        case .success(var value):
            if case .save(let rules) = value {
                // The first save line replaces the defaults; later ones add to it. `save ""` always clears.
                let clears = args.count == 1 && args[0].isEmpty
                if saveSeenInFile && !clears, case .save(let existing) = values[found.index] {
                    value = .save(existing + rules)
                }
                saveSeenInFile = true
            }
            values[found.index] = value
            clampHz()
        case .failure(let message):
            throw ConfigError(message.text)
        }
    }

    /// Directives that are not parameters.
    private static func otherDirective(_ name: String, _ args: [String]) throws(ConfigError) {
        // Removed parameters Redis 7.0 still accepts and ignores (with exactly one argument).
        let deprecated: Set<String> = ["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"]
        if deprecated.contains(name) && args.count == 1 { return }
        if name == "sentinel" && !args.isEmpty {
            throw ConfigError("sentinel directive while not in sentinel mode")
        }
        if name.utf8.contains(UInt8(ascii: ".")) && args.isEmpty {
            throw ConfigError("Module config specified without value")
        }
        // include, rename-command, user, loadmodule and module configs are not supported yet.
        throw ConfigError("Bad directive or wrong number of arguments")
    }

    /// Loads a whole config text (a file, then the command-line options appended as Redis does), stopping at the
    /// first error.
    /// - Throws: ``ConfigError`` whose message is exactly what redis-server prints to standard error before exiting,
    ///   for example "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n"
    ///   + ">>> 'port 1 2'\nwrong number of arguments\n".
    public func load(configText: String) throws(ConfigError) {
        for line in ConfigFileParser.lines(of: configText) {
            guard let argv = ConfigFileParser.splitArguments(line.text) else {
                throw ConfigError(
                    ConfigFileParser.fatalMessage(
                        line: line.number,
                        text: line.text,
                        reason: "Unbalanced quotes in configuration line"
                    )
                )
            }
            guard let name = argv.first else { continue }
            do {
                try setFromConfigFile(name, Array(argv.dropFirst()))
            } catch {
                throw ConfigError(
                    ConfigFileParser.fatalMessage(line: line.number, text: line.text, reason: error.message)
                )
            }
        }
        if get("cluster-enabled") == "yes" && !(get("replicaof") ?? "").isEmpty {
            throw ConfigError(
                ConfigFileParser.fatalMessage(
                    line: nil,
                    text: nil,
                    reason: "replicaof directive not allowed in cluster mode"
                )
            )
        }
    }

    // MARK: - CONFIG REWRITE

    /// What CONFIG REWRITE writes for every parameter, in table order (canonical names only).
    public func rewriteEntries() -> [ConfigRewriteEntry] {
        ConfigTable.parameters.enumerated().map { position, parameter in
            values[position].rewriteEntry(parameter, currentDirectory: workingDirectory.current)
        }
    }

    /// The lines CONFIG REWRITE appends to a config file that mentions no parameter: those that differ from Redis's
    /// defaults, plus `dir`, `save` and `latency-tracking-info-percentiles`, which Redis always writes. Strings are
    /// quoted as Redis quotes them (`requirepass "se cret"`), memory in its units (`maxmemory 100mb`).
    public func rewriteLines() -> [String] {
        rewriteEntries().flatMap(\.lines).filter(\.force).map(\.text)
    }

    // MARK: - Typed getters

    /// The value of a numeric parameter the table defines. The default lives only in ``ConfigTable``: callers
    /// never write a fallback of their own, so a default is stated once. An unknown name is a programming error.
    public func number(_ name: String) -> Int64 {
        // Why `!`: callers name parameters of the table; ConfigTableTests reads every one.
        let found = Self.lookup(name)!
        if case .number(let value) = values[found.index] { return value }
        preconditionFailure("\(name) is not a numeric parameter")
    }

    /// The value of a yes/no parameter.
    public func bool(_ name: String) -> Bool {
        // Why `!`: the names below are in the table.
        let found = Self.lookup(name)!
        if case .bool(let value) = values[found.index] { return value }
        return false
    }

    /// The CONFIG GET text of a parameter the table defines (its default lives only in ``ConfigTable``). An
    /// unknown name is a programming error.
    public func string(_ name: String) -> String {
        // Why `!`: callers name parameters of the table.
        get(name)!
    }

    /// `port`: the TCP port; 0 means no TCP listener.
    public var port: Int { Int(number("port")) }
    /// `bind`: the addresses to listen on (`*` any IPv4, `-` prefix: optional).
    public var bindAddresses: [String] {
        // Why `!`: "bind" is in the table.
        if case .bind(let addresses) = values[Self.lookup("bind")!.index] { return addresses }
        return []
    }
    /// `protected-mode`.
    public var protectedMode: Bool { bool("protected-mode") }
    /// `maxmemory` in bytes; `Int` with C's wrap-around, so `ULLONG_MAX` reads −1 (as INFO prints it).
    public var maxMemory: Int { Int(truncatingIfNeeded: number("maxmemory")) }
    /// `maxmemory-policy`.
    public var maxMemoryPolicy: String { string("maxmemory-policy") }
    /// `maxclients`.
    public var maxClients: Int { Int(number("maxclients")) }
    /// `proto-max-bulk-len` in bytes.
    public var protoMaxBulkLen: Int { Int(number("proto-max-bulk-len")) }
    /// `client-query-buffer-limit` in bytes.
    public var clientQueryBufferLimit: Int { Int(number("client-query-buffer-limit")) }
    /// `hz`, already clamped to 1...500.
    public var hz: Int { Int(number("hz")) }
    /// `databases`.
    public var databases: Int { Int(number("databases")) }
    /// `timeout` in seconds; 0 disables.
    public var timeout: Int { Int(number("timeout")) }
    /// `dir`: the current directory.
    public var dir: String { workingDirectory.current() }
    /// `loglevel`: debug, verbose, notice or warning.
    public var logLevel: String { string("loglevel") }
    /// `logfile`; empty means standard output.
    public var logFile: String { string("logfile") }
    /// `requirepass`; empty when no password is set.
    public var requirePass: String { string("requirepass") }
    /// `dbfilename`.
    public var dbFilename: String { string("dbfilename") }
    /// `appendonly`.
    public var appendOnly: Bool { bool("appendonly") }
    /// `save` rules.
    public var saveRules: [(seconds: Int, changes: Int)] {
        // Why `!`: "save" is in the table.
        if case .save(let rules) = values[Self.lookup("save")!.index] {
            return rules.map { (Int($0.seconds), Int($0.changes)) }
        }
        return []
    }
    /// `client-output-buffer-limit` by class: normal, replica, pubsub.
    public var clientOutputBufferLimits: [ClientBufferLimit] {
        // Why `!`: "client-output-buffer-limit" is in the table.
        if case .clientOutputBufferLimits(let limits) = values[Self.lookup("client-output-buffer-limit")!.index] {
            return limits
        }
        return ConfigDefaults.clientOutputBufferLimits
    }
    /// `notify-keyspace-events` as Redis's flag bits (K=1, E=2, g=4, $=8, l=16, s=32, h=64, z=128, x=256, e=512,
    /// t=1024, m=2048, d=8192, n=16384).
    public var notifyKeyspaceEvents: Int {
        // Why `!`: "notify-keyspace-events" is in the table.
        if case .keyspaceEvents(let flags) = values[Self.lookup("notify-keyspace-events")!.index] { return flags }
        return 0
    }
    /// Whether small integers are shared objects (OBJECT REFCOUNT reports INT_MAX), which Redis stops doing when
    /// `maxmemory` is set with an LRU or LFU policy.
    public var sharesIntegers: Bool {
        maxMemory == 0 || !(maxMemoryPolicy.hasSuffix("-lru") || maxMemoryPolicy.hasSuffix("-lfu"))
    }

    /// Whether a parameter's value must be redacted from the slow log and MONITOR (`requirepass`, `masterauth`,
    /// `masteruser`).
    public func isSensitive(_ name: String) -> Bool {
        Self.lookup(name).map { ConfigTable.parameters[$0.index].flags.contains(.sensitive) } ?? false
    }

    /// The numeric value of any numeric parameter, as Redis's `long long`; `nil` for other kinds or unknown names.
    public func integer(_ name: String) -> Int64? {
        guard let found = Self.lookup(name), case .number(let value) = values[found.index] else { return nil }
        return value
    }
}
