import Testing

@testable import SwiftletPersistence

struct AOFManifestTests {
    @Test func parsesWhatRedisWrites() throws {
        let text = """
            # a comment
            file appendonly.aof.2.base.rdb seq 2 type b
            file appendonly.aof.1.incr.aof seq 1 type h
            file appendonly.aof.2.incr.aof seq 2 type i
            file appendonly.aof.3.incr.aof seq 3 type i

            """
        let manifest = try AOFManifest.parse(text, prefix: "appendonly.aof")
        #expect(manifest.base?.name == "appendonly.aof.2.base.rdb")
        #expect(manifest.history.map(\.name) == ["appendonly.aof.1.incr.aof"])
        #expect(manifest.incrs.map(\.sequence) == [2, 3])
        #expect(manifest.filesToLoad.map(\.name).first == "appendonly.aof.2.base.rdb")
        #expect(manifest.render().hasPrefix("file appendonly.aof.2.base.rdb seq 2 type b\n"))
    }

    @Test func quotesNamesWithSpacesAndReadsThemBack() throws {
        var manifest = AOFManifest(prefix: "my file.aof")
        _ = manifest.newBase(rdbPreamble: true)
        _ = manifest.newIncr()
        let text = manifest.render()
        #expect(text.contains("file \"my file.aof.1.base.rdb\" seq 1 type b"))
        #expect(try AOFManifest.parse(text, prefix: "my file.aof") == manifest)
    }

    @Test func rewriteRetiresTheFilesItReplaces() {
        var manifest = AOFManifest(prefix: "appendonly.aof")
        _ = manifest.newBase(rdbPreamble: true)
        _ = manifest.newIncr()
        let incr = manifest.newIncr()
        _ = manifest.newBase(rdbPreamble: true)
        manifest.retireIncrs(before: incr)
        #expect(manifest.base?.name == "appendonly.aof.2.base.rdb")
        #expect(manifest.incrs.map(\.name) == ["appendonly.aof.2.incr.aof"])
        #expect(Set(manifest.history.map(\.name)) == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof"])
    }

    @Test func refusesBrokenManifests() {
        for text in [
            "", "# only a comment\n", "file a seq 1\n", "file a seq 1 type b\nfile b seq 2 type b\n",
            "file a seq 2 type i\nfile b seq 1 type i\n", "file \"unterminated seq 1 type i\n",
        ] {
            #expect(throws: AOFError.self) { try AOFManifest.parse(text, prefix: "appendonly.aof") }
        }
    }
}

struct AOFCommandReaderTests {
    static func encode(_ commands: [[String]]) -> [UInt8] {
        var out: [UInt8] = []
        for command in commands { AOFCommandWriter.append(command.map { Array($0.utf8) }, to: &out) }
        return out
    }

    @Test func readsCommandsAndAnnotations() throws {
        let bytes = Array("#TS:1700000000\r\n".utf8) + Self.encode([["SET", "k", "v"], ["DEL", "k"]])
        var reader = AOFCommandReader(bytes: bytes)
        #expect(try reader.next() == .annotation("TS:1700000000", span: 0..<16))
        guard case .command(let arguments, _)? = try reader.next() else {
            Issue.record("expected a command")
            return
        }
        #expect(arguments.map { String(decoding: bytes[$0], as: UTF8.self) } == ["SET", "k", "v"])
        #expect(try reader.next() != nil)
        #expect(try reader.next() == nil)
    }

    @Test func everyCutIsATornTailAtTheLastCompleteCommand() throws {
        let bytes = Self.encode([["SET", "a", "1"], ["RPUSH", "list", "x", "yy"], ["INCR", "counter"]])
        var ends: [Int] = [0]
        var reader = AOFCommandReader(bytes: bytes)
        while case .command(_, let span)? = try reader.next() { ends.append(span.upperBound) }
        for cut in 0..<bytes.count where !ends.contains(cut) {
            var torn = AOFCommandReader(bytes: Array(bytes[..<cut]))
            do {
                while try torn.next() != nil {}
                Issue.record("cut at \(cut) read without error")
            } catch {
                #expect(error.kind == .truncated(validLength: ends.last { $0 <= cut }!), "cut at \(cut)")
            }
        }
    }

    @Test func garbageIsABadFormatNotATruncation() {
        for text in ["*2\r\n$3\r\nGET\r\nx\r\n", "hello\r\n", "*0\r\n", "*1\r\n$3\r\nabcde\r\n"] {
            var reader = AOFCommandReader(bytes: Array(text.utf8))
            #expect {
                while try reader.next() != nil {}
            } throws: { error in
                guard let error = error as? AOFError, case .badFormat = error.kind else { return false }
                return true
            }
        }
    }

    @Test func decimalEncoding() {
        for value in [0, 7, 10, 99, 12345, Int(Int64.max)] {
            var out: [UInt8] = []
            AOFCommandWriter.appendDecimal(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(value))
        }
    }
}
