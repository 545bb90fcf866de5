import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `--pipe` makes of the server's replies, as redis-cli's `pipeMode` counts them: every reply counts, every
/// error is printed, and the reply to its own end-of-stream `ECHO` ends the transfer without being counted.
struct PipeReplyCounter: Sendable, Hashable {
    /// The 20 random bytes the final `ECHO` carries.
    let marker: [UInt8]
    var errors: Int64 = 0
    var replies: Int64 = 0
    /// Whether the `ECHO` was queued: only a reply after that can be its reply.
    var markerSent = false
    /// Whether the reply to the `ECHO` came back.
    var done = false

    init(marker: [UInt8]) {
        self.marker = marker
    }

    /// The command that ends the stream: it starts with CRLF (which the server skips) so that it is still read as
    /// a command after a stream that ends in a truncated one.
    var markerCommand: [UInt8] {
        Array("\r\n*2\r\n$4\r\nECHO\r\n$20\r\n".utf8) + self.marker + [13, 10]
    }

    /// Counts one reply.
    /// - Returns: the line to print on stderr (an error reply's text), or `nil`.
    mutating func count(_ reply: RESPValue) -> [UInt8]? {
        self.replies += 1
        switch reply {
        case .error(let text):
            self.errors += 1
            return Array(text.readableBytesView) + [10]
        case .bulkString(let text?) where self.markerSent && text.readableBytes == 20:
            if Array(text.readableBytesView) == self.marker {
                self.done = true
                self.replies -= 1
            }
            return nil
        default:
            return nil
        }
    }

    /// redis-cli's last line.
    var summary: String { "errors: \(self.errors), replies: \(self.replies)\n" }

    /// 20 random bytes, any values.
    static func randomMarker() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

extension Session {
    /// redis-cli writes at most this much before it looks at the replies again.
    static let pipeWriteBurst = 128 * 1024

    /// `--pipe`: copies stdin (raw RESP) to the server while reading its replies, then sends the `ECHO` marker and
    /// waits for its reply, or gives up after `--pipe-timeout` seconds without a reply (0: never).
    /// - Returns: the exit status: 1 when any reply was an error or the transfer failed.
    mutating func runPipe() -> Int32 {
        guard self.connect(quiet: false), let connection = self.connection else { return 1 }
        connection.setNonBlocking()
        var counter = PipeReplyCounter(marker: PipeReplyCounter.randomMarker())
        var output = [UInt8](repeating: 0, count: 16 * 1024)
        var pending: ArraySlice<UInt8> = []
        var endOfInput = false
        var lastReply = time(nil)
        while !counter.done {
            // Once everything is written, wait for replies only (redis-cli spins on a writable socket here).
            let events = endOfInput && pending.isEmpty ? POLLIN : POLLIN | POLLOUT
            var descriptor = pollfd(fd: connection.fileDescriptor, events: Int16(events), revents: 0)
            let ready = poll(&descriptor, 1, 1000)
            if ready > 0 && descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                var readFailed = false
                do {
                    try connection.readAvailable()
                } catch {
                    // As redis-cli: the replies already read are still counted, then the program ends.
                    readFailed = true
                }
                do {
                    while let reply = try connection.bufferedReply() {
                        lastReply = time(nil)
                        if let line = counter.count(reply) { FileOutput.standardError.write(line) }
                        if counter.done {
                            FileOutput.standardOutput.write("Last reply received from server.\n")
                        }
                    }
                } catch {
                    FileOutput.standardError.write("Error reading replies from server\n")
                    return 1
                }
                if readFailed { return 1 }
            }
            if ready > 0 && descriptor.revents & Int16(POLLOUT) != 0 {
                var written = 0
                while true {
                    if !pending.isEmpty {
                        let count: Int
                        do {
                            count = try connection.writeSome(pending)
                        } catch {
                            FileOutput.standardError.write("Error writing to the server: \(error.message)\n")
                            return 1
                        }
                        pending = pending.dropFirst(count)
                        written += count
                        if !pending.isEmpty { break }
                    }
                    if pending.isEmpty && !endOfInput {
                        // An empty slice still shares `output`'s storage: drop it, or the read below copies 16 KiB.
                        pending = []
                        let count = output.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                        if count == 0 {
                            endOfInput = true
                            counter.markerSent = true
                            pending = counter.markerCommand[...]
                            FileOutput.standardOutput.write("All data transferred. Waiting for the last reply...\n")
                        } else if count < 0 {
                            if errno == EINTR { continue }
                            let reason = String(cString: strerror(errno))
                            FileOutput.standardError.write("Error reading from stdin: \(reason)\n")
                            return 1
                        } else {
                            pending = output[0..<count]
                        }
                    }
                    if (pending.isEmpty && endOfInput) || written > Self.pipeWriteBurst { break }
                }
            }
            let timeout = self.options.pipeTimeout
            if endOfInput && timeout > 0 && time(nil) - lastReply > timeout {
                FileOutput.standardError.write("No replies for \(timeout) seconds: exiting.\n")
                counter.errors += 1
                break
            }
        }
        FileOutput.standardOutput.write(counter.summary)
        return counter.errors > 0 ? 1 : 0
    }
}
