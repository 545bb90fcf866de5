import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The direct write both front ends use: while NIO holds no bytes for a connection, its replies go to the socket
/// with one `send(2)`, which costs about a microsecond less per write than NIO's pipeline and pending-write
/// bookkeeping (a fifth of the server's user time per request without pipelining). What the socket does not take
/// goes through NIO's write path after it, by the caller.
enum SocketWrite {
    /// Sends as much of `bytes` as the socket takes now, moving its reader index past what was sent.
    /// - Returns: true when every byte was sent.
    static func sendNow(_ socket: Int32, _ bytes: inout ByteBuffer) -> Bool {
        while true {
            let written = bytes.withUnsafeReadableBytes { raw -> Int in
                #if canImport(Darwin)
                Darwin.send(socket, raw.baseAddress, raw.count, 0)
                #else
                Glibc.send(socket, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
                #endif
            }
            if written == bytes.readableBytes {
                bytes.moveReaderIndex(forwardBy: written)
                return true
            }
            if written > 0 {
                bytes.moveReaderIndex(forwardBy: written)
                continue
            }
            if written < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// The connection's socket descriptor, or -1 when the transport does not expose one.
    static func descriptor(of context: ChannelHandlerContext) -> Int32 {
        if #available(macOS 13, iOS 16, tvOS 16, watchOS 9, *) {
            let handle = try? context.pipeline.syncOperations.withUnsafeTransportIfAvailable(
                of: NIOBSDSocket.Handle.self
            ) { $0 }
            return handle.flatMap { $0 } ?? -1
        }
        return -1
    }
}
