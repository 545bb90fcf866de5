import Foundation
import Testing

@testable import SwiftletEngine

/// Guards the declarative command table: every registered command and subcommand must have the arity, flags,
/// legacy key positions and group that real Redis 7.0 reports in `COMMAND INFO` / `COMMAND DOCS`.
///
/// The snapshot `Fixtures/command-info.json` is written by `scripts/generate-command-metadata.py`.
struct CommandSpecSnapshotTests {
    struct Expected: Sendable {
        var arity: Int
        var flags: [String]
        var first: Int
        var last: Int
        var step: Int
        var group: String
    }

    static let snapshot: [String: Expected] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/command-info.json")
        // A missing or malformed fixture is a broken checkout: fail loudly.
        let data = try! Data(contentsOf: url)
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var result: [String: Expected] = [:]
        for row in root["commands"] as! [[String: Any]] {
            result[row["name"] as! String] = Expected(
                arity: row["arity"] as! Int,
                flags: row["flags"] as! [String],
                first: row["first"] as! Int,
                last: row["last"] as! Int,
                step: row["step"] as! Int,
                group: row["group"] as! String
            )
        }
        return result
    }()

    static let registered: [String] = CommandTable(Commands.all).commands.map(\.fullName)

    static func spec(_ fullName: String) -> CommandSpec {
        CommandTable(Commands.all).commands.first { $0.fullName == fullName }!
    }

    @Test func snapshotIsRedis70() {
        #expect(Self.snapshot.count > 300)
        #expect(Self.snapshot["get"]?.arity == 2)
    }

    @Test(arguments: registered)
    func specMatchesRedis(_ fullName: String) throws {
        let expected = try #require(Self.snapshot[fullName], "\(fullName) is not a Redis 7.0 command")
        let spec = Self.spec(fullName)
        #expect(spec.arity == expected.arity, "arity of \(fullName)")
        let flags = CommandFlags.names.filter { spec.flags.contains($0.0) }.map(\.1)
        #expect(flags == expected.flags, "flags of \(fullName)")
        let keys: [Int] = [spec.keys.first, spec.keys.last, spec.keys.step]
        let expectedKeys: [Int] = [expected.first, expected.last, expected.step]
        #expect(keys == expectedKeys, "first/last/step of \(fullName)")
        #expect(spec.group == expected.group, "group of \(fullName)")
        #expect(CommandMetadata.lookup(fullName) != nil, "metadata of \(fullName)")
    }

    @Test func namesAreUnique() {
        #expect(Set(Self.registered).count == Self.registered.count)
    }
}
