import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The incremental file commands are appended to: plain `write(2)`s from the event loop, and `fsync(2)` either
/// inline (appendfsync always) or on a background thread (everysec), as Redis's bio thread does.
public final class AOFFile: @unchecked Sendable {
    // `@unchecked Sendable`: `fd` and `size` are only changed on the owner's thread; the background fsync only reads
    // `fd`, and `close` waits for it first. `syncing` is atomic.
    public let path: String
    private var fd: Int32
    /// Bytes in the file.
    public private(set) var size: Int
    private let syncQueue = DispatchQueue(label: "swiftlet.aof-fsync")
    private let syncing = Atomic<Bool>(false)

    /// Opens (creating if needed) `path` for appending.
    public init(path: String) throws(AOFError) {
        self.path = path
        self.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if self.fd < 0 {
            throw AOFError(.io("Can't open the append-only file \(path): \(AOFFile.errorText())"), offset: 0)
        }
        var info = stat()
        self.size = fstat(self.fd, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Writes every byte, retrying short writes. On an error the bytes written so far stay in the file and are
    /// reported in the error's offset (the caller truncates them away, as Redis does after a partial write).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(AOFError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(self.fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                let message = AOFFile.errorText()
                if done > 0 { _ = ftruncate(self.fd, off_t(self.size)) }
                throw AOFError(.io(message), offset: self.size)
            }
            done += n
        }
        self.size += done
    }

    /// fsync on the calling thread (appendfsync always, rewrites, shutdown).
    public func sync() throws(AOFError) {
        self.syncQueue.sync {}
        if fdatasync(self.fd) != 0 { throw AOFError(.io("fsync: \(AOFFile.errorText())"), offset: self.size) }
    }

    /// Whether a background fsync is running (Redis's `aof_pending_bio_fsync`).
    public var backgroundSyncPending: Bool { self.syncing.load(ordering: .relaxed) }

    /// Starts an fsync on the background thread unless one is running (appendfsync everysec).
    /// - Returns: whether one was started.
    @discardableResult
    public func syncInBackground() -> Bool {
        guard !self.syncing.exchange(true, ordering: .acquiring) else { return false }
        let fd = self.fd
        self.syncQueue.async {
            _ = fdatasync(fd)
            self.syncing.store(false, ordering: .releasing)
        }
        return true
    }

    /// Waits for a background fsync, then closes the file.
    public func close() {
        self.syncQueue.sync {}
        guard self.fd >= 0 else { return }
        _ = Glibc.close(self.fd)
        self.fd = -1
    }

    deinit {
        if self.fd >= 0 { _ = Glibc.close(self.fd) }
    }

    static func errorText() -> String { String(cString: strerror(Glibc.errno)) }

    // MARK: - Whole files

    /// Writes `bytes` to `path` through a temp file: write, fsync, rename, fsync the directory.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, tempPath: String) throws(AOFError) {
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw AOFError(.io("Can't open \(tempPath): \(Self.errorText())"), offset: 0) }
        var ok = bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if Glibc.errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        let message = Self.errorText()
        _ = Glibc.close(fd)
        guard ok, rename(tempPath, path) == 0 else {
            unlink(tempPath)
            throw AOFError(.io("Can't write \(path): \(message)"), offset: 0)
        }
        RDBWriter.syncDirectory(of: path)
    }

    /// Reads a whole file.
    public static func read(_ path: String) throws(AOFError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw AOFError(.io("Can't open \(path): \(Self.errorText())"), offset: 0) }
        defer { _ = Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw AOFError(.io("Can't stat \(path): \(Self.errorText())"), offset: 0) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw AOFError(.io("Can't read \(path): \(Self.errorText())"), offset: done)
            }
            if n == 0 { break }
            done += n
        }
        if done < bytes.count { bytes.removeLast(bytes.count - done) }
        return bytes
    }

    /// `dir/name`, or `name` when `dir` is empty.
    /// Renames a file of the AOF directory; the error text (strerror) on failure.
    public static func move(_ from: String, to: String) -> String? {
        rename(from, to) == 0 ? nil : Self.errorText()
    }

    /// Deletes a file of the AOF directory. Returns `false` when it could not (it may already be gone).
    @discardableResult
    public static func delete(_ path: String) -> Bool {
        unlink(path) == 0
    }

    /// Creates a directory unless it exists; the error text (strerror) on failure.
    public static func createDirectory(_ path: String) -> String? {
        guard mkdir(path, 0o755) != 0 && errno != EEXIST else { return nil }
        return Self.errorText()
    }

    public static func join(_ dir: String, _ name: String) -> String {
        if dir.isEmpty { return name }
        return dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }
}
