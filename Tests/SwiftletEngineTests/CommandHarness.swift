import NIOCore
import SwiftletConfig
import SwiftletEngine
import SwiftletKeyspace
import SwiftletRESP

/// Runs commands in-process through the real dispatcher, with an injected clock, and decodes the replies.
///
///     let h = CommandHarness()
///     #expect(h.run("SET", "k", "v") == .ok)
///     h.advance(by: 1500)   // milliseconds
final class CommandHarness {
    final class Clock: @unchecked Sendable {
        var now: Int64 = 1_700_000_000_000
    }

    let clock = Clock()
    let state: ServerState
    var context: CommandContext

    init(
        protocolVersion: RESPVersion = .resp2,
        config: ConfigStore = ConfigStore(),
        memoryGauge: ((ServerState) -> Int)? = nil
    ) {
        let clock = self.clock
        let gauge = GaugeBox()
        self.state = ServerState(
            config: config,
            clock: { clock.now },
            memoryGauge: memoryGauge.map { measure in { gauge.state.map(measure) ?? 0 } }
        )
        gauge.state = self.state
        let session = self.state.connect(address: "127.0.0.1:5000", localAddress: "127.0.0.1:6379")
        session.protocolVersion = protocolVersion
        self.context = CommandContext(session: session, server: self.state, out: ByteBuffer())
    }

    /// Moves the injected clock forward.
    func advance(by milliseconds: Int64) {
        self.clock.now += milliseconds
    }

    /// The raw reply bytes of one command.
    func raw(_ arguments: [[UInt8]]) -> String {
        self.context.arguments = arguments.map { ByteBuffer(bytes: $0) }
        self.context.out.buffer.clear()
        self.state.execute(&self.context)
        return String(buffer: self.context.out.buffer)
    }

    /// The reply's bytes as they are (for replies that are not UTF-8).
    func rawBytes(_ arguments: [[UInt8]]) -> [UInt8] {
        _ = self.raw(arguments)
        return Array(self.context.out.buffer.readableBytesView)
    }

    func raw(_ arguments: String...) -> String {
        self.raw(arguments.map { Array($0.utf8) })
    }

    /// The decoded reply of one command.
    @discardableResult
    func run(_ arguments: [[UInt8]]) -> RESPValue {
        _ = self.raw(arguments)
        var out = self.context.out.buffer
        // A reply that does not decode is a test failure, reported as an error value.
        return (try? RESPValueDecoder().decode(&out)) ?? .error(ByteBuffer(string: "UNDECODABLE"))
    }

    @discardableResult
    func run(_ arguments: String...) -> RESPValue {
        self.run(arguments.map { Array($0.utf8) })
    }

    var db: Database { self.state.keyspace[self.context.session.database] }
}

/// Lets an injected memory gauge read the state it measures (created after the gauge).
private final class GaugeBox: @unchecked Sendable {
    weak var state: ServerState?
}

extension RESPValue {
    static let ok = RESPValue.simpleString(ByteBuffer(string: "OK"))
    static let nullBulk = RESPValue.bulkString(nil)

    static func bulk(_ s: String) -> RESPValue { .bulkString(ByteBuffer(string: s)) }
    static func err(_ s: String) -> RESPValue { .error(ByteBuffer(string: s)) }
    static func int(_ i: Int64) -> RESPValue { .integer(i) }
    static func list(_ items: [RESPValue]) -> RESPValue { RESPValue.array(Optional(items)) }
    static func bulks(_ items: [String]) -> RESPValue { RESPValue.array(Optional(items.map { .bulk($0) })) }
}
