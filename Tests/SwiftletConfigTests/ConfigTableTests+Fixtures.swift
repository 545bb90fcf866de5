@testable import SwiftletConfig

/// Expected values recorded from real redis-server 7.0.15 (Debian build with TLS).
extension ConfigTableTests {
    /// `CONFIG GET *` on a fresh redis-server 7.0.15 (started with `--port 7777 --save ''`, so those two and `dir`
    /// are replaced by their defaults and the simulated directory).
    static let defaultSnapshot: [(String, String)] = [
        ("acl-pubsub-default", "resetchannels"),
        ("aclfile", ""),
        ("acllog-max-len", "128"),
        ("active-defrag-cycle-max", "25"),
        ("active-defrag-cycle-min", "1"),
        ("active-defrag-ignore-bytes", "104857600"),
        ("active-defrag-max-scan-fields", "1000"),
        ("active-defrag-threshold-lower", "10"),
        ("active-defrag-threshold-upper", "100"),
        ("active-expire-effort", "1"),
        ("activedefrag", "no"),
        ("activerehashing", "yes"),
        ("always-show-logo", "no"),
        ("aof-disable-auto-gc", "no"),
        ("aof-load-truncated", "yes"),
        ("aof-rewrite-incremental-fsync", "yes"),
        ("aof-timestamp-enabled", "no"),
        ("aof-use-rdb-preamble", "yes"),
        ("aof_rewrite_cpulist", ""),
        ("appenddirname", "appendonlydir"),
        ("appendfilename", "appendonly.aof"),
        ("appendfsync", "everysec"),
        ("appendonly", "no"),
        ("auto-aof-rewrite-min-size", "67108864"),
        ("auto-aof-rewrite-percentage", "100"),
        ("bgsave_cpulist", ""),
        ("bind", "* -::*"),
        ("bind-source-addr", ""),
        ("bio_cpulist", ""),
        ("busy-reply-threshold", "5000"),
        ("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
        ("client-query-buffer-limit", "1073741824"),
        ("cluster-allow-pubsubshard-when-down", "yes"),
        ("cluster-allow-reads-when-down", "no"),
        ("cluster-allow-replica-migration", "yes"),
        ("cluster-announce-bus-port", "0"),
        ("cluster-announce-hostname", ""),
        ("cluster-announce-ip", ""),
        ("cluster-announce-port", "0"),
        ("cluster-announce-tls-port", "0"),
        ("cluster-config-file", "nodes.conf"),
        ("cluster-enabled", "no"),
        ("cluster-link-sendbuf-limit", "0"),
        ("cluster-migration-barrier", "1"),
        ("cluster-node-timeout", "15000"),
        ("cluster-port", "0"),
        ("cluster-preferred-endpoint-type", "ip"),
        ("cluster-replica-no-failover", "no"),
        ("cluster-replica-validity-factor", "10"),
        ("cluster-require-full-coverage", "yes"),
        ("cluster-slave-no-failover", "no"),
        ("cluster-slave-validity-factor", "10"),
        ("crash-log-enabled", "yes"),
        ("crash-memcheck-enabled", "yes"),
        ("daemonize", "no"),
        ("databases", "16"),
        ("dbfilename", "dump.rdb"),
        ("dir", "/data"),
        ("disable-thp", "yes"),
        ("dynamic-hz", "yes"),
        ("enable-debug-command", "no"),
        ("enable-module-command", "no"),
        ("enable-protected-configs", "no"),
        ("hash-max-listpack-entries", "512"),
        ("hash-max-listpack-value", "64"),
        ("hash-max-ziplist-entries", "512"),
        ("hash-max-ziplist-value", "64"),
        ("hll-sparse-max-bytes", "3000"),
        ("hz", "10"),
        ("ignore-warnings", ""),
        ("io-threads", "1"),
        ("io-threads-do-reads", "no"),
        ("jemalloc-bg-thread", "yes"),
        ("latency-monitor-threshold", "0"),
        ("latency-tracking", "yes"),
        ("latency-tracking-info-percentiles", "50 99 99.9"),
        ("lazyfree-lazy-eviction", "no"),
        ("lazyfree-lazy-expire", "no"),
        ("lazyfree-lazy-server-del", "no"),
        ("lazyfree-lazy-user-del", "no"),
        ("lazyfree-lazy-user-flush", "no"),
        ("lfu-decay-time", "1"),
        ("lfu-log-factor", "10"),
        ("list-compress-depth", "0"),
        ("list-max-listpack-size", "-2"),
        ("list-max-ziplist-size", "-2"),
        ("logfile", ""),
        ("loglevel", "notice"),
        ("lua-time-limit", "5000"),
        ("masterauth", ""),
        ("masteruser", ""),
        ("maxclients", "10000"),
        ("maxmemory", "0"),
        ("maxmemory-clients", "0"),
        ("maxmemory-eviction-tenacity", "10"),
        ("maxmemory-policy", "noeviction"),
        ("maxmemory-samples", "5"),
        ("min-replicas-max-lag", "10"),
        ("min-replicas-to-write", "0"),
        ("min-slaves-max-lag", "10"),
        ("min-slaves-to-write", "0"),
        ("no-appendfsync-on-rewrite", "no"),
        ("notify-keyspace-events", ""),
        ("oom-score-adj", "no"),
        ("oom-score-adj-values", "0 200 800"),
        ("pidfile", ""),
        ("port", "6379"),
        ("proc-title-template", "{title} {listen-addr} {server-mode}"),
        ("propagation-error-behavior", "ignore"),
        ("protected-mode", "yes"),
        ("proto-max-bulk-len", "536870912"),
        ("rdb-del-sync-files", "no"),
        ("rdb-save-incremental-fsync", "yes"),
        ("rdbchecksum", "yes"),
        ("rdbcompression", "yes"),
        ("repl-backlog-size", "1048576"),
        ("repl-backlog-ttl", "3600"),
        ("repl-disable-tcp-nodelay", "no"),
        ("repl-diskless-load", "disabled"),
        ("repl-diskless-sync", "yes"),
        ("repl-diskless-sync-delay", "5"),
        ("repl-diskless-sync-max-replicas", "0"),
        ("repl-ping-replica-period", "10"),
        ("repl-ping-slave-period", "10"),
        ("repl-timeout", "60"),
        ("replica-announce-ip", ""),
        ("replica-announce-port", "0"),
        ("replica-announced", "yes"),
        ("replica-ignore-disk-write-errors", "no"),
        ("replica-ignore-maxmemory", "yes"),
        ("replica-lazy-flush", "no"),
        ("replica-priority", "100"),
        ("replica-read-only", "yes"),
        ("replica-serve-stale-data", "yes"),
        ("replicaof", ""),
        ("requirepass", ""),
        ("sanitize-dump-payload", "no"),
        ("save", "3600 1 300 100 60 10000"),
        ("server_cpulist", ""),
        ("set-max-intset-entries", "512"),
        ("set-proc-title", "yes"),
        ("shutdown-on-sigint", "default"),
        ("shutdown-on-sigterm", "default"),
        ("shutdown-timeout", "10"),
        ("slave-announce-ip", ""),
        ("slave-announce-port", "0"),
        ("slave-ignore-maxmemory", "yes"),
        ("slave-lazy-flush", "no"),
        ("slave-priority", "100"),
        ("slave-read-only", "yes"),
        ("slave-serve-stale-data", "yes"),
        ("slaveof", ""),
        ("slowlog-log-slower-than", "10000"),
        ("slowlog-max-len", "128"),
        ("socket-mark-id", "0"),
        ("stop-writes-on-bgsave-error", "yes"),
        ("stream-node-max-bytes", "4096"),
        ("stream-node-max-entries", "100"),
        ("supervised", "no"),
        ("syslog-enabled", "no"),
        ("syslog-facility", "local0"),
        ("syslog-ident", "redis"),
        ("tcp-backlog", "511"),
        ("tcp-keepalive", "300"),
        ("timeout", "0"),
        ("tls-auth-clients", "yes"),
        ("tls-ca-cert-dir", ""),
        ("tls-ca-cert-file", ""),
        ("tls-cert-file", ""),
        ("tls-ciphers", ""),
        ("tls-ciphersuites", ""),
        ("tls-client-cert-file", ""),
        ("tls-client-key-file", ""),
        ("tls-client-key-file-pass", ""),
        ("tls-cluster", "no"),
        ("tls-dh-params-file", ""),
        ("tls-key-file", ""),
        ("tls-key-file-pass", ""),
        ("tls-port", "0"),
        ("tls-prefer-server-ciphers", "no"),
        ("tls-protocols", ""),
        ("tls-replication", "no"),
        ("tls-session-cache-size", "20480"),
        ("tls-session-cache-timeout", "300"),
        ("tls-session-caching", "yes"),
        ("tracking-table-max-keys", "1000000"),
        ("unixsocket", ""),
        ("unixsocketperm", "0"),
        ("zset-max-listpack-entries", "128"),
        ("zset-max-listpack-value", "64"),
        ("zset-max-ziplist-entries", "128"),
        ("zset-max-ziplist-value", "64"),
    ]

    /// `CONFIG SET <args>` on a fresh redis-server 7.0.15 started with `--port 7780 --save ''`, the reply, and
    /// `CONFIG GET` of each name afterwards.
    static let setCases: [(args: [String], reply: String, after: [String?])] = [
        (["nosuch", "1"], "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'", [nil]),
        (
            ["NoSuch", "1", "maxmemory", "x"], "-ERR Unknown option or number of arguments for CONFIG SET - 'NoSuch'",
            [nil, "0"]
        ),
        (
            ["maxmemory", "x"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value", ["0"]
        ),
        (
            ["MAXMEMORY", "x"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value", ["0"]
        ),
        (
            ["maxmemory", "-1"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value", ["0"]
        ),
        (
            ["maxmemory", "1.5gb"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value", ["0"]
        ),
        (
            ["maxmemory", "+5"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value", ["0"]
        ),
        (
            ["maxmemory", " 5"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value", ["0"]
        ),
        (["maxmemory", "1GB"], "OK", ["1073741824"]),
        (["maxmemory", "1Kb"], "OK", ["1024"]),
        (["maxmemory", "1k"], "OK", ["1000"]),
        (["maxmemory", "18446744073709551616"], "OK", ["18446744073709551615"]),
        (["maxmemory", "20000000000gb"], "OK", ["3028092406290448384"]),
        (["maxmemory", ""], "OK", ["0"]),
        (
            ["protected-mode", "maybe"],
            "-ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'",
            ["yes"]
        ),
        (["protected-mode", "YES"], "OK", ["yes"]),
        (
            ["port", "70000"],
            "-ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive",
            ["7780"]
        ),
        (
            ["port", "-1"],
            "-ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive",
            ["7780"]
        ),
        (
            ["port", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer",
            ["7780"]
        ),
        (
            ["port", "07777"],
            "-ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer",
            ["7780"]
        ),
        (
            ["hz", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            ["10"]
        ),
        (["hz", "1000"], "OK", ["500"]),
        (["hz", "0"], "OK", ["1"]),
        (
            ["hz", "-1"],
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive",
            ["10"]
        ),
        (
            ["maxclients", "0"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive",
            ["10000"]
        ),
        (
            ["hash-max-listpack-entries", "-1"],
            "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive",
            ["512"]
        ),
        (
            ["hash-max-ziplist-value", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-value') - argument must be a memory value",
            ["64"]
        ),
        (
            ["slowlog-max-len", "-1"],
            "-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 9223372036854775807 inclusive",
            ["128"]
        ),
        (
            ["slowlog-log-slower-than", "-2"],
            "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive",
            ["10000"]
        ),
        (
            ["list-max-listpack-size", "3000000000"],
            "-ERR CONFIG SET failed (possibly related to argument 'list-max-listpack-size') - argument must be between -2147483648 and 2147483647 inclusive",
            ["-2"]
        ),
        (
            ["maxmemory-policy", "foo"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
            ["noeviction"]
        ),
        (["maxmemory-policy", "ALLKEYS-LRU"], "OK", ["allkeys-lru"]),
        (
            ["loglevel", "foo"],
            "-ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning",
            ["notice"]
        ),
        (
            ["daemonize", "yes"],
            "-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config", ["no"]
        ),
        (
            ["DAEMONIZE", "yes"],
            "-ERR CONFIG SET failed (possibly related to argument 'DAEMONIZE') - can't set immutable config", ["no"]
        ),
        (
            ["databases", "10"],
            "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config", ["16"]
        ),
        (
            ["maxmemory", "1mb", "maxmemory", "2mb"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter", ["0", "0"]
        ),
        (
            ["maxmemory", "1mb", "MAXMEMORY", "2mb"],
            "-ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter", ["0", "0"]
        ),
        (["replica-read-only", "yes", "slave-read-only", "no"], "OK", ["no", "no"]),
        (
            ["maxmemory", "1mb", "daemonize", "yes"],
            "-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
            ["0", "no"]
        ),
        (
            ["daemonize", "yes", "nosuch", "1"],
            "-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
            ["no", nil]
        ),
        (
            ["maxmemory", "1mb", "nosuch", "1"], "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
            ["0", nil]
        ),
        (
            ["maxmemory", "1mb", "hz", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            ["0", "10"]
        ),
        (
            ["SLAVE-read-only", "maybe"],
            "-ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'",
            ["yes"]
        ),
        (["maxmemory-clients", "10%"], "OK", ["10%"]),
        (
            ["maxmemory-clients", "101%"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100",
            ["0"]
        ),
        (
            ["maxmemory-clients", "-1%"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value",
            ["0"]
        ),
        (["maxmemory-clients", "0%"], "OK", ["0"]),
        (
            ["maxmemory-clients", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value",
            ["0"]
        ),
        (
            ["unixsocketperm", "777"],
            "-ERR CONFIG SET failed (possibly related to argument 'unixsocketperm') - can't set immutable config", ["0"]
        ),
        (
            ["save", "100"], "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
            [""]
        ),
        (
            ["save", "0 1"], "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
            [""]
        ),
        (["save", "100 10 5 2"], "OK", ["100 10 5 2"]),
        (
            ["save", "100  10"],
            "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters", [""]
        ),
        (["save", "100 "], "OK", ["100 0"]),
        (["save", ""], "OK", [""]),
        (["notify-keyspace-events", "KEA"], "OK", ["AKE"]),
        (["notify-keyspace-events", "Eg$lshzxetdnm"], "OK", ["AEm"]),
        (
            ["notify-keyspace-events", "Q"],
            "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
            [""]
        ),
        (
            ["client-output-buffer-limit", "normal 1mb 2mb 3"], "OK",
            ["normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60"]
        ),
        (
            ["client-output-buffer-limit", "replica 1 2 3"], "OK",
            ["normal 0 0 0 slave 1 2 3 pubsub 33554432 8388608 60"]
        ),
        (
            ["client-output-buffer-limit", "master 1 2 3"],
            "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.",
            ["normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"]
        ),
        (
            ["client-output-buffer-limit", "normal 1 2"],
            "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.",
            ["normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"]
        ),
        (
            ["client-output-buffer-limit", "normal x 2 3"],
            "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            ["normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"]
        ),
        (
            ["client-output-buffer-limit", "pubsub 1 2 4294967296"], "OK",
            ["normal 0 0 0 slave 268435456 67108864 60 pubsub 1 2 0"]
        ),
        (
            ["oom-score-adj-values", "0 200"],
            "-ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - wrong number of arguments",
            ["0 200 800"]
        ),
        (
            ["oom-score-adj-values", "0 200 3000"],
            "-ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
            ["0 200 800"]
        ),
        (["oom-score-adj-values", "1 2 3"], "OK", ["1 2 3"]),
        (["shutdown-on-sigint", "save now"], "OK", ["save now"]),
        (
            ["shutdown-on-sigint", "save nosave"],
            "-ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - shutdown options SAVE and NOSAVE can't be used simultaneously",
            ["default"]
        ),
        (
            ["shutdown-on-sigint", "foo"],
            "-ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - argument(s) must be one of the following: default, save, nosave, now, force",
            ["default"]
        ),
        (
            ["shutdown-on-sigint", ""],
            "-ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - argument(s) must be one of the following: default, save, nosave, now, force",
            ["default"]
        ),
        (["shutdown-on-sigint", "now force default"], "OK", ["now force"]),
        (
            ["dbfilename", "dump2.rdb"],
            "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config",
            ["dump.rdb"]
        ),
        (
            ["appendfsync", "sometimes"],
            "-ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no",
            ["everysec"]
        ),
        (["oom-score-adj", "relative"], "OK", ["yes"]),
        (["latency-tracking-info-percentiles", "0.5 1e1 33.333333333"], "OK", ["0.5 10 33.333333"]),
        (
            ["latency-tracking-info-percentiles", "101"],
            "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
            ["50 99 99.9"]
        ),
        (
            ["latency-tracking-info-percentiles", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters",
            ["50 99 99.9"]
        ),
        (
            ["replicaof", "no one"],
            "-ERR CONFIG SET failed (possibly related to argument 'replicaof') - can't set immutable config", [""]
        ),
        (
            ["cluster-announce-hostname", "a_b"],
            "-ERR CONFIG SET failed (possibly related to argument 'cluster-announce-hostname') - Hostnames may only contain alphanumeric characters, hyphens or dots",
            [""]
        ),
        (
            ["proc-title-template", "{title}"],
            "-ERR CONFIG SET failed (possibly related to argument 'proc-title-template') - template format is invalid or contains unknown variables",
            ["{title} {listen-addr} {server-mode}"]
        ),
        (["proc-title-template", "x{{y"], "OK", ["x{{y"]),
        (
            ["enable-debug-command", "yes"],
            "-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config",
            ["no"]
        ),
        (
            ["activedefrag", "yes"],
            "-ERR CONFIG SET failed (possibly related to argument 'activedefrag') - Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution",
            ["no"]
        ),
        (
            ["tls-port", "6380"],
            "-ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to update TLS configuration. Check server logs.",
            ["0"]
        ),
        (
            ["tls-replication", "yes"],
            "-ERR CONFIG SET failed (possibly related to argument 'tls-replication') - Unable to update TLS configuration. Check server logs.",
            ["no"]
        ),
        (
            ["proto-max-bulk-len", "1000"],
            "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive",
            ["536870912"]
        ),
        (
            ["client-query-buffer-limit", "1000"],
            "-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive",
            ["1073741824"]
        ),
        (
            ["repl-backlog-size", "0"],
            "-ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be between 1 and 9223372036854775807 inclusive",
            ["1048576"]
        ),
        (["repl-backlog-size", "3000"], "OK", ["16384"]),
        (
            ["lua-time-limit", "-1"],
            "-ERR CONFIG SET failed (possibly related to argument 'lua-time-limit') - argument must be between 0 and 9223372036854775807 inclusive",
            ["5000"]
        ),
        (
            ["unixsocketperm", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'unixsocketperm') - can't set immutable config", ["0"]
        ),
        (
            ["socket-mark-id", "1"],
            "-ERR CONFIG SET failed (possibly related to argument 'socket-mark-id') - can't set immutable config", ["0"]
        ),
        (["requirepass", "secret"], "OK", ["secret"]),
        (["masteruser", "a b"], "OK", ["a b"]),
        (["rdb-key-save-delay", "-5"], "OK", ["-5"]),
        (
            ["watchdog-period", "x"],
            "-ERR CONFIG SET failed (possibly related to argument 'watchdog-period') - argument couldn't be parsed into an integer",
            ["0"]
        ),
    ]

    /// Config files redis-server 7.0.15 refused at startup (`redis-server file --port 7790 --save ''`), and what it
    /// printed to standard error.
    static let fatalConfigCases: [(file: String, stderr: String)] = [
        (
            "foo bar",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'foo bar'\nBad directive or wrong number of arguments\n"
        ),
        (
            "# c\n\nport 1 2",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> 'port 1 2'\nwrong number of arguments\n"
        ),
        (
            "maxmemory x",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'maxmemory x'\nargument must be a memory value\n"
        ),
        (
            "port \"abc",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'port \"abc'\nUnbalanced quotes in configuration line\n"
        ),
        (
            "daemonize maybe",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'daemonize maybe'\nargument must be 'yes' or 'no'\n"
        ),
        (
            "save 1",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'save 1'\nInvalid save parameters\n"
        ),
        (
            "  hz   \"10\"  \nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "PORT 7790\nbadline here",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'badline here'\nBad directive or wrong number of arguments\n"
        ),
        (
            "list-max-ziplist-entries 5\nlua-replicate-commands yes\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "maxmemory-policy bad",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'maxmemory-policy bad'\nargument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\n"
        ),
        (
            "notify-keyspace-events Q",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'notify-keyspace-events Q'\nInvalid event class character. Use 'Ag$lshzxeKEtmdn'.\n"
        ),
        (
            "port 'ab\\'c'",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'port 'ab\\'c''\nargument couldn't be parsed into an integer\n"
        ),
        (
            "port \"a\\x41\"x",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'port \"a\\x41\"x'\nUnbalanced quotes in configuration line\n"
        ),
        (
            "shutdown-on-sigint \"save now\"\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "slaveof a",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'slaveof a'\nwrong number of arguments\n"
        ),
        (
            "replicaof localhost 99999",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'replicaof localhost 99999'\nInvalid master port\n"
        ),
        (
            "unixsocketperm 999",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'unixsocketperm 999'\nargument couldn't be parsed as an octal number\n"
        ),
        (
            "unixsocketperm 0x7",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'unixsocketperm 0x7'\nargument couldn't be parsed as an octal number\n"
        ),
        (
            "client-output-buffer-limit normal 1 2 3 4",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'client-output-buffer-limit normal 1 2 3 4'\nWrong number of arguments in buffer limit configuration.\n"
        ),
        (
            "requirepass",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'requirepass'\nwrong number of arguments\n"
        ),
        (
            "sentinel foo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'sentinel foo'\nsentinel directive while not in sentinel mode\n"
        ),
        (
            "a.b",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'a.b'\nModule config specified without value\n"
        ),
        (
            "enable-protected-configs maybe",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'enable-protected-configs maybe'\nargument(s) must be one of the following: no, yes, local\n"
        ),
        (
            "\tport\t7790\u{D}\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "port 7790 # comment",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'port 7790 # comment'\nwrong number of arguments\n"
        ),
        (
            "\"port\" \"7790\"\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "port \"\"",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'port \"\"'\nargument couldn't be parsed into an integer\n"
        ),
        (
            "hz 0\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "save \"\" \nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "bind \"\"\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "save 10 1 20 2\nsave 30 3\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "maxmemory-clients 10%\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "loglevel NOTICE\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
        (
            "databases 0",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'databases 0'\nargument must be between 1 and 2147483647 inclusive\n"
        ),
        (
            "port 80 80",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'port 80 80'\nwrong number of arguments\n"
        ),
        (
            "shutdown-on-sigint",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'shutdown-on-sigint'\nargument(s) must be one of the following: default, save, nosave, now, force\n"
        ),
        (
            "shutdown-on-sigint \"\"",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'shutdown-on-sigint \"\"'\nargument(s) must be one of the following: default, save, nosave, now, force\n"
        ),
        (
            "appendonly yes yes",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'appendonly yes yes'\nwrong number of arguments\n"
        ),
        (
            "\"unterminated",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> '\"unterminated'\nUnbalanced quotes in configuration line\n"
        ),
        (
            "port \"7790\"x",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'port \"7790\"x'\nUnbalanced quotes in configuration line\n"
        ),
        (
            "dbfilename a/b",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'dbfilename a/b'\ndbfilename can't be a path, just a filename\n"
        ),
        (
            "activedefrag yes",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'activedefrag yes'\nActive defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution\n"
        ),
        (
            "hz 1000\nfoo",
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments\n"
        ),
    ]
}
