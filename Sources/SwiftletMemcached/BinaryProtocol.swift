import NIOCore
import SwiftletMemcachedStore

/// The binary protocol's request header (24 bytes).
struct BinaryHeader {
    var opcode: UInt8 = 0
    var keyLength = 0
    var extrasLength = 0
    var bodyLength = 0
    var opaque: UInt32 = 0
    var cas: UInt64 = 0
}

/// Per-connection state of the binary protocol.
struct BinaryState {}

extension MemcachedConnection {
    func processBinary(_ input: inout ByteBuffer, into out: inout ByteBuffer) -> Outcome {
        .close
    }

    func completeBinaryStore(_ pending: Pending, into out: inout ByteBuffer) {
        self.store.discard(pending.item)
    }
}
