import NIOCore
import SwiftletConfig
import SwiftletRESP

/// MONITOR: every command the server runs, as one status line per command sent to the monitoring clients
/// (replicationFeedMonitors in Redis), and CLIENT REPLY's reply suppression.
enum MonitorCommands {
    /// MONITOR — O(1). The client stays a monitor until RESET or disconnect; asking again replies nothing.
    static func monitor(_ context: inout CommandContext) throws(RedisError) {
        let session = context.session
        if session.isMonitor { return }
        session.isMonitor = true
        context.server.monitors.append(session)
        context.out.writeOK()
    }

    /// CLIENT REPLY ON|OFF|SKIP — O(1). OFF and SKIP reply nothing; SKIP drops the next command's reply.
    static func clientReply(_ context: inout CommandContext) throws(RedisError) {
        let session = context.session
        if context.argument(2, is: "on") {
            session.replyControl.remove([.off, .skipNext, .skipThis])
            context.out.writeOK()
        } else if context.argument(2, is: "off") {
            session.replyControl.insert(.off)
        } else if context.argument(2, is: "skip") {
            if !session.replyControl.contains(.off) { session.replyControl.insert(.skipNext) }
        } else {
            throw RedisError.syntax
        }
    }

    /// The line monitors see for a command: `+<seconds>.<micros> [<db> <addr>] "ARG" ...`, each argument quoted
    /// as Redis's sdscatrepr does, passwords of AUTH and HELLO AUTH replaced by `(redacted)`.
    static func line(_ context: CommandContext, microseconds: Int64) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeString("\(microseconds / 1_000_000).")
        let fraction = String(microseconds % 1_000_000)
        out.writeString(String(repeating: "0", count: 6 - fraction.count) + fraction)
        out.writeString(" [\(context.session.database) \(context.session.address)]")
        let redacted = Self.redactedArguments(context)
        for (i, argument) in context.arguments.enumerated() {
            out.writeStaticString(" ")
            if redacted.contains(i) {
                out.writeStaticString("\"(redacted)\"")
            } else {
                Self.writeQuoted(argument, to: &out)
            }
        }
        var frame = RESPReplyWriter(buffer: ByteBuffer(), version: .resp2)
        frame.writeSimpleString(bytes: out)
        return frame.buffer
    }

    /// The argument indexes that carry secrets: AUTH's, HELLO AUTH's, and the values CONFIG SET gives sensitive
    /// parameters (Redis redacts those whenever the pairs are complete, even if the command fails).
    static func redactedArguments(_ context: CommandContext) -> Set<Int> {
        guard context.count > 1 else { return [] }
        if context.arguments[0].equalsCaseInsensitive("auth") { return Set(1..<context.count) }
        if context.arguments[0].equalsCaseInsensitive("config"), context.argument(1, is: "set"),
            context.count >= 4, context.count % 2 == 0
        {
            return Set(
                stride(from: 2, to: context.count, by: 2).filter {
                    context.server.config.isSensitive(
                        String(decoding: context.arguments[$0].readableBytesView, as: UTF8.self)
                    )
                }.map { $0 + 1 }
            )
        }
        if context.arguments[0].equalsCaseInsensitive("hello") {
            for i in 2..<context.count where context.argument(i, is: "auth") && i + 2 < context.count {
                return [i + 1, i + 2]
            }
        }
        return []
    }

    /// Redis's sdscatrepr: `"` quoted, `\\` `\"` `\n` `\r` `\t` `\a` `\b` escaped, other non-printables as `\xhh`.
    static func writeQuoted(_ argument: ByteBuffer, to out: inout ByteBuffer) {
        out.writeStaticString("\"")
        for byte in argument.readableBytesView {
            switch byte {
            case UInt8(ascii: "\\"): out.writeStaticString("\\\\")
            case UInt8(ascii: "\""): out.writeStaticString("\\\"")
            case UInt8(ascii: "\n"): out.writeStaticString("\\n")
            case UInt8(ascii: "\r"): out.writeStaticString("\\r")
            case UInt8(ascii: "\t"): out.writeStaticString("\\t")
            case 7: out.writeStaticString("\\a")
            case 8: out.writeStaticString("\\b")
            case 0x20...0x7e: out.writeInteger(byte)
            default:
                let digits: [UInt8] = Array("0123456789abcdef".utf8)
                out.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 15)]])
            }
        }
        out.writeStaticString("\"")
    }

    static let specs: [CommandSpec] = [
        .init("monitor", arity: 1, flags: [.admin, .noscript, .loading, .stale], group: "server", run: monitor)
    ]
}

/// CLIENT REPLY state of a client.
public struct ReplyControl: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// CLIENT REPLY OFF: no replies until CLIENT REPLY ON.
    static let off = ReplyControl(rawValue: 1)
    /// CLIENT REPLY SKIP was just sent: the next command's reply is dropped.
    static let skipNext = ReplyControl(rawValue: 2)
    /// The running command's reply is dropped.
    static let skipThis = ReplyControl(rawValue: 4)
}
