import CSwiftletScripting
import NIOCore

/// What a Lua VM asks of the engine while a script runs (redis.call and friends). Implemented by
/// ``ScriptingState``; called on the engine's loop, from inside the VM's C code, and must return normally.
protocol ScriptVMHost: AnyObject {
    /// redis.call / redis.pcall: runs `arguments` and returns the reply as RESP bytes (an error reply when refused).
    func call(_ arguments: [ByteSlice], resp: Int, reply: inout ScriptReplySink)
    func aclCheck(_ arguments: [ByteSlice]) -> Int32
    func setReplication(_ flags: Int)
    func log(level: Int, _ text: String)
    /// The count hook: whether the running script is to be killed.
    func interrupt() -> Bool
}

/// Bytes of a script's argument, valid only during the callback that received them.
struct ByteSlice {
    let pointer: UnsafeRawBufferPointer
}

/// Where a callback writes its reply: the VM's buffer.
struct ScriptReplySink {
    let buffer: UnsafeMutablePointer<swiftlet_buffer>

    func write(_ bytes: UnsafeRawBufferPointer) {
        swiftlet_buffer_append(self.buffer, bytes.baseAddress, bytes.count)
    }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { swiftlet_buffer_append(self.buffer, $0.baseAddress, $0.count) }
    }
}

/// One Lua interpreter (C: swiftlet_script_vm), EVAL's or the functions engine's. Every Lua call happens in C, inside
/// `lua_pcall`; this class only passes bytes across.
final class ScriptVM {
    enum Kind {
        case eval
        case functions
    }

    private let vm: OpaquePointer
    let kind: Kind

    /// The host behind the C callbacks' context pointer; held here, so the pointer is valid as long as the VM.
    private let box: HostBox

    /// - Parameter host: held weakly: the engine's scripting state owns its VMs.
    init?(kind: Kind, host: any ScriptVMHost) {
        self.box = HostBox(host)
        let context = Unmanaged.passUnretained(self.box).toOpaque()
        let callbacks = swiftlet_script_host(
            context: context,
            call: { context, argc, argv, resp, reply in
                let host = Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host
                let arguments = (0..<Int(argc)).map { i in
                    ByteSlice(pointer: UnsafeRawBufferPointer(start: argv![i].data, count: argv![i].length))
                }
                var sink = ScriptReplySink(buffer: reply!)
                host?.call(arguments, resp: Int(resp), reply: &sink)
            },
            acl_check: { context, argc, argv in
                let host = Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host
                let arguments = (0..<Int(argc)).map { i in
                    ByteSlice(pointer: UnsafeRawBufferPointer(start: argv![i].data, count: argv![i].length))
                }
                return host?.aclCheck(arguments) ?? -1
            },
            set_repl: { context, flags in
                Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host?.setReplication(Int(flags))
            },
            log: { context, level, text, length in
                let message = String(
                    decoding: UnsafeRawBufferPointer(start: text, count: length),
                    as: UTF8.self
                )
                Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host?.log(level: Int(level), message)
            },
            interrupt: { context in
                let host = Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host
                return (host?.interrupt() ?? false) ? 1 : 0
            }
        )
        guard
            let vm = swiftlet_vm_create(
                kind == .eval ? Int32(SWIFTLET_VM_EVAL) : Int32(SWIFTLET_VM_FUNCTIONS),
                callbacks
            )
        else { return nil }
        self.vm = vm
        self.kind = kind
    }

    deinit {
        swiftlet_vm_destroy(self.vm)
    }

    /// Compiles `body` (after `skip` shebang bytes) as the function `name`. Returns Lua's error text on failure.
    func define(_ name: String, body: [UInt8], skip: Int) -> String? {
        let status = body.withUnsafeBufferPointer {
            swiftlet_vm_define(
                self.vm,
                name,
                UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: CChar.self),
                $0.count,
                skip
            )
        }
        return status == 0 ? nil : self.errorText
    }

    func has(_ name: String) -> Bool { swiftlet_vm_has(self.vm, name) != 0 }

    func undefine(_ name: String) { swiftlet_vm_undefine(self.vm, name) }

    enum Outcome {
        case ok
        /// An error reply whose statistics the command that raised it already counted.
        case errorCounted
        case error
    }

    /// Runs the function `name` with `keys` and `arguments`; the reply (RESP for `callerResp`) is left in `reply`.
    func run(
        _ name: String,
        label: String,
        keys: ArraySlice<ByteBuffer>,
        arguments: ArraySlice<ByteBuffer>,
        callerResp: Int,
        hook: Bool
    ) -> Outcome {
        let status = withByteDescriptors(keys, arguments) { k, a in
            swiftlet_vm_run(
                self.vm,
                name,
                label,
                k.baseAddress,
                Int32(k.count),
                a.baseAddress,
                Int32(a.count),
                Int32(callerResp),
                hook ? 1 : 0
            )
        }
        switch Int(status) {
        case Int(SWIFTLET_RUN_OK): return .ok
        case Int(SWIFTLET_RUN_ERROR_COUNTED): return .errorCounted
        default: return .error
        }
    }

    /// The last run's reply.
    var reply: UnsafeRawBufferPointer {
        let bytes = swiftlet_vm_reply(self.vm)
        return UnsafeRawBufferPointer(start: bytes.data, count: bytes.length)
    }

    var errorText: String {
        let bytes = swiftlet_vm_error(self.vm)
        return String(decoding: UnsafeRawBufferPointer(start: bytes.data, count: bytes.length), as: UTF8.self)
    }

    /// Bytes the interpreter holds.
    var memory: Int { Int(swiftlet_vm_memory(self.vm)) }

    struct LoadedFunction {
        var name: String
        var description: [UInt8]?
        var flags: ScriptFlags
    }

    /// Runs a library's code in the loading sandbox; its functions are registered as "<prefix><name>".
    func loadLibrary(
        prefix: String,
        code: [UInt8],
        skip: Int,
        timeoutMilliseconds: Int
    ) -> Result<[LoadedFunction], ScriptError> {
        let count = code.withUnsafeBufferPointer {
            swiftlet_vm_load_library(
                self.vm,
                prefix,
                UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: CChar.self),
                $0.count,
                skip,
                timeoutMilliseconds
            )
        }
        guard count >= 0 else { return .failure(ScriptError(self.errorText)) }
        return .success(
            (0..<Int(count)).map { i in
                let f = swiftlet_vm_loaded_function(self.vm, Int32(i))
                let name = String(decoding: UnsafeRawBufferPointer(start: f.name, count: f.name_length), as: UTF8.self)
                let description = f.description.map {
                    Array(UnsafeRawBufferPointer(start: $0, count: f.description_length))
                }
                return LoadedFunction(name: name, description: description, flags: ScriptFlags(rawValue: f.flags))
            }
        )
    }

    /// Moves or (with `to` nil) drops the functions registered under a prefix.
    func renameFunctions(from: String, to: String?) {
        swiftlet_vm_rename_functions(self.vm, from, to)
    }
}

/// A script error text (without the leading `-` or the `ERR` code).
struct ScriptError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// The host, weakly held, behind a stable pointer for the C callbacks.
private final class HostBox {
    weak var host: (any ScriptVMHost)?
    init(_ host: any ScriptVMHost) { self.host = host }
}

/// Calls `body` with two lists of buffers as C byte descriptors: the bytes are copied into one array first, so every
/// pointer is valid for the whole call.
private func withByteDescriptors<R>(
    _ first: ArraySlice<ByteBuffer>,
    _ second: ArraySlice<ByteBuffer>,
    _ body: (UnsafeBufferPointer<swiftlet_bytes>, UnsafeBufferPointer<swiftlet_bytes>) -> R
) -> R {
    var storage: [UInt8] = []
    storage.reserveCapacity(
        (first.reduce(0) { $0 + $1.readableBytes }) + second.reduce(0) { $0 + $1.readableBytes } + 1
    )
    for buffer in first { storage.append(contentsOf: buffer.readableBytesView) }
    for buffer in second { storage.append(contentsOf: buffer.readableBytesView) }
    storage.append(0)
    return storage.withUnsafeBufferPointer { raw in
        let base = UnsafeRawPointer(raw.baseAddress!).assumingMemoryBound(to: CChar.self)
        var offset = 0
        func descriptors(_ buffers: ArraySlice<ByteBuffer>) -> [swiftlet_bytes] {
            buffers.map { buffer in
                defer { offset += buffer.readableBytes }
                return swiftlet_bytes(data: base + offset, length: buffer.readableBytes)
            }
        }
        let a = descriptors(first)
        let b = descriptors(second)
        return a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in body(a, b) } }
    }
}
