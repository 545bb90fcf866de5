import NIOCore
import SwiftletRESP

/// This server's link to its master while it is a replica (REPLICAOF host port): where the synchronisation stands,
/// the connection, the RDB being received, and the master's client that applies the stream (Redis's
/// `server.masterhost`, `repl_state`, `repl_transfer_*` and `server.master`).
///
/// The work is in `ServerState+MasterLink.swift`; the transport (SwiftletServer's MasterConnection) only carries
/// bytes.
public final class MasterLink {
    /// Where the link stands (Redis's REPL_STATE_*; the handshake's steps are `handshake` with `awaiting`).
    public enum State: Sendable, Equatable {
        /// Must connect: the cron connects once a second.
        case connect
        /// The TCP connection is being opened.
        case connecting
        /// Connected: PING, AUTH, REPLCONF and PSYNC are exchanged.
        case handshake
        /// `+FULLRESYNC` came: the RDB is being received.
        case transfer
        /// The RDB is loaded (or the PSYNC continued): the stream is applied.
        case connected
    }

    /// The handshake replies still awaited, in the order the requests went (Redis's REPL_STATE_RECEIVE_*).
    enum Reply {
        case ping, auth, port, ip, capa, psync
    }

    public let host: String
    public let port: Int
    public internal(set) var state = State.connect
    var awaiting: [Reply] = []
    var transport: (any MasterTransport)?
    /// Unix seconds of the last bytes from the master (or of the connection attempt): the timeouts, and INFO's
    /// `master_last_io_seconds_ago`.
    var lastIO: Int64 = 0
    /// Unix seconds since when the link is down (INFO's `master_link_down_since_seconds`), 0 when it never was up.
    var downSince: Int64 = 0

    /// Whether PSYNC may ask to continue from this server's replication id and offset (Redis's cached master): after
    /// it was a master, or after a link that was up dropped; not after a full sync was announced (the data is about to
    /// be replaced) and not on a replica started from a config file with no replication history.
    var hasHistory = false
    /// `+FULLRESYNC <replid> <offset>`: the history the RDB being received starts.
    var masterID = ""
    var initialOffset: Int64 = 0
    /// The database the master's stream has selected, kept while the link is down: a partial resync continues in it
    /// (Redis keeps it in its cached master). A full sync starts in the RDB's `repl-stream-db`.
    var streamDatabase = 0

    // MARK: The RDB transfer

    /// The payload's length (`$<length>`), or -1 while its header has not come or it ends with a mark.
    var transferSize: Int64 = -1
    /// `$EOF:<40 bytes>`: the payload ends with these bytes instead of having a length.
    var endMark: [UInt8]?
    var transferRead: Int64 = 0
    /// The last bytes received, to find the end mark.
    var transferTail: [UInt8] = []
    /// The temporary file the payload goes to (Redis's `temp-<unixtime>.<pid>.rdb` in `dir`).
    var transferFile: Int32 = -1
    var transferPath = ""
    /// Unix seconds of the last payload bytes (INFO's `master_sync_last_io_seconds_ago`).
    var transferLastIO: Int64 = 0
    /// `repl-diskless-load swapdb` (or `on-empty-db` with no keys): the transfer counts as the load, as Redis's
    /// parsing from the socket does: INFO's `loading` (or `async_loading`, when the master continues this server's
    /// own replication id and the old data stays readable), and -LOADING for what Redis refuses meanwhile. The payload
    /// still goes through a temporary file, loaded at its end; the dump file is left as it was.
    var disklessLoad = false
    var asyncLoading = false
    /// Whether the header (`$...`) has come.
    var transferStarted: Bool { self.transferSize >= 0 || self.endMark != nil }

    // MARK: The stream

    /// The master's client: runs the stream's commands, with replies dropped.
    var session: ClientSession?
    var context: CommandContext?
    var parser = RESPRequestParser()
    /// Bytes received and not yet applied (a partial command): INFO's `slave_read_repl_offset` counts them.
    var unapplied = 0
    /// Bytes of stream applied in the running read and not yet fed to the backlog: the offset an ACK reports
    /// includes them.
    var pendingFeed = 0
    /// Bytes of an open MULTI from earlier reads: applied (queued), not yet counted in the offset until its EXEC.
    var held: [UInt8] = []

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// ROLE's state word.
    var roleState: String {
        switch self.state {
        case .connect: "connect"
        case .connecting: "connecting"
        case .handshake: "handshake"
        case .transfer: "sync"
        case .connected: "connected"
        }
    }
}

/// The master's client has no socket of its own: its connection is the link's, and what the engine would write to it
/// (replies) is dropped; GETACK's ACK goes through the link.
final class MasterClientConnection: ClientConnection {
    unowned(unsafe) let server: ServerState
    weak var session: ClientSession?

    init(server: ServerState) {
        self.server = server
    }

    func close() {
        // CLIENT KILL TYPE master: the link drops, and comes back with a partial resync.
        self.server.masterLinkLost(reason: "killed")
    }

    func deliverUnblocked(_ reply: ByteBuffer) {}

    func flushOutbox() {
        self.session?.outbox.clear()
    }

    func resumePostponed() {}
}
