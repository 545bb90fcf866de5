import NIOCore
import SwiftletMemcached
import SwiftletMemcachedStore
import Testing

/// The binary protocol, request bytes in and reply bytes out, against what memcached 1.6.18 answers.
///
/// Unless a test says otherwise, each expected reply below was observed from the real memcached 1.6.18
/// (`memcached -u root -p PORT -U 0 -l 127.0.0.1`, a fresh process per test): a small Python script sent the same
/// request bytes, one step per `requests` element on one connection, and recorded what came back after each step
/// (and whether the server closed the connection). The bytes were pasted here as hex, one packet per string
/// (header, then body); the comments decode them.
@Suite struct BinaryProtocolTests {
    @Test func getMiss() {
        let requests: [[UInt8]] = [
            request(.get, key: b("k"), opaque: 0x0102_0304)
        ]
        let expected: [[String]] = [
            [
                // op 00 status 1 opaque 16909060 cas 0 value 'Not found'
                "810000000000000100000009010203040000000000000000" + "4e6f7420666f756e64"
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func setAndGets() {
        let requests: [[UInt8]] = [
            request(.set, key: b("k"), extras: setExtras(0xdead_beef, 0), value: b("hello"), opaque: 0x1122_3344)
                + request(.get, key: b("k"), opaque: 1) + request(.getk, key: b("k"), opaque: 2)
                + request(.getq, key: b("k"), opaque: 3) + request(.getkq, key: b("k"), opaque: 4)
                + request(.getq, key: b("nope"), opaque: 5) + request(.getkq, key: b("nope"), opaque: 6)
                + request(.getk, key: b("nope"), opaque: 7) + request(.noop, opaque: 8)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 287454020 cas 1
                "810100000000000000000000112233440000000000000001",
                // op 00 status 0 opaque 1 cas 1 value 'hello'
                "810000000400000000000009000000010000000000000001" + "deadbeef68656c6c6f",
                // op 0c status 0 opaque 2 cas 1 key 'k' value 'hello'
                "810c0001040000000000000a000000020000000000000001" + "deadbeef6b68656c6c6f",
                // op 09 status 0 opaque 3 cas 1 value 'hello'
                "810900000400000000000009000000030000000000000001" + "deadbeef68656c6c6f",
                // op 0d status 0 opaque 4 cas 1 key 'k' value 'hello'
                "810d0001040000000000000a000000040000000000000001" + "deadbeef6b68656c6c6f",
                // op 0c status 1 opaque 7 cas 0 key 'nope'
                "810c00040000000100000004000000070000000000000000" + "6e6f7065",
                // op 0a status 0 opaque 8 cas 0
                "810a00000000000000000000000000080000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func storeModes() {
        let requests: [[UInt8]] = [
            request(.set, key: b("a"), extras: setExtras(0, 0), value: b("1"), opaque: 1)
                + request(.add, key: b("a"), extras: setExtras(0, 0), value: b("2"), opaque: 2)
                + request(.replace, key: b("b"), extras: setExtras(0, 0), value: b("3"), opaque: 3)
                + request(.addq, key: b("b"), extras: setExtras(5, 0), value: b("4"), opaque: 4)
                + request(.addq, key: b("b"), extras: setExtras(5, 0), value: b("5"), opaque: 5)
                + request(.replaceq, key: b("c"), extras: setExtras(0, 0), value: b("6"), opaque: 6)
                + request(.replace, key: b("b"), extras: setExtras(7, 0), value: b("77"), opaque: 7)
                + request(.set, key: b("a"), extras: setExtras(0, 0), value: b("x"), opaque: 8, cas: 99)
                + request(.set, key: b("zz"), extras: setExtras(0, 0), value: b("x"), opaque: 9, cas: 99)
                + request(.set, key: b("a"), extras: setExtras(0, 0), value: b("y"), opaque: 10, cas: 1)
                + request(.add, key: b("a"), extras: setExtras(0, 0), value: b("z"), opaque: 11, cas: 4)
                + request(.replaceq, key: b("a"), extras: setExtras(0, 0), value: b("w"), opaque: 12, cas: 1)
                + request(.setq, key: b("a"), extras: setExtras(0, 0), value: b("v"), opaque: 13)
                + request(.get, key: b("a"), opaque: 14) + request(.get, key: b("b"), opaque: 15)
                + request(.noop, opaque: 16)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 02 status 2 opaque 2 cas 0 value 'Data exists for key.'
                "810200000000000200000014000000020000000000000000" + "446174612065786973747320666f72206b65792e",
                // op 03 status 1 opaque 3 cas 0 value 'Not found'
                "810300000000000100000009000000030000000000000000" + "4e6f7420666f756e64",
                // op 12 status 2 opaque 5 cas 0 value 'Data exists for key.'
                "811200000000000200000014000000050000000000000000" + "446174612065786973747320666f72206b65792e",
                // op 13 status 1 opaque 6 cas 0 value 'Not found'
                "811300000000000100000009000000060000000000000000" + "4e6f7420666f756e64",
                // op 03 status 0 opaque 7 cas 3
                "810300000000000000000000000000070000000000000003",
                // op 01 status 2 opaque 8 cas 0 value 'Data exists for key.'
                "810100000000000200000014000000080000000000000000" + "446174612065786973747320666f72206b65792e",
                // op 01 status 1 opaque 9 cas 0 value 'Not found'
                "810100000000000100000009000000090000000000000000" + "4e6f7420666f756e64",
                // op 01 status 0 opaque 10 cas 4
                "8101000000000000000000000000000a0000000000000004",
                // op 02 status 0 opaque 11 cas 5
                "8102000000000000000000000000000b0000000000000005",
                // op 13 status 2 opaque 12 cas 0 value 'Data exists for key.'
                "8113000000000002000000140000000c0000000000000000" + "446174612065786973747320666f72206b65792e",
                // op 00 status 0 opaque 14 cas 6 value 'v'
                "8100000004000000000000050000000e0000000000000006" + "0000000076",
                // op 00 status 0 opaque 15 cas 3 value '77'
                "8100000004000000000000060000000f0000000000000003" + "000000073737",
                // op 0a status 0 opaque 16 cas 0
                "810a00000000000000000000000000100000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func delete() {
        let requests: [[UInt8]] = [
            request(.delete, key: b("d"), opaque: 1)
                + request(.set, key: b("d"), extras: setExtras(0, 0), value: b("v"), opaque: 2)
                + request(.delete, key: b("d"), opaque: 3, cas: 7) + request(.deleteq, key: b("d"), opaque: 4)
                + request(.deleteq, key: b("d"), opaque: 5)
                + request(.set, key: b("d"), extras: setExtras(0, 0), value: b("v"), opaque: 6)
                + request(.delete, key: b("d"), opaque: 7, cas: 2) + request(.noop, opaque: 8)
        ]
        let expected: [[String]] = [
            [
                // op 04 status 1 opaque 1 cas 0 value 'Not found'
                "810400000000000100000009000000010000000000000000" + "4e6f7420666f756e64",
                // op 01 status 0 opaque 2 cas 1
                "810100000000000000000000000000020000000000000001",
                // op 04 status 2 opaque 3 cas 0 value 'Data exists for key.'
                "810400000000000200000014000000030000000000000000" + "446174612065786973747320666f72206b65792e",
                // op 14 status 1 opaque 5 cas 0 value 'Not found'
                "811400000000000100000009000000050000000000000000" + "4e6f7420666f756e64",
                // op 01 status 0 opaque 6 cas 2
                "810100000000000000000000000000060000000000000002",
                // op 04 status 0 opaque 7 cas 0
                "810400000000000000000000000000070000000000000000",
                // op 0a status 0 opaque 8 cas 0
                "810a00000000000000000000000000080000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func incrementDecrement() {
        let requests: [[UInt8]] = [
            request(.incr, key: b("n"), extras: deltaExtras(1, 5, 0xffff_ffff), opaque: 1)
                + request(.incr, key: b("n"), extras: deltaExtras(1, 10, 0), opaque: 2)
                + request(.incr, key: b("n"), extras: deltaExtras(5, 0, 0), opaque: 3)
                + request(.decr, key: b("n"), extras: deltaExtras(100, 0, 0), opaque: 4)
                + request(.get, key: b("n"), opaque: 5)
                + request(.incrq, key: b("n"), extras: deltaExtras(1000, 0, 0), opaque: 6)
                + request(.get, key: b("n"), opaque: 7)
                + request(.decrq, key: b("m"), extras: deltaExtras(1, 7, 0), opaque: 8)
                + request(.incr, key: b("n"), extras: deltaExtras(1, 0, 0), opaque: 9, cas: 1)
                + request(.set, key: b("s"), extras: setExtras(3, 0), value: b("abc"), opaque: 10)
                + request(.incr, key: b("s"), extras: deltaExtras(1, 0, 0), opaque: 11)
                + request(.decr, key: b("m"), extras: deltaExtras(2, 0, 0), opaque: 12)
                + request(.incr, key: b("big"), extras: deltaExtras(1, 18_446_744_073_709_551_615, 0), opaque: 13)
                + request(.incr, key: b("big"), extras: deltaExtras(1, 0, 0), opaque: 14)
                + request(.get, key: b("big"), opaque: 15)
                + request(.set, key: b("e"), extras: setExtras(0, 0), opaque: 16)
                + request(.incr, key: b("e"), extras: deltaExtras(1, 0, 0), opaque: 17)
                + request(.decr, key: b("zz"), extras: deltaExtras(1, 0, 0xffff_ffff), opaque: 18)
        ]
        let expected: [[String]] = [
            [
                // op 05 status 1 opaque 1 cas 0 value 'Not found'
                "810500000000000100000009000000010000000000000000" + "4e6f7420666f756e64",
                // op 05 status 0 opaque 2 cas 1
                "810500000000000000000008000000020000000000000001" + "000000000000000a",
                // op 05 status 0 opaque 3 cas 2
                "810500000000000000000008000000030000000000000002" + "000000000000000f",
                // op 06 status 0 opaque 4 cas 3
                "810600000000000000000008000000040000000000000003" + "0000000000000000",
                // op 00 status 0 opaque 5 cas 3 value '0 '
                "810000000400000000000006000000050000000000000003" + "000000003020",
                // op 00 status 0 opaque 7 cas 4 value '1000'
                "810000000400000000000008000000070000000000000004" + "0000000031303030",
                // op 05 status 2 opaque 9 cas 0 value 'Data exists for key.'
                "810500000000000200000014000000090000000000000000" + "446174612065786973747320666f72206b65792e",
                // op 01 status 0 opaque 10 cas 6
                "8101000000000000000000000000000a0000000000000006",
                // op 05 status 6 opaque 11 cas 0 value 'Non-numeric server-side value for inc...'
                "81050000000000060000002e0000000b0000000000000000"
                    + "4e6f6e2d6e756d65726963207365727665722d736964652076616c756520666f7220696e6372206f"
                    + "722064656372",
                // op 06 status 0 opaque 12 cas 7
                "8106000000000000000000080000000c0000000000000007" + "0000000000000005",
                // op 05 status 0 opaque 13 cas 8
                "8105000000000000000000080000000d0000000000000008" + "ffffffffffffffff",
                // op 05 status 0 opaque 14 cas 9
                "8105000000000000000000080000000e0000000000000009" + "0000000000000000",
                // op 00 status 0 opaque 15 cas 9 value '0                   '
                "8100000004000000000000180000000f0000000000000009" + "000000003020202020202020202020202020202020202020",
                // op 01 status 0 opaque 16 cas 10
                "81010000000000000000000000000010000000000000000a",
                // op 05 status 6 opaque 17 cas 0 value 'Non-numeric server-side value for inc...'
                "81050000000000060000002e000000110000000000000000"
                    + "4e6f6e2d6e756d65726963207365727665722d736964652076616c756520666f7220696e6372206f"
                    + "722064656372",
                // op 06 status 1 opaque 18 cas 0 value 'Not found'
                "810600000000000100000009000000120000000000000000" + "4e6f7420666f756e64",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func appendPrepend() {
        let requests: [[UInt8]] = [
            request(.append, key: b("p"), value: b("x"), opaque: 1)
                + request(.appendq, key: b("p"), value: b("x"), opaque: 2)
                + request(.prependq, key: b("p"), value: b("x"), opaque: 3)
                + request(.set, key: b("p"), extras: setExtras(9, 0), value: b("b"), opaque: 4)
                + request(.append, key: b("p"), value: b("c"), opaque: 5)
                + request(.prependq, key: b("p"), value: b("a"), opaque: 6)
                + request(.append, key: b("p"), value: b("d"), opaque: 7, cas: 1)
                + request(.prepend, key: b("p"), value: b("_"), opaque: 8, cas: 3)
                + request(.getk, key: b("p"), opaque: 9)
        ]
        let expected: [[String]] = [
            [
                // op 0e status 5 opaque 1 cas 0 value 'Not stored.'
                "810e0000000000050000000b000000010000000000000000" + "4e6f742073746f7265642e",
                // op 19 status 5 opaque 2 cas 0 value 'Not stored.'
                "81190000000000050000000b000000020000000000000000" + "4e6f742073746f7265642e",
                // op 1a status 5 opaque 3 cas 0 value 'Not stored.'
                "811a0000000000050000000b000000030000000000000000" + "4e6f742073746f7265642e",
                // op 01 status 0 opaque 4 cas 1
                "810100000000000000000000000000040000000000000001",
                // op 0e status 0 opaque 5 cas 2
                "810e00000000000000000000000000050000000000000002",
                // op 0e status 2 opaque 7 cas 0 value 'Data exists for key.'
                "810e00000000000200000014000000070000000000000000" + "446174612065786973747320666f72206b65792e",
                // op 0f status 0 opaque 8 cas 4
                "810f00000000000000000000000000080000000000000004",
                // op 0c status 0 opaque 9 cas 4 key 'p' value '_abc'
                "810c00010400000000000009000000090000000000000004" + "00000009705f616263",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func touchAndGat() {
        let requests: [[UInt8]] = [
            request(.touch, key: b("t"), extras: u32(100), opaque: 1)
                + request(.set, key: b("t"), extras: setExtras(0x2a, 0), value: b("tv"), opaque: 2)
                + request(.touch, key: b("t"), extras: u32(100), opaque: 3)
                + request(.gat, key: b("t"), extras: u32(0), opaque: 4)
                + request(.gatk, key: b("t"), extras: u32(0), opaque: 5)
                + request(.gatq, key: b("t"), extras: u32(0), opaque: 6)
                + request(.gatkq, key: b("t"), extras: u32(0), opaque: 7)
                + request(.gatq, key: b("u"), extras: u32(0), opaque: 8)
                + request(.gatkq, key: b("u"), extras: u32(0), opaque: 9)
                + request(.gatk, key: b("u"), extras: u32(0), opaque: 10)
                + request(.gat, key: b("u"), extras: u32(0), opaque: 11) + request(.noop, opaque: 12)
        ]
        let expected: [[String]] = [
            [
                // op 1c status 1 opaque 1 cas 0 value 'Not found'
                "811c00000000000100000009000000010000000000000000" + "4e6f7420666f756e64",
                // op 01 status 0 opaque 2 cas 1
                "810100000000000000000000000000020000000000000001",
                // op 1c status 0 opaque 3 cas 1
                "811c00000400000000000004000000030000000000000001" + "0000002a",
                // op 1d status 0 opaque 4 cas 1 value 'tv'
                "811d00000400000000000006000000040000000000000001" + "0000002a7476",
                // op 23 status 0 opaque 5 cas 1 key 't' value 'tv'
                "812300010400000000000007000000050000000000000001" + "0000002a747476",
                // op 1e status 0 opaque 6 cas 1 value 'tv'
                "811e00000400000000000006000000060000000000000001" + "0000002a7476",
                // op 24 status 0 opaque 7 cas 1 key 't' value 'tv'
                "812400010400000000000007000000070000000000000001" + "0000002a747476",
                // op 23 status 1 opaque 10 cas 0 key 'u'
                "8123000100000001000000010000000a0000000000000000" + "75",
                // op 1d status 1 opaque 11 cas 0 value 'Not found'
                "811d000000000001000000090000000b0000000000000000" + "4e6f7420666f756e64",
                // op 0a status 0 opaque 12 cas 0
                "810a000000000000000000000000000c0000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func versionAndQuit() {
        let requests: [[UInt8]] = [
            request(.version, opaque: 1) + request(.noop, opaque: 2) + request(.quit, opaque: 3)
                + request(.noop, opaque: 4)
        ]
        let expected: [[String]] = [
            [
                // op 0b status 0 opaque 1 cas 0 value '1.6.18'
                "810b00000000000000000006000000010000000000000000" + "312e362e3138",
                // op 0a status 0 opaque 2 cas 0
                "810a00000000000000000000000000020000000000000000",
                // op 07 status 0 opaque 3 cas 0
                "810700000000000000000000000000030000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func quietQuit() {
        let requests: [[UInt8]] = [
            request(.quitq, opaque: 1) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            []
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func flush() {
        let requests: [[UInt8]] = [
            request(.set, key: b("f"), extras: setExtras(0, 0), value: b("1"), opaque: 1) + request(.flush, opaque: 2)
                + request(.get, key: b("f"), opaque: 3)
                + request(.set, key: b("f"), extras: setExtras(0, 0), value: b("1"), opaque: 4)
                + request(.flushq, opaque: 5) + request(.get, key: b("f"), opaque: 6)
                + request(.set, key: b("f"), extras: setExtras(0, 0), value: b("1"), opaque: 7)
                + request(.flush, extras: u32(1000), opaque: 8) + request(.get, key: b("f"), opaque: 9)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 08 status 0 opaque 2 cas 0
                "810800000000000000000000000000020000000000000000",
                // op 00 status 1 opaque 3 cas 0 value 'Not found'
                "810000000000000100000009000000030000000000000000" + "4e6f7420666f756e64",
                // op 01 status 0 opaque 4 cas 3
                "810100000000000000000000000000040000000000000003",
                // op 00 status 1 opaque 6 cas 0 value 'Not found'
                "810000000000000100000009000000060000000000000000" + "4e6f7420666f756e64",
                // op 01 status 0 opaque 7 cas 5
                "810100000000000000000000000000070000000000000005",
                // op 08 status 0 opaque 8 cas 0
                "810800000000000000000000000000080000000000000000",
                // op 00 status 0 opaque 9 cas 5 value '1'
                "810000000400000000000005000000090000000000000005" + "0000000031",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func verbosityIsUnknownAndDesyncs() {
        let requests: [[UInt8]] = [
            request(.verbosity, extras: u32(1), opaque: 1) + request(.noop, opaque: 2) + request(.noop, opaque: 3)
        ]
        let expected: [[String]] = [
            []
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func unknownWithoutBody() {
        let requests: [[UInt8]] = [
            request(.opcode(0x30), opaque: 1) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 30 status 81 opaque 1 cas 0 value 'Unknown command'
                "81300000000000810000000f000000010000000000000000" + "556e6b6e6f776e20636f6d6d616e64",
                // op 0a status 0 opaque 2 cas 0
                "810a00000000000000000000000000020000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func unknownOverSwallows() {
        let requests: [[UInt8]] = [
            request(.opcode(0x45), key: b("kk"), extras: b("ee"), value: b("vv"), opaque: 1)
                + [UInt8](repeating: 0x00, count: 6) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            []
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func badMagic() {
        let requests: [[UInt8]] = [
            request(.noop, opaque: 1) + request(.noop, opaque: 2, magic: 0x81)
        ]
        let expected: [[String]] = [
            [
                // op 0a status 0 opaque 1 cas 0
                "810a00000000000000000000000000010000000000000000"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func keyLongerThanBody() {
        let requests: [[UInt8]] = [
            request(.get, key: b("k"), opaque: 1, bodyLength: 0) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 00 status 81 opaque 1 cas 0 value 'Unknown command'
                "81000000000000810000000f000000010000000000000000" + "556e6b6e6f776e20636f6d6d616e64"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func keyTooLong() {
        let requests: [[UInt8]] = [
            request(.get, key: [UInt8](repeating: 0x6b, count: 251), opaque: 1) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 00 status 4 opaque 1 cas 0 value 'Invalid arguments'
                "810000000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func key250() {
        let requests: [[UInt8]] = [
            request(.set, key: [UInt8](repeating: 0x6b, count: 250), extras: setExtras(0, 0), value: b("v"), opaque: 1)
                + request(.getq, key: [UInt8](repeating: 0x6b, count: 250), opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 09 status 0 opaque 2 cas 1 value 'v'
                "810900000400000000000005000000020000000000000001" + "0000000076",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func getWithExtras() {
        let requests: [[UInt8]] = [
            request(.get, key: b("k"), extras: b("abcd"), opaque: 1) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 00 status 4 opaque 1 cas 0 value 'Invalid arguments'
                "810000000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func noopWithBody() {
        let requests: [[UInt8]] = [
            request(.noop, value: b("x"), opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 0a status 4 opaque 1 cas 0 value 'Invalid arguments'
                "810a00000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func setWithFourExtras() {
        let requests: [[UInt8]] = [
            request(.set, key: b("k"), extras: b("abcd"), value: b("v"), opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 4 opaque 1 cas 0 value 'Invalid arguments'
                "810100000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func appendWithExtras() {
        let requests: [[UInt8]] = [
            request(.append, key: b("k"), extras: b("abcd"), value: b("v"), opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 0e status 4 opaque 1 cas 0 value 'Invalid arguments'
                "810e00000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func incrementWith21Extras() {
        let requests: [[UInt8]] = [
            request(.incr, key: b("k"), extras: [UInt8](repeating: 0x00, count: 21), opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 05 status 4 opaque 1 cas 0 value 'Invalid arguments'
                "810500000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func flushWithTwoExtras() {
        let requests: [[UInt8]] = [
            request(.flush, extras: [0x00, 0x00], opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 08 status 4 opaque 1 cas 0 value 'Invalid arguments'
                "810800000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func setBodyShorterThanExtras() {
        let requests: [[UInt8]] = [
            request(.set, key: b("k"), extras: setExtras(0, 0), opaque: 1, bodyLength: 5) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 81 opaque 1 cas 0 value 'Unknown command'
                "81010000000000810000000f000000010000000000000000" + "556e6b6e6f776e20636f6d6d616e64"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func sasl() {
        let requests: [[UInt8]] = [
            request(.sasllist, opaque: 1)
                + request(.saslauth, key: b("PLAIN"), value: [0x00, 0x75, 0x00, 0x70], opaque: 2)
                + request(.saslstep, key: b("PLAIN"), opaque: 3) + request(.noop, opaque: 4)
        ]
        let expected: [[String]] = [
            [
                // op 20 status 81 opaque 1 cas 0 value 'Unknown command'
                "81200000000000810000000f000000010000000000000000" + "556e6b6e6f776e20636f6d6d616e64",
                // op 21 status 81 opaque 2 cas 0 value 'Unknown command'
                "81210000000000810000000f000000020000000000000000" + "556e6b6e6f776e20636f6d6d616e64",
                // op 22 status 81 opaque 3 cas 0 value 'Unknown command'
                "81220000000000810000000f000000030000000000000000" + "556e6b6e6f776e20636f6d6d616e64",
                // op 0a status 0 opaque 4 cas 0
                "810a00000000000000000000000000040000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func saslAuthWithoutKey() {
        let requests: [[UInt8]] = [
            request(.saslauth, opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 21 status 4 opaque 1 cas 0 value 'Invalid arguments'
                "812100000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func tooLarge() {
        let requests: [[UInt8]] = [
            request(.set, key: b("big"), extras: setExtras(0, 0), value: b("old"), opaque: 1)
                + request(
                    .set,
                    key: b("big"),
                    extras: setExtras(0, 0),
                    value: [UInt8](repeating: 0x78, count: 1_048_577),
                    opaque: 2
                ) + request(.get, key: b("big"), opaque: 3)
                + request(.set, key: b("ap"), extras: setExtras(0, 0), value: b("old"), opaque: 4)
                + request(.append, key: b("ap"), value: [UInt8](repeating: 0x78, count: 1_048_577), opaque: 5)
                + request(.get, key: b("ap"), opaque: 6)
                + request(
                    .setq,
                    key: b("big"),
                    extras: setExtras(0, 0),
                    value: [UInt8](repeating: 0x78, count: 1_048_577),
                    opaque: 7
                ) + request(.noop, opaque: 8)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 01 status 3 opaque 2 cas 0 value 'Too large.'
                "81010000000000030000000a000000020000000000000000" + "546f6f206c617267652e",
                // op 00 status 1 opaque 3 cas 0 value 'Not found'
                "810000000000000100000009000000030000000000000000" + "4e6f7420666f756e64",
                // op 01 status 0 opaque 4 cas 2
                "810100000000000000000000000000040000000000000002",
                // op 0e status 3 opaque 5 cas 0 value 'Too large.'
                "810e0000000000030000000a000000050000000000000000" + "546f6f206c617267652e",
                // op 00 status 0 opaque 6 cas 2 value 'old'
                "810000000400000000000007000000060000000000000002" + "000000006f6c64",
                // op 11 status 3 opaque 7 cas 0 value 'Too large.'
                "81110000000000030000000a000000070000000000000000" + "546f6f206c617267652e",
                // op 0a status 0 opaque 8 cas 0
                "810a00000000000000000000000000080000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func statGroups() {
        let requests: [[UInt8]] = [
            request(.stat, key: b("slabs"), opaque: 1) + request(.stat, key: b("items"), opaque: 2)
                + request(.stat, key: b("sizes"), opaque: 3) + request(.stat, key: b("conns"), opaque: 4)
                + request(.stat, key: b("bogus"), opaque: 5) + request(.stat, key: b("reset"), opaque: 6)
                + request(.stat, key: b("resetXYZ"), opaque: 7) + request(.stat, key: b("detail on"), opaque: 8)
                + request(.set, key: b("foo:x"), extras: setExtras(0, 0), value: b("1"), opaque: 9)
                + request(.get, key: b("foo:x"), opaque: 10) + request(.get, key: b("foo:y"), opaque: 11)
                + request(.delete, key: b("foo:x"), opaque: 12) + request(.stat, key: b("detail dump"), opaque: 13)
                + request(.stat, key: b("detail off"), opaque: 14) + request(.stat, key: b("detail"), opaque: 15)
                + request(.stat, key: b("detail x"), opaque: 16) + request(.stat, key: b("sizes_disable"), opaque: 17)
                + request(.stat, key: b("itemsx"), opaque: 18) + request(.noop, opaque: 19)
        ]
        let expected: [[String]] = [
            [
                // op 10 status 0 opaque 1 cas 0 key 'active_slabs' value '0'
                "8110000c000000000000000d000000010000000000000000" + "6163746976655f736c61627330",
                // op 10 status 0 opaque 1 cas 0 key 'total_malloced' value '0'
                "8110000e000000000000000f000000010000000000000000" + "746f74616c5f6d616c6c6f63656430",
                // op 10 status 0 opaque 1 cas 0
                "811000000000000000000000000000010000000000000000",
                // op 10 status 0 opaque 2 cas 0
                "811000000000000000000000000000020000000000000000",
                // op 10 status 0 opaque 3 cas 0 key 'sizes_status' value 'disabled'
                "8110000c0000000000000014000000030000000000000000" + "73697a65735f73746174757364697361626c6564",
                // op 10 status 0 opaque 3 cas 0
                "811000000000000000000000000000030000000000000000",
                // op 10 status 1 opaque 4 cas 0 value 'Not found'
                "811000000000000100000009000000040000000000000000" + "4e6f7420666f756e64",
                // op 10 status 1 opaque 5 cas 0 value 'Not found'
                "811000000000000100000009000000050000000000000000" + "4e6f7420666f756e64",
                // op 10 status 0 opaque 6 cas 0
                "811000000000000000000000000000060000000000000000",
                // op 10 status 0 opaque 7 cas 0
                "811000000000000000000000000000070000000000000000",
                // op 10 status 0 opaque 8 cas 0
                "811000000000000000000000000000080000000000000000",
                // op 01 status 0 opaque 9 cas 1
                "810100000000000000000000000000090000000000000001",
                // op 00 status 0 opaque 10 cas 1 value '1'
                "8100000004000000000000050000000a0000000000000001" + "0000000031",
                // op 00 status 1 opaque 11 cas 0 value 'Not found'
                "8100000000000001000000090000000b0000000000000000" + "4e6f7420666f756e64",
                // op 04 status 0 opaque 12 cas 0
                "8104000000000000000000000000000c0000000000000000",
                // op 10 status 0 opaque 13 cas 0 key 'detailed' value 'PREFIX foo get 2 hit 1 set 1 del 1\r\nE...'
                "8110000800000000000000310000000d0000000000000000"
                    + "64657461696c656450524546495820666f6f2067657420322068697420312073657420312064656c"
                    + "20310d0a454e440d0a",
                // op 10 status 0 opaque 13 cas 0
                "8110000000000000000000000000000d0000000000000000",
                // op 10 status 0 opaque 14 cas 0
                "8110000000000000000000000000000e0000000000000000",
                // op 10 status 1 opaque 15 cas 0 value 'Not found'
                "8110000000000001000000090000000f0000000000000000" + "4e6f7420666f756e64",
                // op 10 status 1 opaque 16 cas 0 value 'Not found'
                "811000000000000100000009000000100000000000000000" + "4e6f7420666f756e64",
                // op 10 status 0 opaque 17 cas 0 key 'sizes_status' value 'disabled'
                "8110000c0000000000000014000000110000000000000000" + "73697a65735f73746174757364697361626c6564",
                // op 10 status 1 opaque 18 cas 0 value 'Not found'
                "811000000000000100000009000000120000000000000000" + "4e6f7420666f756e64",
                // op 0a status 0 opaque 19 cas 0
                "810a00000000000000000000000000130000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func statItems() {
        let requests: [[UInt8]] = [
            request(.set, key: b("it"), extras: setExtras(0, 0), value: b("hello"), opaque: 1)
                + request(.stat, key: b("items"), opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:number' value '1'
                "8110000e000000000000000f000000020000000000000000" + "6974656d733a313a6e756d62657231",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:number_hot' value '1'
                "811000120000000000000013000000020000000000000000" + "6974656d733a313a6e756d6265725f686f7431",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:number_warm' value '0'
                "811000130000000000000014000000020000000000000000" + "6974656d733a313a6e756d6265725f7761726d30",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:number_cold' value '0'
                "811000130000000000000014000000020000000000000000" + "6974656d733a313a6e756d6265725f636f6c6430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:age_hot' value '0'
                "8110000f0000000000000010000000020000000000000000" + "6974656d733a313a6167655f686f7430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:age_warm' value '0'
                "811000100000000000000011000000020000000000000000" + "6974656d733a313a6167655f7761726d30",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:age' value '0'
                "8110000b000000000000000c000000020000000000000000" + "6974656d733a313a61676530",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:mem_requested' value '66'
                "811000150000000000000017000000020000000000000000" + "6974656d733a313a6d656d5f7265717565737465643636",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:evicted' value '0'
                "8110000f0000000000000010000000020000000000000000" + "6974656d733a313a6576696374656430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:evicted_nonzero' value '0'
                "811000170000000000000018000000020000000000000000" + "6974656d733a313a657669637465645f6e6f6e7a65726f30",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:evicted_time' value '0'
                "811000140000000000000015000000020000000000000000" + "6974656d733a313a657669637465645f74696d6530",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:outofmemory' value '0'
                "811000130000000000000014000000020000000000000000" + "6974656d733a313a6f75746f666d656d6f727930",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:tailrepairs' value '0'
                "811000130000000000000014000000020000000000000000" + "6974656d733a313a7461696c7265706169727330",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:reclaimed' value '0'
                "811000110000000000000012000000020000000000000000" + "6974656d733a313a7265636c61696d656430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:expired_unfetched' value '0'
                "81100019000000000000001a000000020000000000000000"
                    + "6974656d733a313a657870697265645f756e6665746368656430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:evicted_unfetched' value '0'
                "81100019000000000000001a000000020000000000000000"
                    + "6974656d733a313a657669637465645f756e6665746368656430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:evicted_active' value '0'
                "811000160000000000000017000000020000000000000000" + "6974656d733a313a657669637465645f61637469766530",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:crawler_reclaimed' value '0'
                "81100019000000000000001a000000020000000000000000"
                    + "6974656d733a313a637261776c65725f7265636c61696d656430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:crawler_items_checked' value '0'
                "8110001d000000000000001e000000020000000000000000"
                    + "6974656d733a313a637261776c65725f6974656d735f636865636b656430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:lrutail_reflocked' value '0'
                "81100019000000000000001a000000020000000000000000"
                    + "6974656d733a313a6c72757461696c5f7265666c6f636b656430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:moves_to_cold' value '0'
                "811000150000000000000016000000020000000000000000" + "6974656d733a313a6d6f7665735f746f5f636f6c6430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:moves_to_warm' value '0'
                "811000150000000000000016000000020000000000000000" + "6974656d733a313a6d6f7665735f746f5f7761726d30",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:moves_within_lru' value '0'
                "811000180000000000000019000000020000000000000000"
                    + "6974656d733a313a6d6f7665735f77697468696e5f6c727530",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:direct_reclaims' value '0'
                "811000170000000000000018000000020000000000000000" + "6974656d733a313a6469726563745f7265636c61696d7330",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:hits_to_hot' value '0'
                "811000130000000000000014000000020000000000000000" + "6974656d733a313a686974735f746f5f686f7430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:hits_to_warm' value '0'
                "811000140000000000000015000000020000000000000000" + "6974656d733a313a686974735f746f5f7761726d30",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:hits_to_cold' value '0'
                "811000140000000000000015000000020000000000000000" + "6974656d733a313a686974735f746f5f636f6c6430",
                // op 10 status 0 opaque 2 cas 0 key 'items:1:hits_to_temp' value '0'
                "811000140000000000000015000000020000000000000000" + "6974656d733a313a686974735f746f5f74656d7030",
                // op 10 status 0 opaque 2 cas 0
                "811000000000000000000000000000020000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func emptyValue() {
        let requests: [[UInt8]] = [
            request(.set, key: b("z"), extras: setExtras(1, 0), opaque: 1) + request(.get, key: b("z"), opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 00 status 0 opaque 2 cas 1
                "810000000400000000000004000000020000000000000001" + "00000001",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func quietPipeline() {
        let requests: [[UInt8]] = [
            request(.setq, key: b("a"), extras: setExtras(0, 0), value: b("A"), opaque: 1)
                + request(.setq, key: b("b"), extras: setExtras(0, 0), value: b("B"), opaque: 2)
                + request(.getq, key: b("a"), opaque: 3) + request(.getq, key: b("x"), opaque: 4)
                + request(.getkq, key: b("b"), opaque: 5)
        ]
        let expected: [[String]] = [
            [
                // op 09 status 0 opaque 3 cas 1 value 'A'
                "810900000400000000000005000000030000000000000001" + "0000000041",
                // op 0d status 0 opaque 5 cas 2 key 'b' value 'B'
                "810d00010400000000000006000000050000000000000002" + "000000006242",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func casInReplies() {
        let requests: [[UInt8]] = [
            request(.set, key: b("c"), extras: setExtras(0, 0), value: b("1"), opaque: 1)
                + request(.set, key: b("c"), extras: setExtras(0, 0), value: b("2"), opaque: 2)
                + request(.append, key: b("c"), value: b("3"), opaque: 3)
                + request(.incr, key: b("c"), extras: deltaExtras(1, 0, 0), opaque: 4)
                + request(.getk, key: b("c"), opaque: 5) + request(.delete, key: b("c"), opaque: 6, cas: 5)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 01 status 0 opaque 2 cas 2
                "810100000000000000000000000000020000000000000002",
                // op 0e status 0 opaque 3 cas 3
                "810e00000000000000000000000000030000000000000003",
                // op 05 status 0 opaque 4 cas 4
                "810500000000000000000008000000040000000000000004" + "0000000000000018",
                // op 0c status 0 opaque 5 cas 4 key 'c' value '24'
                "810c00010400000000000007000000050000000000000004" + "00000000633234",
                // op 04 status 2 opaque 6 cas 0 value 'Data exists for key.'
                "810400000000000200000014000000060000000000000000" + "446174612065786973747320666f72206b65792e",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func unflushedHitDroppedByBadMagic() {
        let requests: [[UInt8]] = [
            request(.set, key: b("a"), extras: setExtras(0, 0), value: b("1"), opaque: 1)
                + request(.get, key: b("a"), opaque: 2) + request(.noop, magic: 0x81)
        ]
        let expected: [[String]] = [
            []
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func errorFlushesBeforeBadMagic() {
        let requests: [[UInt8]] = [
            request(.set, key: b("a"), extras: setExtras(0, 0), value: b("1"), opaque: 1)
                + request(.get, key: b("b"), opaque: 2) + request(.getk, key: b("a"), opaque: 3)
                + request(.noop, magic: 0x81)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 00 status 1 opaque 2 cas 0 value 'Not found'
                "810000000000000100000009000000020000000000000000" + "4e6f7420666f756e64",
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func repliesHeldWhileSwallowing() {
        let requests: [[UInt8]] = [
            request(.set, key: b("a"), extras: setExtras(0, 0), value: b("1"), opaque: 1)
                + request(.get, key: b("a"), opaque: 2) + request(.verbosity, extras: u32(1), opaque: 3),
            [0x00, 0x00, 0x00, 0x00] + request(.noop, opaque: 4),
        ]
        let expected: [[String]] = [
            [],
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 00 status 0 opaque 2 cas 1 value '1'
                "810000000400000000000005000000020000000000000001" + "0000000031",
                // op 1b status 81 opaque 3 cas 0 value 'Unknown command'
                "811b0000000000810000000f000000030000000000000000" + "556e6b6e6f776e20636f6d6d616e64",
                // op 0a status 0 opaque 4 cas 0
                "810a00000000000000000000000000040000000000000000",
            ],
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func repliesHeldWhileReadingValue() {
        let requests: [[UInt8]] = [
            request(.set, key: b("x"), extras: setExtras(0, 0), value: b("1"), opaque: 1)
                + request(.get, key: b("x"), opaque: 2)
                + request(.set, key: b("y"), extras: setExtras(0, 0), opaque: 3, bodyLength: 12),
            b("abc"),
            request(.get, key: b("y"), opaque: 4),
        ]
        let expected: [[String]] = [
            [],
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 00 status 0 opaque 2 cas 1 value '1'
                "810000000400000000000005000000020000000000000001" + "0000000031",
                // op 01 status 0 opaque 3 cas 2
                "810100000000000000000000000000030000000000000002",
            ],
            [
                // op 00 status 0 opaque 4 cas 2 value 'abc'
                "810000000400000000000007000000040000000000000002" + "00000000616263"
            ],
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func statBodyDesyncs() {
        let requests: [[UInt8]] = [
            request(.stat, key: b("items"), value: b("junk"), opaque: 1) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            []
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func flushDisabled() {
        var settings = MemcachedSettings()
        settings.flushEnabled = false
        let requests: [[UInt8]] = [
            request(.flushq, opaque: 1) + request(.noop, opaque: 2)
        ]
        let expected: [[String]] = [
            [
                // op 18 status 20 opaque 1 cas 0 value 'Auth failure.'
                "81180000000000200000000d000000010000000000000000" + "41757468206661696c7572652e",
                // op 0a status 0 opaque 2 cas 0
                "810a00000000000000000000000000020000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false, settings: settings)
    }
    @Test func expirations() {
        let requests: [[UInt8]] = [
            request(.set, key: b("far"), extras: setExtras(1, 0x8000_0000), value: b("1"), opaque: 1)
                + request(.set, key: b("past"), extras: setExtras(2, 0x278d01), value: b("2"), opaque: 2)
                + request(.set, key: b("rel"), extras: setExtras(3, 0x64), value: b("3"), opaque: 3)
                + request(.get, key: b("far"), opaque: 4) + request(.get, key: b("past"), opaque: 5)
                + request(.get, key: b("rel"), opaque: 6)
                + request(.touch, key: b("rel"), extras: u32(2_592_001), opaque: 7)
                + request(.get, key: b("rel"), opaque: 8)
                + request(.incr, key: b("cnt"), extras: deltaExtras(1, 3, 0x8000_0000), opaque: 9)
                + request(.get, key: b("cnt"), opaque: 10)
                + request(.gat, key: b("far"), extras: u32(4_294_967_294), opaque: 11)
                + request(.get, key: b("far"), opaque: 12)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 01 status 0 opaque 2 cas 2
                "810100000000000000000000000000020000000000000002",
                // op 01 status 0 opaque 3 cas 3
                "810100000000000000000000000000030000000000000003",
                // op 00 status 0 opaque 4 cas 1 value '1'
                "810000000400000000000005000000040000000000000001" + "0000000131",
                // op 00 status 1 opaque 5 cas 0 value 'Not found'
                "810000000000000100000009000000050000000000000000" + "4e6f7420666f756e64",
                // op 00 status 0 opaque 6 cas 3 value '3'
                "810000000400000000000005000000060000000000000003" + "0000000333",
                // op 1c status 0 opaque 7 cas 3
                "811c00000400000000000004000000070000000000000003" + "00000003",
                // op 00 status 1 opaque 8 cas 0 value 'Not found'
                "810000000000000100000009000000080000000000000000" + "4e6f7420666f756e64",
                // op 05 status 0 opaque 9 cas 4
                "810500000000000000000008000000090000000000000004" + "0000000000000003",
                // op 00 status 0 opaque 10 cas 4 value '3'
                "8100000004000000000000050000000a0000000000000004" + "0000000033",
                // op 1d status 0 opaque 11 cas 1 value '1'
                "811d000004000000000000050000000b0000000000000001" + "0000000131",
                // op 00 status 0 opaque 12 cas 1 value '1'
                "8100000004000000000000050000000c0000000000000001" + "0000000131",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func sizes() {
        let requests: [[UInt8]] = [
            request(.stat, key: b("sizes_enable"), opaque: 1)
                + request(.set, key: b("s"), extras: setExtras(0, 0), value: b("hello"), opaque: 2)
                + request(.stat, key: b("sizes"), opaque: 3) + request(.stat, key: b("sizes_disable"), opaque: 4)
                + request(.stat, key: b("sizes"), opaque: 5)
        ]
        let expected: [[String]] = [
            [
                // op 10 status 0 opaque 1 cas 0 key 'sizes_status' value 'enabled'
                "8110000c0000000000000013000000010000000000000000" + "73697a65735f737461747573656e61626c6564",
                // op 01 status 0 opaque 2 cas 2
                "810100000000000000000000000000020000000000000002",
                // op 10 status 0 opaque 3 cas 0 key '96' value '1'
                "811000020000000000000003000000030000000000000000" + "393631",
                // op 10 status 0 opaque 3 cas 0
                "811000000000000000000000000000030000000000000000",
                // op 10 status 0 opaque 4 cas 0 key 'sizes_status' value 'disabled'
                "8110000c0000000000000014000000040000000000000000" + "73697a65735f73746174757364697361626c6564",
                // op 10 status 0 opaque 5 cas 0 key 'sizes_status' value 'disabled'
                "8110000c0000000000000014000000050000000000000000" + "73697a65735f73746174757364697361626c6564",
                // op 10 status 0 opaque 5 cas 0
                "811000000000000000000000000000050000000000000000",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    @Test func moreLengthChecks() {
        let requests: [[UInt8]] = [
            request(.delete, key: b("k"), extras: b("abcd"), opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 04 status 4 opaque 1 cas 0 value 'Invalid arguments'
                "810400000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func touchWithoutKey() {
        let requests: [[UInt8]] = [
            request(.touch, extras: u32(0), opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 1c status 4 opaque 1 cas 0 value 'Invalid arguments'
                "811c00000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func statWithExtras() {
        let requests: [[UInt8]] = [
            request(.stat, extras: u32(0), opaque: 1)
        ]
        let expected: [[String]] = [
            [
                // op 10 status 4 opaque 1 cas 0 value 'Invalid arguments'
                "811000000000000400000011000000010000000000000000" + "496e76616c696420617267756d656e7473"
            ]
        ]
        expectReplies(requests, expected, closed: true)
    }

    @Test func incrNumbers() {
        let requests: [[UInt8]] = [
            request(.set, key: b("a"), extras: setExtras(0, 0), value: b(" 12"), opaque: 1)
                + request(.incr, key: b("a"), extras: deltaExtras(1, 0, 0), opaque: 2)
                + request(.get, key: b("a"), opaque: 3)
                + request(.set, key: b("b"), extras: setExtras(0, 0), value: b("99"), opaque: 4)
                + request(.incr, key: b("b"), extras: deltaExtras(1, 0, 0), opaque: 5)
                + request(.get, key: b("b"), opaque: 6)
                + request(.set, key: b("c"), extras: setExtras(0, 0), value: b("-1"), opaque: 7)
                + request(.incr, key: b("c"), extras: deltaExtras(1, 0, 0), opaque: 8)
                + request(.set, key: b("d"), extras: setExtras(0, 0), value: b("18446744073709551616"), opaque: 9)
                + request(.decr, key: b("d"), extras: deltaExtras(1, 0, 0), opaque: 10)
                + request(.set, key: b("e"), extras: setExtras(0, 0), value: b("12abc"), opaque: 11)
                + request(.incr, key: b("e"), extras: deltaExtras(1, 0, 0), opaque: 12)
                + request(.set, key: b("f"), extras: setExtras(0, 0), value: b("0"), opaque: 13)
                + request(.decrq, key: b("f"), extras: deltaExtras(5, 0, 0), opaque: 14)
                + request(.getk, key: b("f"), opaque: 15)
        ]
        let expected: [[String]] = [
            [
                // op 01 status 0 opaque 1 cas 1
                "810100000000000000000000000000010000000000000001",
                // op 05 status 0 opaque 2 cas 2
                "810500000000000000000008000000020000000000000002" + "000000000000000d",
                // op 00 status 0 opaque 3 cas 2 value '13 '
                "810000000400000000000007000000030000000000000002" + "00000000313320",
                // op 01 status 0 opaque 4 cas 3
                "810100000000000000000000000000040000000000000003",
                // op 05 status 0 opaque 5 cas 4
                "810500000000000000000008000000050000000000000004" + "0000000000000064",
                // op 00 status 0 opaque 6 cas 4 value '100'
                "810000000400000000000007000000060000000000000004" + "00000000313030",
                // op 01 status 0 opaque 7 cas 5
                "810100000000000000000000000000070000000000000005",
                // op 05 status 6 opaque 8 cas 0 value 'Non-numeric server-side value for inc...'
                "81050000000000060000002e000000080000000000000000"
                    + "4e6f6e2d6e756d65726963207365727665722d736964652076616c756520666f7220696e6372206f"
                    + "722064656372",
                // op 01 status 0 opaque 9 cas 6
                "810100000000000000000000000000090000000000000006",
                // op 06 status 6 opaque 10 cas 0 value 'Non-numeric server-side value for inc...'
                "81060000000000060000002e0000000a0000000000000000"
                    + "4e6f6e2d6e756d65726963207365727665722d736964652076616c756520666f7220696e6372206f"
                    + "722064656372",
                // op 01 status 0 opaque 11 cas 7
                "8101000000000000000000000000000b0000000000000007",
                // op 05 status 6 opaque 12 cas 0 value 'Non-numeric server-side value for inc...'
                "81050000000000060000002e0000000c0000000000000000"
                    + "4e6f6e2d6e756d65726963207365727665722d736964652076616c756520666f7220696e6372206f"
                    + "722064656372",
                // op 01 status 0 opaque 13 cas 8
                "8101000000000000000000000000000d0000000000000008",
                // op 0c status 0 opaque 15 cas 9 key 'f' value '0'
                "810c000104000000000000060000000f0000000000000009" + "000000006630",
            ]
        ]
        expectReplies(requests, expected, closed: false)
    }

    // MARK: - Hand-written cases

    /// memcached flushes its queued replies after the 21st request of one read (`-R 20`, then its yield); a bad magic
    /// after 24 SETs closes the connection without the last three replies. (Observed from memcached 1.6.18: the 21
    /// replies below, then the close.)
    @Test func yieldFlushesAfter21() {
        var batch: [UInt8] = []
        for i in 1...24 {
            batch += request(.set, key: b("k\(i)"), extras: setExtras(0, 0), value: b("v"), opaque: UInt32(i))
        }
        batch += request(.noop, magic: 0x81)
        var expected = ""
        for i in 1...21 {
            expected += "810100000000000000000000" + hex(bigEndian: UInt32(i)) + hex(bigEndian: UInt64(i))
        }
        expectReplies([batch], [[expected]], closed: true)
    }

    /// memcached reads 16 KB at a time: 600 SETs of 37 bytes fill its first read with 442 of them (all flushed when it
    /// reads again), then the yield flushes after 21, 41 ... 141 of the rest; a bad magic after them closes the
    /// connection without the last 17 replies. (Observed from memcached 1.6.18: 583 replies, then the close.)
    @Test func readBufferBoundaryFlushes() {
        var batch: [UInt8] = []
        for i in 1...600 {
            let digits = String(i)
            let key = b("k" + String(repeating: "0", count: 3 - digits.count) + digits)
            batch += request(.set, key: key, extras: setExtras(0, 0), value: b("v"), opaque: UInt32(i))
        }
        batch += request(.noop, magic: 0x81)
        var expected = ""
        for i in 1...583 {
            expected += "810100000000000000000000" + hex(bigEndian: UInt32(i)) + hex(bigEndian: UInt64(i))
        }
        expectReplies([batch], [[expected]], closed: true)
    }

    /// Out of memory (`-M -m 2`): 20 values of 100 KB fill the two pages; the next SETQs, and an APPEND of the same
    /// size, answer status 0x82 "Out of memory allocating item" (sent by the quiet form too, the value swallowed);
    /// an INCR that creates a small item still works. (Observed from memcached 1.6.18 -M -m 2.)
    @Test func outOfMemory() {
        var settings = MemcachedSettings()
        settings.maxBytes = 2 * 1024 * 1024
        settings.store.evictToFree = false
        let value = [UInt8](repeating: 0x78, count: 100_000)
        var batch: [UInt8] = []
        for i in 1...39 {
            let digits = String(i)
            let key = b("m" + String(repeating: "0", count: 2 - digits.count) + digits)
            batch += request(.setq, key: key, extras: setExtras(0, 0), value: value, opaque: UInt32(i))
        }
        batch +=
            request(.touch, key: b("m01"), extras: u32(0), opaque: 100)
            + request(.append, key: b("m01"), value: value, opaque: 101)
            + request(.incr, key: b("n"), extras: deltaExtras(1, 5, 0), opaque: 102) + request(.noop, opaque: 103)
        let outOfMemory = "4f7574206f66206d656d6f727920616c6c6f636174696e67206974656d"
        var expected: [String] = []
        for i in 21...39 {
            expected.append(
                "8111000000000082" + "0000001d" + hex(bigEndian: UInt32(i)) + "0000000000000000" + outOfMemory
            )
        }
        expected += [
            // op 1c status 0 opaque 100 cas 1, flags 0
            "811c00000400000000000004000000640000000000000001" + "00000000",
            // op 0e status 82 opaque 101
            "810e0000000000820000001d000000650000000000000000" + outOfMemory,
            // op 05 status 0 opaque 102 cas 21 value 5
            "810500000000000000000008000000660000000000000015" + "0000000000000005",
            // op 0a status 0 opaque 103
            "810a00000000000000000000000000670000000000000000",
        ]
        expectReplies([batch], [expected], closed: false, settings: settings)
    }

    /// A value larger than memcached's largest chunk (512 KB) is stored in pieces and comes back whole.
    @Test func chunkedValue() {
        var value: [UInt8] = []
        for i in 0..<600_000 { value.append(UInt8(truncatingIfNeeded: i &* 7)) }
        let (replies, closed) = exchange([
            request(.set, key: b("big"), extras: setExtras(5, 0), value: value, opaque: 1)
                + request(.get, key: b("big"), opaque: 2)
        ])
        let expected =
            "810100000000000000000000000000010000000000000001" + "8100000004000000000927c4000000020000000000000001"
            + "00000005" + hex(value)
        #expect(!closed)
        #expect(hex(replies[0]) == expected)
    }

    /// A header in pieces: nothing until the key is in. (Observed from memcached 1.6.18.)
    @Test func partialHeader() {
        let get = request(.get, key: b("a"), opaque: 1)
        expectReplies(
            [Array(get[0..<10]), Array(get[10..<24]), Array(get[24...])],
            [
                [],
                [],
                [
                    // op 00 status 1 opaque 1 cas 0 value 'Not found'
                    "810000000000000100000009000000010000000000000000" + "4e6f7420666f756e64"
                ],
            ],
            closed: false
        )
    }

    /// A value in pieces: the SET is answered once its last byte is in. (Observed from memcached 1.6.18.)
    @Test func valueInPieces() {
        let set = request(.set, key: b("v"), extras: setExtras(7, 0), value: b("hello"), opaque: 1)
        expectReplies(
            [Array(set[0..<33]), Array(set[33..<35]), Array(set[35...]) + request(.get, key: b("v"), opaque: 2)],
            [
                [],
                [],
                [
                    // op 01 status 0 opaque 1 cas 1
                    "810100000000000000000000000000010000000000000001",
                    // op 00 status 0 opaque 2 cas 1 value 'hello'
                    "810000000400000000000009000000020000000000000001" + "0000000768656c6c6f",
                ],
            ],
            closed: false
        )
    }

    /// Fed one byte at a time, a pipeline is answered with the same bytes as fed at once.
    @Test func byteByByte() {
        let pipeline =
            request(.set, key: b("k"), extras: setExtras(3, 0), value: b("hello"), opaque: 1)
            + request(.getk, key: b("k"), opaque: 2) + request(.getq, key: b("x"), opaque: 3)
            + request(.incr, key: b("n"), extras: deltaExtras(2, 40, 0), opaque: 4)
            + request(.append, key: b("k"), value: b("!"), opaque: 5) + request(.get, key: b("k"), opaque: 6)
            + request(.opcode(0x1b), extras: u32(1), opaque: 7) + request(.version, opaque: 8)
        let whole = exchange([pipeline]).replies.joined()
        let pieces = exchange(pipeline.map { [$0] }).replies.joined()
        #expect(hex(Array(pieces)) == hex(Array(whole)))
        #expect(!whole.isEmpty)
    }

    /// The counters of `stats` after binary commands, as memcached 1.6.18 counts them (observed: the same requests,
    /// then a STAT, gave these values). `bytes_written` counts the replies memcached had flushed before the STAT (its
    /// errors flush). `curr_items` and `bytes` are left out: memcached's LRU maintainer thread reaps the flushed item
    /// in the background, so they depend on its timing.
    @Test func counters() {
        let requests =
            request(.set, key: b("a"), extras: setExtras(0, 0), value: b("1"), opaque: 1)
            + request(.set, key: b("b"), extras: setExtras(0, 0), value: b("1"), opaque: 2, cas: 99)
            + request(.set, key: b("a"), extras: setExtras(0, 0), value: b("1"), opaque: 3, cas: 99)
            + request(.set, key: b("a"), extras: setExtras(0, 0), value: b("2"), opaque: 4, cas: 1)
            + request(.add, key: b("a"), extras: setExtras(0, 0), value: b("3"), opaque: 5)
            + request(.get, key: b("a"), opaque: 6) + request(.get, key: b("x"), opaque: 7)
            + request(.getk, key: b("x"), opaque: 8) + request(.getq, key: b("x"), opaque: 9)
            + request(.touch, key: b("a"), extras: u32(0), opaque: 10)
            + request(.touch, key: b("x"), extras: u32(0), opaque: 11)
            + request(.gat, key: b("a"), extras: u32(0), opaque: 12)
            + request(.gatq, key: b("x"), extras: u32(0), opaque: 13)
            + request(.incr, key: b("n"), extras: deltaExtras(1, 0, 0xffff_ffff), opaque: 14)
            + request(.decr, key: b("n"), extras: deltaExtras(1, 0, 0xffff_ffff), opaque: 15)
            + request(.incr, key: b("n"), extras: deltaExtras(1, 5, 0), opaque: 16)
            + request(.incr, key: b("n"), extras: deltaExtras(1, 0, 0), opaque: 17)
            + request(.decr, key: b("n"), extras: deltaExtras(1, 0, 0), opaque: 18)
            + request(.delete, key: b("x"), opaque: 19) + request(.delete, key: b("a"), opaque: 20, cas: 99)
            + request(.delete, key: b("a"), opaque: 21) + request(.flush, opaque: 22)
            + request(.append, key: b("q"), value: b("z"), opaque: 23)
            + request(.set, key: b("big"), extras: setExtras(0, 0), value: [UInt8](repeating: 0x78, count: 1_048_577))
            + request(.stat, opaque: 25)
        let reply = exchange([requests]).replies[0]
        let stats = statPackets(reply, opaque: 25)
        let expected: [(String, String)] = [
            ("cmd_get", "4"), ("cmd_set", "6"), ("cmd_flush", "1"), ("cmd_touch", "4"), ("cmd_meta", "0"),
            ("get_hits", "1"), ("get_misses", "3"), ("delete_misses", "1"), ("delete_hits", "1"),
            ("incr_misses", "1"), ("incr_hits", "1"), ("decr_misses", "1"), ("decr_hits", "1"), ("cas_misses", "1"),
            ("cas_hits", "1"), ("cas_badval", "1"), ("touch_hits", "2"), ("touch_misses", "2"),
            ("store_too_large", "0"), ("store_no_memory", "0"), ("bytes_read", "1049372"),
            ("bytes_written", "702"), ("total_items", "3"), ("conn_yields", "1"),
        ]
        for (name, value) in expected {
            #expect(stats.first { $0.0 == name }?.1 == value, "\(name)")
        }
    }

    /// STAT with no key sends the text protocol's `stats` names in the same order, one packet each, then the empty
    /// terminator; "settings" likewise for `stats settings`.
    @Test func statNamesMatchTheTextProtocol() {
        for (key, line) in [("", "stats\r\n"), ("settings", "stats settings\r\n")] {
            let binary = statPackets(exchange([request(.stat, key: b(key), opaque: 0x55)]).replies[0], opaque: 0x55)
            let text = exchange([b(line)]).replies[0]
            let textNames = String(decoding: text, as: UTF8.self).split(separator: "\r\n").compactMap { line in
                line.hasPrefix("STAT ") ? String(line.dropFirst(5).split(separator: " ")[0]) : nil
            }
            #expect(binary.map(\.0) == textNames)
            #expect(textNames.count > 40)
        }
    }
}

// MARK: - Requests and replies

private enum Op {
    case get, set, add, replace, delete, incr, decr, quit, flush, getq, noop, version, getk, getkq, append, prepend
    case stat, setq, addq, replaceq, deleteq, incrq, decrq, quitq, flushq, appendq, prependq, verbosity, touch, gat
    case gatq, sasllist, saslauth, saslstep, gatk, gatkq
    case opcode(UInt8)

    var code: UInt8 {
        switch self {
        case .get: return 0x00
        case .set: return 0x01
        case .add: return 0x02
        case .replace: return 0x03
        case .delete: return 0x04
        case .incr: return 0x05
        case .decr: return 0x06
        case .quit: return 0x07
        case .flush: return 0x08
        case .getq: return 0x09
        case .noop: return 0x0a
        case .version: return 0x0b
        case .getk: return 0x0c
        case .getkq: return 0x0d
        case .append: return 0x0e
        case .prepend: return 0x0f
        case .stat: return 0x10
        case .setq: return 0x11
        case .addq: return 0x12
        case .replaceq: return 0x13
        case .deleteq: return 0x14
        case .incrq: return 0x15
        case .decrq: return 0x16
        case .quitq: return 0x17
        case .flushq: return 0x18
        case .appendq: return 0x19
        case .prependq: return 0x1a
        case .verbosity: return 0x1b
        case .touch: return 0x1c
        case .gat: return 0x1d
        case .gatq: return 0x1e
        case .sasllist: return 0x20
        case .saslauth: return 0x21
        case .saslstep: return 0x22
        case .gatk: return 0x23
        case .gatkq: return 0x24
        case .opcode(let code): return code
        }
    }
}

private func b(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A request: the 24-byte header (magic, opcode, key length, extras length, data type 0, vbucket 0, body length,
/// opaque, CAS), then extras, key and value. `bodyLength` overrides the body length the parts add up to.
private func request(
    _ op: Op,
    key: [UInt8] = [],
    extras: [UInt8] = [],
    value: [UInt8] = [],
    opaque: UInt32 = 0,
    cas: UInt64 = 0,
    bodyLength: Int? = nil,
    magic: UInt8 = 0x80
) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeInteger(magic)
    buffer.writeInteger(op.code)
    buffer.writeInteger(UInt16(key.count))
    buffer.writeInteger(UInt8(extras.count))
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt16(0))
    buffer.writeInteger(UInt32(bodyLength ?? (key.count + extras.count + value.count)))
    buffer.writeInteger(opaque)
    buffer.writeInteger(cas)
    buffer.writeBytes(extras)
    buffer.writeBytes(key)
    buffer.writeBytes(value)
    return Array(buffer.readableBytesView)
}

/// SET/ADD/REPLACE extras: flags, expiration.
private func setExtras(_ flags: UInt32, _ expiration: UInt32) -> [UInt8] { bigEndian(flags) + bigEndian(expiration) }

/// INCREMENT/DECREMENT extras: delta, initial value, expiration.
private func deltaExtras(_ delta: UInt64, _ initial: UInt64, _ expiration: UInt32) -> [UInt8] {
    bigEndian(delta) + bigEndian(initial) + bigEndian(expiration)
}

private func u32(_ value: UInt32) -> [UInt8] { bigEndian(value) }

private func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 15)])
    }
    return text
}

private func hex<T: FixedWidthInteger>(bigEndian value: T) -> String { hex(bigEndian(value)) }

/// Feeds each step to a new connection of a new engine, as reads of a connection; returns what each step was
/// answered and whether the connection closed (the steps after a close are not sent).
private func exchange(
    _ steps: [[UInt8]],
    settings: MemcachedSettings = MemcachedSettings()
) -> (replies: [[UInt8]], closed: Bool) {
    let engine = MemcachedEngine(settings: settings, unixTime: 1_800_000_000, monotonicTime: 1000)
    let connection = MemcachedConnection(engine: engine)
    var input = ByteBuffer()
    var replies: [[UInt8]] = []
    for step in steps {
        input.writeBytes(step)
        var out = ByteBuffer()
        let open = connection.process(&input, into: &out)
        replies.append(Array(out.readableBytesView))
        if !open { return (replies, true) }
    }
    return (replies, false)
}

/// Checks the replies to each step, as hex (each step's expected packets joined), and whether the connection closed.
private func expectReplies(
    _ requests: [[UInt8]],
    _ expected: [[String]],
    closed: Bool,
    settings: MemcachedSettings = MemcachedSettings(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let (replies, wasClosed) = exchange(requests, settings: settings)
    #expect(replies.map(hex) == expected.map { $0.joined() }, sourceLocation: sourceLocation)
    #expect(wasClosed == closed, sourceLocation: sourceLocation)
}

/// The (name, value) pairs of the STAT packets answering `opaque` in `bytes`, up to the empty terminator (which
/// must be there).
private func statPackets(_ bytes: [UInt8], opaque: UInt32) -> [(String, String)] {
    var buffer = ByteBuffer(bytes: bytes)
    var stats: [(String, String)] = []
    while buffer.readableBytes >= 24 {
        let start = buffer.readerIndex
        let opcode = buffer.getInteger(at: start + 1, as: UInt8.self)!
        let keyLength = Int(buffer.getInteger(at: start + 2, as: UInt16.self)!)
        let bodyLength = Int(buffer.getInteger(at: start + 8, as: UInt32.self)!)
        let packetOpaque = buffer.getInteger(at: start + 12, as: UInt32.self)!
        buffer.moveReaderIndex(forwardBy: 24)
        let body = buffer.readBytes(length: bodyLength) ?? []
        guard opcode == 0x10 && packetOpaque == opaque else { continue }
        if keyLength == 0 { return stats }
        stats.append(
            (String(decoding: body[0..<keyLength], as: UTF8.self), String(decoding: body[keyLength...], as: UTF8.self))
        )
    }
    Issue.record("no STAT terminator")
    return stats
}
