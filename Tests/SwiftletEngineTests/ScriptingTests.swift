import NIOCore
import SwiftletRESP
import Testing

@testable import SwiftletEngine

/// EVAL and the functions engine through the real dispatcher: the Lua sandbox, the redis API, the conversions and
/// the script rules. (The differential scripts compare the same things byte for byte with redis-server.)
struct ScriptingTests {
    @Test func evalReturnsConvertedValues() {
        let h = CommandHarness()
        #expect(h.raw("EVAL", "return 'hello'", "0") == "$5\r\nhello\r\n")
        #expect(h.raw("EVAL", "return 100.5", "0") == ":100\r\n")
        #expect(h.raw("EVAL", "return {1,2,{3,'x'},nil,5}", "0") == "*3\r\n:1\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n")
        #expect(h.raw("EVAL", "return true", "0") == ":1\r\n")
        #expect(h.raw("EVAL", "return false", "0") == "$-1\r\n")
        #expect(h.raw("EVAL", "return {ok='fine'}", "0") == "+fine\r\n")
        #expect(h.raw("EVAL", "return {err='My Error'}", "0") == "-My Error\r\n")
        #expect(h.raw("EVAL", "return redis.error_reply('CODE x')", "0") == "-CODE x\r\n")
        #expect(h.raw("EVAL", "return {double=3.5}", "0") == "$3\r\n3.5\r\n")
    }

    @Test func resp3CallersGetResp3Types() {
        let h = CommandHarness(protocolVersion: .resp3)
        #expect(h.raw("EVAL", "redis.setresp(3); return true", "0") == "#t\r\n")
        #expect(h.raw("EVAL", "return false", "0") == "_\r\n")
        #expect(h.raw("EVAL", "return {double=3.5}", "0") == ",3.5\r\n")
        #expect(h.raw("EVAL", "return {map={a=1}}", "0") == "%1\r\n$1\r\na\r\n:1\r\n")
        #expect(h.raw("EVAL", "return {set={a=true}}", "0") == "~1\r\n$1\r\na\r\n")
        #expect(h.raw("EVAL", "return {big_number='123'}", "0") == "(123\r\n")
    }

    @Test func redisCallRunsCommandsWithKeysAndArguments() {
        let h = CommandHarness()
        #expect(h.raw("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v") == "+OK\r\n")
        #expect(h.run("GET", "k") == .bulk("v"))
        #expect(h.raw("EVAL", "return redis.call('incrby', 'n', 2.5e1)", "0") == ":25\r\n")
        // RESP3 replies reach the script as tables (redis.setresp).
        h.run("HSET", "h", "f", "v")
        #expect(
            h.raw("EVAL", "redis.setresp(3); local m = redis.call('hgetall', 'h'); return m['map']['f']", "0")
                == "$1\r\nv\r\n"
        )
    }

    @Test func errorsCarryTheScriptAndLine() {
        let h = CommandHarness()
        h.run("SET", "s", "text")
        #expect(
            h.raw("EVAL", "return redis.call('incr','s')", "0")
                == "-ERR value is not an integer or out of range script: c243b9f46db13ba8f69da41b45a77708832babed, on @user_script:1.\r\n"
        )
        #expect(
            h.raw("EVAL", "return redis.pcall('incr','s')", "0") == "-ERR value is not an integer or out of range\r\n"
        )
        #expect(
            h.raw("EVAL", "return nil + 1", "0")
                .hasSuffix(
                    "user_script:1: attempt to perform arithmetic on a nil value script: "
                        + "d13bc48d895ba57f297c4db70c1d256548a54e2d, on @user_script:1.\r\n"
                )
        )
    }

    @Test func theSandboxIsReadOnly() {
        let h = CommandHarness()
        #expect(h.raw("EVAL", "a = 5", "0").contains("Attempt to modify a readonly table"))
        #expect(
            h.raw("EVAL", "return foo", "0").contains("Script attempted to access nonexistent global variable 'foo'")
        )
        #expect(h.raw("EVAL", "redis.call = function() end", "0").contains("Attempt to modify a readonly table"))
        #expect(h.raw("EVAL", "setmetatable(_G, {})", "0").contains("-ERR Attempt to modify a readonly table"))
        #expect(h.raw("EVAL", "rawset(string, 'x', 1)", "0").contains("Attempt to modify a readonly table"))
        #expect(h.raw("EVAL", "getmetatable('').__index.upper = nil", "0").contains("readonly table"))
        #expect(h.raw("EVAL", "return loadfile", "0").contains("nonexistent global variable 'loadfile'"))
        #expect(h.raw("EVAL", "return ('abc'):upper()", "0") == "$3\r\nABC\r\n")
        // Library tables can be read and walked, never written; getfenv/setfenv are gone, as in Redis 7.0.15.
        #expect(h.raw("EVAL", "local n = 0 for k in pairs(redis) do n = n + 1 end return n", "0") == ":23\r\n")
        #expect(h.raw("EVAL", "return type(rawget(string, 'format'))", "0") == "$8\r\nfunction\r\n")
        #expect(h.raw("EVAL", "return getmetatable('').__index == string", "0") == ":1\r\n")
        #expect(h.raw("EVAL", "return type(getmetatable(redis))", "0") == "$3\r\nnil\r\n")
        #expect(h.raw("EVAL", "return setfenv", "0").contains("nonexistent global variable 'setfenv'"))
        // A failed script leaves the interpreter usable.
        #expect(h.raw("EVAL", "return 1", "0") == ":1\r\n")
    }

    @Test func scriptCacheAndEvalsha() {
        let h = CommandHarness()
        let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        #expect(h.run("SCRIPT", "LOAD", "return 1") == .bulk(sha))
        #expect(h.raw("EVALSHA", sha, "0") == ":1\r\n")
        #expect(h.raw("EVALSHA", sha.uppercased(), "0") == ":1\r\n")
        #expect(h.raw("SCRIPT", "EXISTS", sha, "ffff", sha.uppercased()) == "*3\r\n:1\r\n:0\r\n:1\r\n")
        #expect(h.run("SCRIPT", "FLUSH") == .ok)
        #expect(h.raw("EVALSHA", sha, "0") == "-NOSCRIPT No matching script. Please use EVAL.\r\n")
        #expect(h.raw("EVALSHA", "short", "0") == "-NOSCRIPT No matching script. Please use EVAL.\r\n")
        #expect(h.raw("EVAL", "return 1", "2", "k") == "-ERR Number of keys can't be greater than number of args\r\n")
        #expect(h.raw("EVAL", "return 1", "-1") == "-ERR Number of keys can't be negative\r\n")
        #expect(h.raw("SCRIPT", "KILL") == "-NOTBUSY No scripts in execution right now.\r\n")
    }

    @Test func readOnlyScriptsRefuseWrites() {
        let h = CommandHarness()
        #expect(
            h.raw("EVAL_RO", "return redis.call('set','k','v')", "0")
                .hasPrefix("-ERR Write commands are not allowed from read-only scripts.")
        )
        #expect(
            h.raw("EVAL", "#!lua flags=no-writes\nreturn redis.call('set','k','v')", "0")
                .hasPrefix("-ERR Write commands are not allowed from read-only scripts.")
        )
        #expect(
            h.raw("EVAL_RO", "#!lua\nreturn 1", "0")
                == "-ERR Can not execute a script with write flag using *_ro command.\r\n"
        )
        #expect(
            h.raw("EVAL", "#!lua flags=bogus\nreturn 1", "0") == "-ERR Unexpected flag in script shebang: bogus\r\n"
        )
        #expect(h.raw("EVAL", "#!python\nreturn 1", "0") == "-ERR Unexpected engine in script shebang: #!python\r\n")
        #expect(h.run("GET", "k") == .bulkString(nil))
    }

    @Test func commandsScriptsMayNotRun() {
        let h = CommandHarness()
        #expect(
            h.raw("EVAL", "return redis.pcall('nosuch')", "0") == "-ERR Unknown Redis command called from script\r\n"
        )
        #expect(
            h.raw("EVAL", "return redis.pcall('get')", "0")
                == "-ERR Wrong number of args calling Redis command from script\r\n"
        )
        #expect(
            h.raw("EVAL", "return redis.pcall('multi')", "0")
                == "-ERR This Redis command is not allowed from script\r\n"
        )
        // BLPOP is noscript; BLMPOP is allowed and does not block inside a script.
        #expect(
            h.raw("EVAL", "return redis.pcall('blpop','nolist',0)", "0")
                == "-ERR This Redis command is not allowed from script\r\n"
        )
        #expect(h.raw("EVAL", "return redis.call('blmpop',0,1,'nolist','LEFT')", "0") == "$-1\r\n")
    }

    @Test func selectInsideAScriptLeavesTheCallersDatabase() {
        let h = CommandHarness()
        #expect(h.raw("EVAL", "redis.call('select', 9); return redis.call('set','k','v')", "0") == "+OK\r\n")
        #expect(h.run("GET", "k") == .bulkString(nil))
        h.run("SELECT", "9")
        #expect(h.run("GET", "k") == .bulk("v"))
    }

    @Test func functionsLoadListCallAndRestore() {
        let h = CommandHarness()
        let code = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"
        #expect(h.run("FUNCTION", "LOAD", code) == .bulk("mylib"))
        #expect(h.raw("FCALL", "myfunc", "0", "hi") == "$2\r\nhi\r\n")
        #expect(h.raw("FUNCTION", "LOAD", code) == "-ERR Library 'mylib' already exists\r\n")
        #expect(h.run("FUNCTION", "LOAD", "REPLACE", code) == .bulk("mylib"))
        #expect(h.raw("FCALL", "nosuch", "0") == "-ERR Function not found\r\n")
        #expect(h.raw("FCALL", "myfunc", "x") == "-ERR Bad number of keys provided\r\n")
        let named =
            "#!lua name=ro\nredis.register_function{function_name='rofunc', callback=function() "
            + "return redis.call('set','k','v') end, flags={'no-writes'}, description='d'}"
        #expect(h.run("FUNCTION", "LOAD", named) == .bulk("ro"))
        #expect(
            h.raw("FCALL_RO", "rofunc", "0").hasPrefix("-ERR Write commands are not allowed from read-only scripts.")
        )
        #expect(
            h.raw("FCALL_RO", "myfunc", "0") == "-ERR Can not execute a script with write flag using *_ro command.\r\n"
        )
        // Only the registration API exists while a library loads.
        #expect(
            h.raw("FUNCTION", "LOAD", "#!lua name=bad\nlocal s = string.format('x')")
                .contains("Script attempted to access nonexistent global variable 'string'")
        )
        #expect(h.raw("FUNCTION", "LOAD", "#!lua name=empty\nlocal x = 1") == "-ERR No functions registered\r\n")
        #expect(h.raw("FUNCTION", "LOAD", "return 1") == "-ERR Missing library metadata\r\n")
        #expect(
            h.raw("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('myfunc', function() end)")
                == "-ERR Function myfunc already exists\r\n"
        )
        let dump = h.run("FUNCTION", "DUMP")
        guard case .bulkString(let payload?) = dump else {
            Issue.record("FUNCTION DUMP replied \(dump)")
            return
        }
        #expect(h.run("FUNCTION", "FLUSH") == .ok)
        #expect(h.raw("FCALL", "myfunc", "0", "x") == "-ERR Function not found\r\n")
        #expect(h.run([Array("FUNCTION".utf8), Array("RESTORE".utf8), Array(payload.readableBytesView)]) == .ok)
        #expect(h.raw("FCALL", "myfunc", "0", "back") == "$4\r\nback\r\n")
        #expect(
            h.raw([Array("FUNCTION".utf8), Array("RESTORE".utf8), Array(payload.readableBytesView)])
                == "-ERR Library mylib already exists\r\n"
        )
        #expect(h.run("FUNCTION", "DELETE", "mylib") == .ok)
        #expect(h.raw("FUNCTION", "DELETE", "mylib") == "-ERR Library not found\r\n")
        #expect(h.raw("FUNCTION", "KILL") == "-NOTBUSY No scripts in execution right now.\r\n")
    }

    @Test func scriptsAreCountedInInfo() {
        let h = CommandHarness()
        h.run("SCRIPT", "LOAD", "return 1")
        h.run("SCRIPT", "LOAD", "return 2")
        guard case .bulkString(let info?) = h.run("INFO", "memory") else {
            Issue.record("no INFO")
            return
        }
        #expect(String(buffer: info).contains("number_of_cached_scripts:2\r\n"))
    }
}
