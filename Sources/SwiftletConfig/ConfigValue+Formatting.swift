import SwiftletKeyspace

// MARK: - CONFIG GET text

extension ConfigValue {
    /// The text CONFIG GET replies with, as Redis's `interface.get`.
    func text(_ kind: ConfigKind, currentDirectory: () -> String) -> String {
        switch (self, kind) {
        case (.bool(let value), _):
            return value ? "yes" : "no"
        case (.number(let value), .numeric(let spec)):
            if spec.format == .memoryOrPercent && value < 0 { return "\(-value)%" }
            switch spec.format {
            case .memory, .memoryOrPercent: return String(UInt64(bitPattern: value))
            case .octal: return String(UInt64(bitPattern: value), radix: 8)
            case .integer: return String(value)
            }
        case (.number(let value), _):
            return String(value)
        case (.string(let value), _):
            return value ?? ""
        case (.enumeration(let value), .enumeration(let spec)):
            return ConfigValue.enumerationName(spec, value)
        case (.enumeration(let value), _):
            return String(value)
        case (.save(let rules), _):
            return rules.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ")
        case (.clientOutputBufferLimits(let limits), _):
            let names = ["normal", "slave", "pubsub"]
            return zip(names, limits).map { "\($0) \($1.hard) \($1.soft) \($1.seconds)" }.joined(separator: " ")
        case (.oomScoreAdjValues(let values), _):
            return values.map(String.init).joined(separator: " ")
        case (.keyspaceEvents(let flags), _):
            return KeyspaceEventFlags.format(flags)
        case (.bind(let addresses), _):
            return addresses.joined(separator: " ")
        case (.replicaOf(let host, let port), _):
            return host.map { "\($0) \(port)" } ?? ""
        case (.percentiles(let values), _):
            return values.map(ConfigText.trimmedFixed).joined(separator: " ")
        case (.directory, _):
            return currentDirectory()
        }
    }

    /// Redis's `configEnumGetName`: the first option with exactly this value; for flag enums the names of the set
    /// bits in table order, or "unknown".
    static func enumerationName(_ spec: EnumSpec, _ value: Int) -> String {
        var names: [String] = []
        var unmatched = value
        for option in spec.options {
            if option.value == value { return option.name }
            if spec.isFlags && option.value != 0 && option.value == unmatched & option.value {
                names.append(option.name)
                unmatched &= ~option.value
            }
        }
        if names.isEmpty || unmatched != 0 { return "unknown" }
        return names.joined(separator: " ")
    }
}

// MARK: - CONFIG REWRITE lines

/// What CONFIG REWRITE does for one parameter, as Redis's `interface.rewrite`.
public struct ConfigRewriteEntry: Sendable {
    /// One line for the file.
    public struct Line: Sendable, Equatable {
        /// The whole line, starting with the parameter name.
        public var text: String
        /// Whether the line is written even where the old file has no line left for the parameter (the value
        /// differs from the default, or Redis always writes it: `dir`, `save`, `latency-tracking-info-percentiles`).
        /// An unforced line only replaces a line already in the file.
        public var force: Bool
    }

    /// The canonical parameter name.
    public var name: String
    /// The lines, in order. Empty when the parameter must not appear at all (an unset string, a master's
    /// `replicaof`, the default `bind`): old lines for it are then removed.
    public var lines: [Line]
}

extension ConfigValue {
    /// Redis's rewrite function for this parameter.
    func rewriteEntry(_ parameter: ConfigParameter, currentDirectory: () -> String) -> ConfigRewriteEntry {
        let name = parameter.name
        func entry(_ lines: [String], _ force: Bool) -> ConfigRewriteEntry {
            ConfigRewriteEntry(name: name, lines: lines.map { ConfigRewriteEntry.Line(text: $0, force: force) })
        }
        let defaultValue = parameter.kind.defaultValue
        switch (self, parameter.kind) {
        case (.bool(let value), _):
            return entry(["\(name) \(value ? "yes" : "no")"], self != defaultValue)
        case (.number(let value), .numeric(let spec)):
            let text: String
            if spec.format == .memoryOrPercent && value < 0 {
                text = "\(-value)%"
            } else {
                switch spec.format {
                case .memory, .memoryOrPercent: text = ConfigText.formatMemory(value)
                case .octal: text = String(UInt64(bitPattern: value), radix: 8)
                case .integer: text = String(value)
                }
            }
            return entry(["\(name) \(text)"], self != defaultValue)
        case (.string(let value), .string(let defaultText, _, _)):
            // An unset (NULL) string must not be in the file, so that it stays unset.
            guard let value else { return entry([], false) }
            return entry(["\(name) \(ConfigText.quoted(value))"], defaultText != value)
        case (.enumeration, _):
            return entry(["\(name) \(text(parameter.kind, currentDirectory: currentDirectory))"], self != defaultValue)
        case (.save(let rules), _):
            // Always written: without a line the compiled-in defaults would come back.
            if rules.isEmpty { return entry(["save \"\""], true) }
            return entry(rules.map { "save \($0.seconds) \($0.changes)" }, true)
        case (.clientOutputBufferLimits(let limits), _):
            // One line per class, each forced only if that class differs; Redis's rewrite calls "slave" "replica".
            var lines: [ConfigRewriteEntry.Line] = []
            for (index, className) in ["normal", "replica", "pubsub"].enumerated() {
                let limit = limits[index]
                let hard = ConfigText.formatMemory(Int64(bitPattern: limit.hard))
                let soft = ConfigText.formatMemory(Int64(bitPattern: limit.soft))
                lines.append(
                    ConfigRewriteEntry.Line(
                        text: "\(name) \(className) \(hard) \(soft) \(limit.seconds)",
                        force: limit != ConfigDefaults.clientOutputBufferLimits[index]
                    )
                )
            }
            return ConfigRewriteEntry(name: name, lines: lines)
        case (.oomScoreAdjValues(let values), _):
            let text = values.map(String.init).joined(separator: " ")
            return entry(["\(name) \(text)"], values != ConfigDefaults.oomScoreAdjValues)
        case (.keyspaceEvents(let flags), _):
            return entry(["\(name) \(ConfigText.quoted(KeyspaceEventFlags.format(flags)))"], flags != 0)
        case (.bind(let addresses), _):
            if addresses == ConfigDefaults.bind { return entry([], false) }
            let text = addresses.isEmpty ? "\"\"" : addresses.joined(separator: " ")
            return entry(["\(name) \(text)"], true)
        case (.replicaOf(let host, let port), _):
            guard let host else { return entry([], false) }
            return entry(["\(name) \(host) \(port)"], true)
        case (.percentiles(let values), _):
            if values.isEmpty { return entry(["\(name) \"\""], true) }
            return entry(["\(name) " + values.map(ConfigText.trimmedFixed).joined(separator: " ")], true)
        case (.directory, _):
            return entry(["\(name) \(ConfigText.quoted(currentDirectory()))"], true)
        case (.number, _), (.string, _):
            return entry([], false)
        }
    }
}
