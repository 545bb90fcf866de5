public import NIOCore

// The engine's side of the boundary with whatever carries its clients' bytes (the NIO server in SwiftletServer,
// later a memcached front end): the two protocols below are everything the engine asks of a transport, so that a
// new front end implements them and never reaches into the engine's RESP path.
//
// A ``ServerState`` without a host (the embedded store, unit tests) runs everything within the command: a
// BGSAVE walks and writes its whole snapshot at once, replies and frames are flushed at the end of each read batch.

/// What the engine asks of the process that runs it: time, the loop, the log, the process itself. Every method is
/// called on the engine's event loop.
public protocol EngineHost: AnyObject {
    /// Runs `body` on the engine's loop after `microseconds` (BGSAVE's walk slices, the end of a CLIENT PAUSE).
    func schedule(afterMicroseconds microseconds: Int64, _ body: @escaping () -> Void)
    /// A function that runs a body on the engine's loop from any thread (a background writer's completion). Asked
    /// for on the loop, handed to the other thread.
    var loopHop: @Sendable (@escaping @Sendable () -> Void) -> Void { get }
    /// Runs ``ServerState/flushOutboxes()`` once the loop has handled its current round of reads (Redis's
    /// `beforeSleep`). The engine asks at most once per round.
    func scheduleBeforeSleep()
    /// Writes a line to the server log, at notice level or at warning level.
    func log(warning: Bool, _ message: String)
    /// SHUTDOWN: stops the process after the current command. Returns an error text when it refuses.
    func requestShutdown(_ request: ShutdownRequest) -> String?
    /// CONFIG SET port / bind: listens on the new `bind` addresses and `port` in place of the current listeners.
    /// Returns `false` when one could not be bound; the listeners are then as they were.
    func relisten() -> Bool
    /// DEBUG SLEEP: blocks the loop.
    func sleep(seconds: Double)
    /// A script passed busy-reply-threshold and still runs on the loop (``ServerState/processEventsWhileBusy()``):
    /// accept the clients waiting to connect, so that they are read with the others (a new client's SCRIPT KILL).
    func acceptWhileBusy()
    /// The server became a replica (REPLICAOF) or a master again: the log shows it (Redis's role letter).
    func roleChanged(replica: Bool)
    /// REPLICAOF: opens a TCP connection to a master for this server's link to it. `events` hears of the connection
    /// (or its failure), the master's bytes and the end, always on the loop and never inside this call. Returns
    /// `nil` when this host cannot connect anywhere (an embedded store).
    func connectToMaster(
        host: String,
        port: Int,
        timeoutSeconds: Int64,
        events: any MasterLinkEvents
    ) -> (any MasterTransport)?
}

extension EngineHost {
    public func acceptWhileBusy() {}
    public func roleChanged(replica: Bool) {}
    public func connectToMaster(
        host: String,
        port: Int,
        timeoutSeconds: Int64,
        events: any MasterLinkEvents
    ) -> (any MasterTransport)? { nil }
}

/// The transport's side of a replica's connection to its master: the engine writes the handshake, the ACKs and
/// its replies to GETACK through it, and closes it. Called on the loop.
public protocol MasterTransport: AnyObject {
    func send(_ bytes: ByteBuffer)
    func close()
}

/// What the transport tells the engine about a connection to a master (Replication/MasterLink.swift). Every call
/// names the transport, so that news from a connection the engine already gave up is ignored.
public protocol MasterLinkEvents: AnyObject {
    /// The TCP connection is up.
    func masterConnected(_ transport: any MasterTransport)
    /// Bytes from the master; the engine takes what it can use from `buffer` and leaves the rest for later.
    func masterReceived(_ transport: any MasterTransport, _ buffer: inout ByteBuffer)
    /// The connection failed to open, or closed.
    func masterClosed(_ transport: any MasterTransport, reason: String)
}

/// What the engine asks of one client's connection. The transport owns the bytes in flight: the engine hands it
/// replies and frames, the transport decides when they reach the socket. Called on the engine's loop.
public protocol ClientConnection: AnyObject {
    /// Closes the connection from outside its own request (CLIENT KILL, SHUTDOWN).
    func close()
    /// The client's wait ended (served, timed out, CLIENT UNBLOCK): write `reply`, then go on reading its requests
    /// on a later turn of the loop.
    func deliverUnblocked(_ reply: ByteBuffer)
    /// Writes the session's `outbox` (frames other clients' commands queued for it, held replies) and empties it.
    func flushOutbox()
    /// The CLIENT PAUSE that held this client's `postponed` command ended: run it on a later turn of the loop.
    func resumePostponed()
    /// A script passed busy-reply-threshold and still runs on the loop (``ServerState/processEventsWhileBusy()``):
    /// read what the client has sent, without waiting, and run it now. The engine answers -BUSY to all but the
    /// allow-busy commands (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE...). A transport that cannot read outside its
    /// loop's turn leaves the bytes for later.
    func readWhileBusy()
}

extension ClientConnection {
    public func readWhileBusy() {}
}
