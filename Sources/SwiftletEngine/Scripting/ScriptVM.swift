import CSwiftletScripting
import NIOCore

/// What a Lua VM asks of the engine while a script runs (redis.call and friends). Implemented by
/// ``ScriptingState``; called on the engine's loop, from inside the VM's C code, and must return normally.
protocol ScriptVMHost: AnyObject {
    /// redis.call / redis.pcall: runs `arguments` and returns the reply as RESP bytes (an error reply when refused).
    /// The argument bytes are valid only during the call.
    func call(_ arguments: UnsafeBufferPointer<swiftlet_bytes>, resp: Int, reply: inout ScriptReplySink)
    func aclCheck(_ arguments: UnsafeBufferPointer<swiftlet_bytes>) -> Int32
    func setReplication(_ flags: Int)
    func log(level: Int, _ text: String)
    /// The count hook: whether the running script is to be killed.
    func interrupt() -> Bool
}

extension swiftlet_bytes {
    var rawBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: self.data, count: self.length) }
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
    /// A run's KEYS and ARGV bytes and their descriptors, kept from run to run.
    private var argumentBytes: [UInt8] = []
    private var descriptors: [swiftlet_bytes] = []
    private static let keptArgumentBytes = 64 * 1024

    /// - Parameter host: not retained: the engine's scripting state owns its VMs.
    init?(kind: Kind, host: any ScriptVMHost) {
        self.box = HostBox(host)
        let context = Unmanaged.passUnretained(self.box).toOpaque()
        let callbacks = swiftlet_script_host(
            context: context,
            call: { context, argc, argv, resp, reply in
                let host = Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host
                var sink = ScriptReplySink(buffer: reply!)
                host.call(UnsafeBufferPointer(start: argv, count: Int(argc)), resp: Int(resp), reply: &sink)
            },
            acl_check: { context, argc, argv in
                let host = Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host
                return host.aclCheck(UnsafeBufferPointer(start: argv, count: Int(argc)))
            },
            set_repl: { context, flags in
                Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host.setReplication(Int(flags))
            },
            log: { context, level, text, length in
                let message = String(
                    decoding: UnsafeRawBufferPointer(start: text, count: length),
                    as: UTF8.self
                )
                Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host.log(level: Int(level), message)
            },
            interrupt: { context in
                let host = Unmanaged<HostBox>.fromOpaque(context!).takeUnretainedValue().host
                return host.interrupt() ? 1 : 0
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

    /// Compiles `body` (after `skip` shebang bytes) and returns the function's reference for ``run(_:label:keys:arguments:callerResp:hook:)``,
    /// or Lua's error text.
    func define(body: [UInt8], skip: Int) -> Result<Int32, ScriptError> {
        let ref = body.withUnsafeBufferPointer {
            swiftlet_vm_define(
                self.vm,
                UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: CChar.self),
                $0.count,
                skip
            )
        }
        return ref < 0 ? .failure(ScriptError(self.errorText)) : .success(ref)
    }

    enum Outcome {
        case ok
        /// An error reply whose statistics the command that raised it already counted.
        case errorCounted
        case error
    }

    /// A compiled function to run: an EVAL script's (``define(body:skip:)``'s reference) or a library's, by the
    /// name it was registered under.
    enum Entry {
        case reference(Int32)
        case registered(String)
    }

    /// Runs a function with `keys` and `arguments`; the reply (RESP for `callerResp`) is left in `reply`. `label`
    /// names the script in error texts.
    func run(
        _ entry: Entry,
        label: String,
        keys: ArraySlice<ByteBuffer>,
        arguments: ArraySlice<ByteBuffer>,
        callerResp: Int,
        hook: Bool
    ) -> Outcome {
        // The argument bytes are copied into one array kept from run to run, and described by another.
        self.argumentBytes.removeAll(keepingCapacity: true)
        for buffer in keys { buffer.withUnsafeReadableBytes { self.argumentBytes.append(contentsOf: $0) } }
        for buffer in arguments { buffer.withUnsafeReadableBytes { self.argumentBytes.append(contentsOf: $0) } }
        self.argumentBytes.append(0)
        var bytes: [UInt8] = []
        var descriptors: [swiftlet_bytes] = []
        swap(&bytes, &self.argumentBytes)
        swap(&descriptors, &self.descriptors)
        defer {
            // Large KEYS/ARGV are not kept for the next run: their memory would stay counted in used_memory.
            if bytes.capacity <= Self.keptArgumentBytes { swap(&bytes, &self.argumentBytes) }
            if descriptors.capacity <= Self.keptArgumentBytes / MemoryLayout<swiftlet_bytes>.stride {
                swap(&descriptors, &self.descriptors)
            }
        }
        let status = bytes.withUnsafeBufferPointer { raw in
            let base = UnsafeRawPointer(raw.baseAddress!).assumingMemoryBound(to: CChar.self)
            descriptors.removeAll(keepingCapacity: true)
            var offset = 0
            func describe(_ buffers: ArraySlice<ByteBuffer>) {
                for buffer in buffers {
                    descriptors.append(swiftlet_bytes(data: base + offset, length: buffer.readableBytes))
                    offset += buffer.readableBytes
                }
            }
            describe(keys)
            describe(arguments)
            return descriptors.withUnsafeBufferPointer { all in
                label.withCString { label in
                    var ref: Int32 = -1
                    var name: String? = nil
                    switch entry {
                    case .reference(let reference): ref = reference
                    case .registered(let registered): name = registered
                    }
                    return withOptionalCString(name) { name in
                        swiftlet_vm_run(
                            self.vm,
                            ref,
                            name,
                            label,
                            all.baseAddress,
                            Int32(keys.count),
                            all.baseAddress.map { $0 + keys.count },
                            Int32(arguments.count),
                            Int32(callerResp),
                            hook ? 1 : 0
                        )
                    }
                }
            }
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

/// The host behind a stable pointer for the C callbacks. Not retained: the host owns its VMs, and calls into one only
/// while it is alive (a weak reference would cost every redis.call a weak load).
private final class HostBox {
    unowned(unsafe) let host: any ScriptVMHost
    init(_ host: any ScriptVMHost) { self.host = host }
}

/// `body` with a C string of `text`, or with NULL.
private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
