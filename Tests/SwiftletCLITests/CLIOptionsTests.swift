import SwiftletCLI
import Testing

private func parse(_ arguments: [String], tty: Bool = false) throws -> CLIOptions {
    try CLIOptions.parse(arguments + ["--no-auth-warning"] + ["ping"], stdoutIsTerminal: tty)
}

private func parseFailure(_ arguments: [String]) -> CLIExit? {
    do {
        _ = try CLIOptions.parse(arguments, stdoutIsTerminal: false)
        return nil
    } catch {
        return error
    }
}

struct CLIOptionsTests {
    @Test func defaults() throws {
        let options = try CLIOptions.parse(["get", "-x"], stdoutIsTerminal: false)
        #expect(options.host == "127.0.0.1")
        #expect(options.port == 6379)
        #expect(options.output == .raw)
        #expect(!options.showPushes)
        #expect(options.command == ["get", "-x"])  // options end at the first word
        let tty = try CLIOptions.parse(["ping"], stdoutIsTerminal: true)
        #expect(tty.output == .standard)
        #expect(tty.showPushes)
    }

    @Test func connectionOptions() throws {
        let options = try parse(["-h", "example", "-p", "7000", "-s", "/tmp/s", "-n", "3", "-a", "pw", "--user", "u"])
        #expect(options.host == "example")
        #expect(options.port == 7000)
        #expect(options.socketPath == "/tmp/s")
        #expect(options.database == 3)
        #expect(options.password == Array("pw".utf8))
        #expect(options.user == Array("u".utf8))
        #expect(try parse(["--pass", "p2"]).password == Array("p2".utf8))
    }

    @Test func outputAndProtocolOptions() throws {
        #expect(try parse(["--raw"], tty: true).output == .raw)
        #expect(try parse(["--no-raw"]).output == .standard)
        #expect(try parse(["--csv"]).output == .csv)
        #expect(try parse(["--json"]).output == .json)
        #expect(try parse(["--json"]).resp3 == .implicit)
        #expect(try parse(["-3", "--json"]).resp3 == .explicit)
        #expect(try parse(["--quoted-json"]).output == .quotedJSON)
        #expect(try parse(["-2"]).resp2)
        #expect(try parse(["--show-pushes", "yes"]).showPushes)
        #expect(try parse(["-d", ",", "-D", "|"]).bulkDelimiter == Array(",".utf8))
        #expect(try parse(["-e", "-x"]).exitOnErrorReply)
    }

    /// Huge, infinite and NaN intervals must not trap converting to an integer; huge ones are capped at about
    /// 31 years (1e15 µs), which the latency modes may still convert to `Int64`.
    @Test(
        arguments: [
            ("inf", 1_000_000_000_000_000), ("1e400", 1_000_000_000_000_000), ("1e14", 1_000_000_000_000_000),
            ("1e13", 1_000_000_000_000_000), ("1e9", 1_000_000_000_000_000), ("1e8", 100_000_000_000_000),
            ("-inf", 0), ("-1e400", 0), ("nan", 0), ("-0.5", 0), ("1e-7", 0),
        ] as [(String, UInt64)]
    )
    func extremeIntervalsAreClamped(text: String, microseconds: UInt64) throws {
        #expect(try parse(["-i", text]).intervalMicroseconds == microseconds)
    }

    @Test func repeatAndInterval() throws {
        let options = try parse(["-r", "5", "-i", "0.25"])
        #expect(options.repeatCount == 5)
        #expect(options.intervalMicroseconds == 250_000)
        #expect(try parse(["-r", "-1"]).repeatCount == -1)
        #expect(try parse(["-r", "abc"]).repeatCount == 0)  // strtoll: no digits is 0
        #expect(try parse(["-p", "12x"]).port == 12)  // atoi: leading digits
    }

    @Test(
        arguments: [
            ("redis://127.0.0.1:7001/2", "127.0.0.1", 7001, 2, nil, nil),
            ("redis://user:secret@host", "host", 6379, 0, "user", "secret"),
            ("redis://:secret@host:7002", "host", 7002, 0, "", "secret"),
            ("redis://secret@host/5", "host", 6379, 5, nil, "secret"),
            ("redis://u:p%41%2f@localhost:1/9", "localhost", 1, 9, "u", "pA/"),
            ("REDIS://h", "h", 6379, 0, nil, nil),
            ("redis://", "127.0.0.1", 6379, 0, nil, nil),
        ] as [(String, String, Int32, Int32, String?, String?)]
    )
    func uri(uri: String, host: String, port: Int32, database: Int32, user: String?, password: String?) throws {
        let options = try parse(["-u", uri])
        #expect(options.host == host)
        #expect(options.port == port)
        #expect(options.database == database)
        #expect(options.user == user.map { Array($0.utf8) })
        #expect(options.password == password.map { Array($0.utf8) })
    }

    @Test func uriErrors() {
        #expect(parseFailure(["-u", "http://x", "ping"])?.stderr == "Invalid URI scheme\n")
        #expect(parseFailure(["-u", "redis://:p%@h", "ping"])?.stderr == "Incomplete URI encoding\n")
        #expect(parseFailure(["-u", "redis://:p%4@h", "ping"])?.stderr == "Illegal character in URI encoding\n")
        #expect(parseFailure(["-u", "redis://:p%zz@h", "ping"])?.stderr == "Illegal character in URI encoding\n")
    }

    @Test func badOptions() {
        #expect(parseFailure(["--bogus"])?.stderr == "Unrecognized option or bad number of args for: '--bogus'\n")
        #expect(parseFailure(["-a"])?.stderr == "Unrecognized option or bad number of args for: '-a'\n")
        #expect(parseFailure(["-2", "-3"])?.stderr == "Options -2 and -3 are mutually exclusive.\n")
        #expect(parseFailure(["-c", "ping"])?.status == 1)
        #expect(parseFailure(["--tls"])?.stderr.contains("not supported") == true)
        #expect(parseFailure(["--help"])?.status == 0)
        #expect(parseFailure(["--version"])?.stdout.hasPrefix("swiftlet-cli ") == true)
    }

    @Test func environmentPassword() throws {
        let options = try CLIOptions.parse(["ping"], environment: ["REDISCLI_AUTH": "env"], stdoutIsTerminal: false)
        #expect(options.password == Array("env".utf8))
        let explicit = try CLIOptions.parse(
            ["-a", "cli", "--no-auth-warning", "ping"],
            environment: ["REDISCLI_AUTH": "env"],
            stdoutIsTerminal: false
        )
        #expect(explicit.password == Array("cli".utf8))
    }
}

extension CLIOptionsTests {
    @Test func askPassword() throws {
        #expect(try parse(["--askpass"]).askPassword)
        #expect(try !parse([]).askPassword)
    }
}

extension CLIOptionsTests {
    static let passwordWarning =
        "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n"

    @Test func warnings() throws {
        #expect(try CLIOptions.parse(["-a", "pw", "ping"], stdoutIsTerminal: false).warnings == Self.passwordWarning)
        #expect(try CLIOptions.parse(["-u", "redis://:pw@h", "ping"], stdoutIsTerminal: false).warnings != "")
        #expect(try parse(["-a", "pw"]).warnings == "")
        let environment = try CLIOptions.parse(["ping"], environment: ["REDISCLI_AUTH": "e"], stdoutIsTerminal: false)
        #expect(environment.warnings == "")
        let pushes = try CLIOptions.parse(["--show-pushes", "maybe", "ping"], stdoutIsTerminal: false)
        #expect(pushes.warnings == "Unknown --show-pushes value 'maybe' (valid: '[y]es', '[n]o')\n")
        // A warning printed before a fatal option error still comes first.
        let failure = parseFailure(["-a", "pw", "-x", "-X", "t", "ping"])
        #expect(failure?.stderr == Self.passwordWarning + "Options -x and -X are mutually exclusive.\n")
    }
}
