import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence
import SwiftletRESP

/// A library loaded with FUNCTION LOAD: its name, its whole code (shebang included, as FUNCTION LIST WITHCODE and
/// DUMP give it back), its functions, and the prefix of its functions' names in the functions VM.
struct FunctionLibrary {
    var name: String
    var code: [UInt8]
    var functions: [LibraryFunction]
    var prefix: String
}

struct LibraryFunction {
    var name: String
    var library: String
    var description: [UInt8]?
    var flags: ScriptFlags
    /// The callback's name in the functions VM's registry.
    var registryName: String
}

extension ScriptingState {
    func functionsInterpreter() -> ScriptVM? {
        if self.functionsVM == nil { self.functionsVM = ScriptVM(kind: .functions, host: self) }
        return self.functionsVM
    }

    /// FUNCTION LOAD's work (functionsCreateWithLibraryCtx): parses the metadata line, runs the code, checks the
    /// names, and replaces the old library when asked. Returns the library's name.
    func loadLibrary(_ code: [UInt8], replace: Bool, timeoutMilliseconds: Int) throws(RedisError) -> String {
        let (name, end) = try Self.libraryMetadata(code)
        let old = self.libraries[name]
        if old != nil && !replace { throw RedisError("ERR Library '\(name)' already exists") }
        guard let vm = self.functionsInterpreter() else { throw RedisError("ERR Failed to create the Lua interpreter") }
        self.libraryGeneration += 1
        let prefix = "__lib\(self.libraryGeneration)__"
        let loaded: [ScriptVM.LoadedFunction]
        switch vm.loadLibrary(prefix: prefix, code: code, skip: end, timeoutMilliseconds: timeoutMilliseconds) {
        case .success(let functions): loaded = functions
        case .failure(let error): throw RedisError("ERR " + error.message)
        }
        if loaded.isEmpty {
            vm.renameFunctions(from: prefix, to: nil)
            throw RedisError("ERR No functions registered")
        }
        for function in loaded {
            if let existing = self.functions[function.name.lowercased()], existing.library != name {
                vm.renameFunctions(from: prefix, to: nil)
                throw RedisError("ERR Function \(function.name) already exists")
            }
        }
        if let old {
            self.unlink(old)
            if !self.restoring { vm.renameFunctions(from: old.prefix, to: nil) }
        }
        self.link(
            FunctionLibrary(
                name: name,
                code: code,
                functions: loaded.map {
                    LibraryFunction(
                        name: $0.name,
                        library: name,
                        description: $0.description,
                        flags: $0.flags,
                        registryName: prefix + $0.name
                    )
                },
                prefix: prefix
            )
        )
        return name
    }

    /// The library's name and the length of its metadata line (functionExtractLibMetaData), with the engine checked.
    static func libraryMetadata(_ code: [UInt8]) throws(RedisError) -> (String, Int) {
        guard code.count >= 2, code[0] == UInt8(ascii: "#"), code[1] == UInt8(ascii: "!") else {
            throw RedisError("ERR Missing library metadata")
        }
        guard let end = code.firstIndex(of: UInt8(ascii: "\n")) else {
            throw RedisError("ERR Invalid library metadata")
        }
        let parts = splitArguments(Array(code[0..<end]))
        guard let first = parts.first else { throw RedisError("ERR Invalid library metadata") }
        let engine = String(first.dropFirst(2))
        var name: String?
        for part in parts.dropFirst() {
            if part.lowercased().hasPrefix("name=") {
                if name != nil {
                    throw RedisError("ERR Invalid metadata value, name argument was given multiple times")
                }
                name = String(part.dropFirst(5))
                continue
            }
            throw RedisError("ERR Invalid metadata value given: " + part)
        }
        guard let name else { throw RedisError("ERR Library name was not given") }
        guard Self.validName(name) else {
            throw RedisError(
                "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one "
                    + "character long"
            )
        }
        guard engine.lowercased() == "lua" else { throw RedisError("ERR Engine '\(engine)' not found") }
        return (name, end)
    }

    func link(_ library: FunctionLibrary) {
        self.libraries[library.name] = library
        for function in library.functions { self.functions[function.name.lowercased()] = function }
    }

    /// Removes a library from the tables (its callbacks stay in the VM until ``dropCallbacks(_:)``).
    func unlink(_ library: FunctionLibrary) {
        self.libraries[library.name] = nil
        for function in library.functions { self.functions[function.name.lowercased()] = nil }
    }

    /// Drops a removed library's callbacks from the VM.
    func dropCallbacks(_ library: FunctionLibrary) {
        self.functionsVM?.renameFunctions(from: library.prefix, to: nil)
    }

    /// FUNCTION FLUSH: no libraries, a new interpreter.
    func flushFunctions() {
        self.libraries.removeAll()
        self.functions.removeAll()
        self.functionsVM = nil
    }

    /// What the libraries' bookkeeping holds (used_memory_functions): names, codes and descriptions.
    var functionsMemoryOverhead: Int {
        self.libraries.values.reduce(0) { total, library in
            total + library.name.utf8.count + library.code.count
                + library.functions.reduce(0) { $0 + $1.name.utf8.count + ($1.description?.count ?? 0) + 64 }
        }
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy {
                ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95
            }
    }

    /// SCRIPT KILL / FUNCTION KILL (scriptKill).
    func kill(eval: Bool) throws(RedisError) {
        guard let run = self.running else { throw RedisError("NOTBUSY No scripts in execution right now.") }
        if run.wroteSomething {
            throw RedisError(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
                    + "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
            )
        }
        if eval && !run.isEval { throw ScriptingState.busyFunction }
        if !eval && run.isEval { throw ScriptingState.busyEval }
        self.running!.killRequested = true
    }

    static let busyEval = RedisError(
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    )
    static let busyFunction = RedisError(
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    )

    /// Libraries in a stable order (by name) for LIST and DUMP.
    var sortedLibraries: [FunctionLibrary] {
        self.libraries.values.sorted { $0.name < $1.name }
    }
}

/// FUNCTION and FCALL: Redis 7.0's function libraries (functions.c, function_lua.c).
public enum FunctionCommands {
    /// FCALL function numkeys [key ...] [arg ...] (and FCALL_RO) — depends on the function
    static func fcall(_ context: inout CommandContext, readOnly: Bool) throws(RedisError) {
        let server = context.server
        if !server.monitors.isEmpty { server.feedMonitors(&context) }
        let scripting = server.scripting
        let name = String(decoding: context.arguments[1].readableBytesView, as: UTF8.self)
        // Function names are found ignoring case (functionDictType), library names are not.
        guard let function = scripting.functions[name.lowercased()] else { throw RedisError("ERR Function not found") }
        let numberOfKeys = try ScriptCommands.numberOfKeys(context, else: RedisError("ERR Bad number of keys provided"))
        guard let vm = scripting.functionsInterpreter() else {
            throw RedisError("ERR Failed to create the Lua interpreter")
        }
        try scripting.run(
            vm: vm,
            .registered(function.registryName),
            name: function.name,
            flags: function.flags,
            isEval: false,
            readOnly: readOnly,
            numberOfKeys: numberOfKeys,
            &context
        )
    }

    /// Redis's addReplySubcommandSyntaxError, naming the subcommand as it was typed.
    static func subcommandSyntax(_ context: CommandContext) -> RedisError {
        RedisError.subcommandSyntax(
            String(decoding: context.arguments[1].readableBytesView, as: UTF8.self),
            container: String(decoding: context.arguments[0].readableBytesView, as: UTF8.self)
        )
    }

    /// FUNCTION LOAD [REPLACE] code — O(1) (the code's size)
    static func load(_ context: inout CommandContext) throws(RedisError) {
        var replace = false
        var position = 2
        while position < context.count - 1 {
            guard context.argument(position, is: "replace") else {
                throw RedisError("ERR Unknown option given: ", echoing: context.arguments[position].readableBytesView)
            }
            replace = true
            position += 1
        }
        if position >= context.count { throw RedisError("ERR Function code is missing") }
        let name = try context.server.scripting.loadLibrary(
            context.arguments[position].bytes,
            replace: replace,
            timeoutMilliseconds: 500
        )
        context.dirty()
        context.out.writeBulkString(name)
    }

    /// FUNCTION DELETE library — O(1)
    static func delete(_ context: inout CommandContext) throws(RedisError) {
        let scripting = context.server.scripting
        let name = String(decoding: context.arguments[2].readableBytesView, as: UTF8.self)
        guard let library = scripting.libraries[name] else { throw RedisError("ERR Library not found") }
        scripting.unlink(library)
        scripting.dropCallbacks(library)
        context.dirty()
        context.out.writeOK()
    }

    /// FUNCTION FLUSH [ASYNC|SYNC] — O(N) in the number of functions
    static func flush(_ context: inout CommandContext) throws(RedisError) {
        if context.count > 3 { throw Self.subcommandSyntax(context) }
        if context.count == 3 && !context.argument(2, is: "sync") && !context.argument(2, is: "async") {
            throw RedisError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
        }
        context.server.scripting.flushFunctions()
        context.dirty()
        context.forcePropagation()
        context.out.writeOK()
    }

    /// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE] — O(N) in the number of functions
    static func list(_ context: inout CommandContext) throws(RedisError) {
        var withCode = false
        var pattern: ByteBuffer?
        var i = 2
        while i < context.count {
            if !withCode && context.argument(i, is: "withcode") {
                withCode = true
            } else if pattern == nil && context.argument(i, is: "libraryname") {
                guard i < context.count - 1 else { throw RedisError("ERR library name argument was not given") }
                i += 1
                pattern = context.arguments[i]
            } else {
                throw RedisError("ERR Unknown argument ", echoing: context.arguments[i].readableBytesView)
            }
            i += 1
        }
        let libraries = context.server.scripting.sortedLibraries.filter { library in
            guard let pattern else { return true }
            return Glob.match(pattern: pattern.bytes, string: Array(library.name.utf8), noCase: true)
        }
        context.out.writeArrayHeader(libraries.count)
        for library in libraries {
            context.out.writeMapHeader(withCode ? 4 : 3)
            context.out.writeBulkString("library_name")
            context.out.writeBulkString(library.name)
            context.out.writeBulkString("engine")
            context.out.writeBulkString("LUA")
            context.out.writeBulkString("functions")
            context.out.writeArrayHeader(library.functions.count)
            for function in library.functions {
                context.out.writeMapHeader(3)
                context.out.writeBulkString("name")
                context.out.writeBulkString(function.name)
                context.out.writeBulkString("description")
                if let description = function.description {
                    context.out.writeBulkString(description)
                } else {
                    context.out.writeNull()
                }
                context.out.writeBulkString("flags")
                let names = ScriptFlags.names.filter { function.flags.contains($0.0) }
                context.out.writeSetHeader(names.count)
                for (_, name) in names { context.out.writeSimpleString(name) }
            }
            if withCode {
                context.out.writeBulkString("library_code")
                context.out.writeBulkString(library.code)
            }
        }
    }

    /// FUNCTION DUMP — O(N) in the number of functions
    static func dump(_ context: inout CommandContext) throws(RedisError) {
        let codes = context.server.scripting.sortedLibraries.map(\.code)
        let compression = context.server.config.get("rdbcompression") != "no"
        context.out.writeBulkString(DumpPayload.encodeFunctions(codes, compression: compression))
    }

    /// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE] — O(N) in the number of functions
    static func restore(_ context: inout CommandContext) throws(RedisError) {
        if context.count > 4 { throw Self.subcommandSyntax(context) }
        enum Policy { case append, replace, flush }
        var policy = Policy.append
        if context.count == 4 {
            if context.argument(3, is: "append") {
                policy = .append
            } else if context.argument(3, is: "replace") {
                policy = .replace
            } else if context.argument(3, is: "flush") {
                policy = .flush
            } else {
                throw RedisError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
            }
        }
        let codes: [[UInt8]]
        do {
            codes = try DumpPayload.decodeFunctions(context.arguments[2].bytes)
        } catch {
            switch error {
            case .versionOrChecksum: throw RedisError("ERR DUMP payload version or checksum are wrong")
            case .cannotReadType: throw RedisError("ERR can not read data type")
            case .notAFunction: throw RedisError("ERR given type is not a function")
            case .badLibrary: throw RedisError("ERR failed loading the given functions payload")
            }
        }
        try context.server.scripting.restoreLibraries(codes, replace: policy == .replace, flush: policy == .flush)
        context.dirty()
        context.out.writeOK()
    }

    /// FUNCTION STATS — O(1)
    static func stats(_ context: inout CommandContext) throws(RedisError) {
        let scripting = context.server.scripting
        if let run = scripting.running, run.isEval { throw ScriptingState.busyEval }
        context.out.writeMapHeader(2)
        context.out.writeBulkString("running_script")
        if let run = scripting.running {
            context.out.writeMapHeader(3)
            context.out.writeBulkString("name")
            context.out.writeBulkString(run.name)
            context.out.writeBulkString("command")
            context.out.writeArrayHeader(run.callerArguments.count)
            for argument in run.callerArguments { context.out.writeBulkString(argument) }
            context.out.writeBulkString("duration_ms")
            context.out.writeInteger(Int((context.server.monotonicMicroseconds() - run.started) / 1000))
        } else {
            context.out.writeNull()
        }
        context.out.writeBulkString("engines")
        context.out.writeMapHeader(1)
        context.out.writeBulkString("LUA")
        context.out.writeMapHeader(2)
        context.out.writeBulkString("libraries_count")
        context.out.writeInteger(scripting.libraries.count)
        context.out.writeBulkString("functions_count")
        context.out.writeInteger(scripting.functions.count)
    }

    /// FUNCTION KILL — O(1)
    static func kill(_ context: inout CommandContext) throws(RedisError) {
        try context.server.scripting.kill(eval: false)
        context.out.writeOK()
    }

    static func help(_ context: inout CommandContext) throws(RedisError) {
        KeyCommands.help(HelpText.function, &context)
    }

    static let fcallFlags: CommandFlags = [
        .noscript, .stale, .skipMonitor, .noMandatoryKeys, .movableKeys, .mayReplicate,
    ]

    static let specs: [CommandSpec] = [
        .init("fcall", arity: -3, flags: fcallFlags, group: "scripting") { c throws(RedisError) in
            try fcall(&c, readOnly: false)
        },
        .init("fcall_ro", arity: -3, flags: fcallFlags.union(.readonly).subtracting(.mayReplicate), group: "scripting")
        {
            c throws(RedisError) in try fcall(&c, readOnly: true)
        },
        .init(
            "function",
            arity: -2,
            flags: [],
            group: "scripting",
            subcommands: [
                .init("delete", arity: 3, flags: [.write, .noscript], group: "scripting", run: delete),
                .init("dump", arity: 2, flags: [.noscript], group: "scripting", run: dump),
                .init("flush", arity: -2, flags: [.write, .noscript], group: "scripting", run: flush),
                .init("help", arity: 2, flags: [.loading, .stale], group: "scripting", run: help),
                .init("kill", arity: 2, flags: [.noscript, .allowBusy], group: "scripting", run: kill),
                .init("list", arity: -2, flags: [.noscript], group: "scripting", run: list),
                .init("load", arity: -3, flags: [.write, .denyOOM, .noscript], group: "scripting", run: load),
                .init("restore", arity: -3, flags: [.write, .denyOOM, .noscript], group: "scripting", run: restore),
                .init("stats", arity: 2, flags: [.noscript, .allowBusy], group: "scripting", run: stats),
            ]
        ),
    ]
}

extension ScriptingState {
    /// FUNCTION RESTORE and the RDB loader: loads libraries from their codes. With `flush` the current libraries are
    /// dropped first (only once every new one loaded); otherwise a name already present is an error unless `replace`.
    func restoreLibraries(_ codes: [[UInt8]], replace: Bool, flush: Bool) throws(RedisError) {
        // All or nothing, as Redis loads into a new context and joins it (libraryJoin): on failure the libraries are
        // as they were; callbacks are dropped from the VM only once the outcome is known.
        let saved = (self.libraries, self.functions)
        if flush {
            self.libraries.removeAll()
            self.functions.removeAll()
        }
        self.restoring = true
        defer { self.restoring = false }
        var seen: Set<String> = []
        do throws(RedisError) {
            for code in codes {
                let (name, _) = try Self.libraryMetadata(code)
                if seen.contains(name) { throw RedisError("ERR Library '\(name)' already exists") }
                seen.insert(name)
                if !replace && self.libraries[name] != nil { throw RedisError("ERR Library \(name) already exists") }
            }
            // Every library the payload replaces goes before any is loaded, as Redis unlinks them all before it
            // checks the functions' names: a function may move from one replaced library to another.
            for name in seen { if let old = self.libraries[name] { self.unlink(old) } }
            for code in codes { _ = try self.loadLibrary(code, replace: false, timeoutMilliseconds: 0) }
        } catch {
            let kept = Set(saved.0.values.map(\.prefix))
            for library in self.libraries.values where !kept.contains(library.prefix) { self.dropCallbacks(library) }
            (self.libraries, self.functions) = saved
            throw error
        }
        let current = Set(self.libraries.values.map(\.prefix))
        for library in saved.0.values where !current.contains(library.prefix) { self.dropCallbacks(library) }
    }
}
