import Logging
import NIOCore
import SwiftletEngine
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The engine's host in a server process: the one event loop for time and hops, the logger, and the server for
/// SHUTDOWN. Everything the engine asks of its process goes through here (see EngineHost.swift).
final class LoopHost: EngineHost {
    private unowned let core: ServerCore
    private let loop: any EventLoop
    /// Made once and handed to `execute` on every loop iteration that has replies to write: scheduling the flush
    /// allocates nothing.
    private let flushOutboxes: @Sendable () -> Void
    /// SHUTDOWN's target; set by `Server.start()`, so a server that only loads its data refuses nothing and stops
    /// nothing.
    weak var server: Server?

    init(core: ServerCore) {
        self.core = core
        self.loop = core.loop
        self.flushOutboxes = { core.state.flushOutboxes() }
    }

    func schedule(afterMicroseconds microseconds: Int64, _ body: @escaping () -> Void) {
        // Always a timer, even for a gap of a few microseconds: NIO runs the tasks a task enqueues in the same tick,
        // before polling the sockets again, so `execute` here would run a whole snapshot's slices back to back and
        // starve every client. The timer's sleep (epoll counts milliseconds) is what lets their requests in.
        self.loop.assumeIsolated().scheduleTask(in: .microseconds(microseconds), body)
    }

    var loopHop: @Sendable (@escaping @Sendable () -> Void) -> Void {
        let loop = self.loop
        return { body in loop.execute(body) }
    }

    func scheduleBeforeSleep() {
        self.loop.execute(self.flushOutboxes)
    }

    func log(warning: Bool, _ message: String) {
        if warning {
            self.core.logger.warning("\(message)")
        } else {
            self.core.logger.notice("\(message)")
        }
    }

    func requestShutdown(_ request: ShutdownRequest) -> String? {
        guard let server = self.server else { return nil }
        self.core.logger.notice("User requested shutdown...", metadata: ["mode": "\(request)"])
        // Close after this event loop turn so that the SHUTDOWN request finishes first.
        self.loop.execute { server.beginShutdown() }
        return nil
    }

    func relisten() -> Bool {
        // Before `start()` there are no listeners to move: the new values apply when it binds.
        self.server?.relisten() ?? true
    }

    func acceptWhileBusy() {
        self.server?.acceptWhileBusy()
    }

    func connectToMaster(
        host: String,
        port: Int,
        timeoutSeconds: Int64,
        events: any MasterLinkEvents
    ) -> (any MasterTransport)? {
        MasterConnection.open(host: host, port: port, timeoutSeconds: timeoutSeconds, loop: self.loop, events: events)
    }

    func roleChanged(replica: Bool) {
        RedisLogHandler.role.store(UInt8(ascii: replica ? "S" : "M"), ordering: .relaxed)
    }

    func sleep(seconds: Double) {
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        nanosleep(&ts, nil)
    }
}
