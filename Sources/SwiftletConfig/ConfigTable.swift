/// The complete Redis 7.0 configuration table: every parameter `CONFIG GET *` lists on redis-server 7.0.15 (built
/// with TLS), plus the five hidden ones, in config.c's order. Names, aliases, bounds, defaults and flags are copied
/// from config.c's `static_configs`; a test compares `CONFIG GET *` of a fresh store with real Redis's.
public enum ConfigTable {
    /// All parameters.
    public static let parameters: [ConfigParameter] = [
        // MARK: Bool configs
        .bool("rdbchecksum", [.immutable], default: true),
        .bool("daemonize", [.immutable], default: false),
        .bool("io-threads-do-reads", [.debug, .immutable], default: false),
        .bool("always-show-logo", [.immutable], default: false),
        .bool("protected-mode", [], default: true),
        .bool("rdbcompression", [], default: true),
        .bool("rdb-del-sync-files", [], default: false),
        .bool("activerehashing", [], default: true),
        .bool("stop-writes-on-bgsave-error", [], default: true),
        .bool("set-proc-title", [.immutable], default: true),
        .bool("dynamic-hz", [], default: true),
        .bool("lazyfree-lazy-eviction", [.debug], default: false),
        .bool("lazyfree-lazy-expire", [.debug], default: false),
        .bool("lazyfree-lazy-server-del", [.debug], default: false),
        .bool("lazyfree-lazy-user-del", [.debug], default: false),
        .bool("lazyfree-lazy-user-flush", [.debug], default: false),
        .bool("repl-disable-tcp-nodelay", [], default: false),
        .bool("repl-diskless-sync", [.debug], default: true),
        .bool("aof-rewrite-incremental-fsync", [], default: true),
        .bool("no-appendfsync-on-rewrite", [], default: false),
        .bool("cluster-require-full-coverage", [], default: true),
        .bool("rdb-save-incremental-fsync", [], default: true),
        .bool("aof-load-truncated", [], default: true),
        .bool("aof-use-rdb-preamble", [], default: true),
        .bool("aof-timestamp-enabled", [], default: false),
        .bool("cluster-replica-no-failover", alias: "cluster-slave-no-failover", [], default: false),
        .bool("replica-lazy-flush", alias: "slave-lazy-flush", [], default: false),
        .bool("replica-serve-stale-data", alias: "slave-serve-stale-data", [], default: true),
        .bool("replica-read-only", alias: "slave-read-only", [.debug], default: true),
        .bool("replica-ignore-maxmemory", alias: "slave-ignore-maxmemory", [], default: true),
        .bool("jemalloc-bg-thread", [], default: true),
        .bool("activedefrag", [.debug], default: false, validator: .activeDefrag),
        .bool("syslog-enabled", [.immutable], default: false),
        .bool("cluster-enabled", [.immutable], default: false),
        .bool("appendonly", [.denyLoading], default: false),
        .bool("cluster-allow-reads-when-down", [], default: false),
        .bool("cluster-allow-pubsubshard-when-down", [], default: true),
        .bool("crash-log-enabled", [], default: true),
        .bool("crash-memcheck-enabled", [], default: true),
        .bool("use-exit-on-panic", [.hidden], default: false),
        .bool("disable-thp", [.immutable], default: true),
        .bool("cluster-allow-replica-migration", [], default: true),
        .bool("replica-announced", [], default: true),
        .bool("latency-tracking", [], default: true),
        .bool("aof-disable-auto-gc", [], default: false),
        .bool("replica-ignore-disk-write-errors", [], default: false),

        // MARK: String configs
        .string("aclfile", [.immutable], default: "", emptyIsNull: false),
        .string("unixsocket", [.immutable], default: nil, emptyIsNull: true),
        .string("pidfile", [.immutable], default: nil, emptyIsNull: true),
        .string("replica-announce-ip", alias: "slave-announce-ip", [], default: nil, emptyIsNull: true),
        .string("masteruser", [.sensitive], default: nil, emptyIsNull: true),
        .string("cluster-announce-ip", [], default: nil, emptyIsNull: true),
        .string("cluster-config-file", [.immutable], default: "nodes.conf", emptyIsNull: false),
        .string("cluster-announce-hostname", [], default: nil, emptyIsNull: true, validator: .announcedHostname),
        .string("syslog-ident", [.immutable], default: "redis", emptyIsNull: false),
        .string("dbfilename", [.protected], default: "dump.rdb", emptyIsNull: false, validator: .dbFilename),
        .string("appendfilename", [.immutable], default: "appendonly.aof", emptyIsNull: false, validator: .aofFilename),
        .string("appenddirname", [.immutable], default: "appendonlydir", emptyIsNull: false, validator: .aofDirname),
        .string("server_cpulist", [.immutable], default: nil, emptyIsNull: true),
        .string("bio_cpulist", [.immutable], default: nil, emptyIsNull: true),
        .string("aof_rewrite_cpulist", [.immutable], default: nil, emptyIsNull: true),
        .string("bgsave_cpulist", [.immutable], default: nil, emptyIsNull: true),
        .string("ignore-warnings", [], default: "", emptyIsNull: false),
        .string(
            "proc-title-template",
            [],
            default: "{title} {listen-addr} {server-mode}",
            emptyIsNull: false,
            validator: .procTitleTemplate
        ),
        .string("bind-source-addr", [], default: nil, emptyIsNull: true),
        .string("logfile", [.immutable], default: "", emptyIsNull: false),
        .string("masterauth", [.sensitive], default: nil, emptyIsNull: true),
        .string("requirepass", [.sensitive], default: nil, emptyIsNull: true),

        // MARK: Enum configs
        .enumeration("supervised", [.immutable], options: ConfigEnums.supervised, default: "no"),
        .enumeration("syslog-facility", [.immutable], options: ConfigEnums.syslogFacility, default: "local0"),
        .enumeration(
            "repl-diskless-load",
            [.debug, .denyLoading],
            options: ConfigEnums.replDisklessLoad,
            default: "disabled"
        ),
        .enumeration("loglevel", [], options: ConfigEnums.logLevel, default: "notice"),
        .enumeration("maxmemory-policy", [], options: ConfigEnums.maxmemoryPolicy, default: "noeviction"),
        .enumeration("appendfsync", [], options: ConfigEnums.appendFsync, default: "everysec"),
        .enumeration("oom-score-adj", [], options: ConfigEnums.oomScoreAdj, default: "no"),
        .enumeration("acl-pubsub-default", [], options: ConfigEnums.aclPubsubDefault, default: "resetchannels"),
        .enumeration("sanitize-dump-payload", [.debug], options: ConfigEnums.sanitizeDumpPayload, default: "no"),
        .enumeration("enable-protected-configs", [.immutable], options: ConfigEnums.protectedAction, default: "no"),
        .enumeration("enable-debug-command", [.immutable], options: ConfigEnums.protectedAction, default: "no"),
        .enumeration("enable-module-command", [.immutable], options: ConfigEnums.protectedAction, default: "no"),
        .enumeration(
            "cluster-preferred-endpoint-type",
            [],
            options: ConfigEnums.clusterPreferredEndpointType,
            default: "ip"
        ),
        .enumeration(
            "propagation-error-behavior",
            [],
            options: ConfigEnums.propagationErrorBehavior,
            default: "ignore"
        ),
        .enumeration(
            "shutdown-on-sigint",
            [.multiArgument],
            options: ConfigEnums.shutdownOnSignal,
            default: "default",
            validator: .shutdownFlags
        ),
        .enumeration(
            "shutdown-on-sigterm",
            [.multiArgument],
            options: ConfigEnums.shutdownOnSignal,
            default: "default",
            validator: .shutdownFlags
        ),

        // MARK: Numeric configs
        .numeric("databases", [.immutable], min: 1, max: intMax, default: 16),
        .numeric("port", [], min: 0, max: 65_535, default: 6379),
        .numeric("io-threads", [.debug, .immutable], min: 1, max: 128, default: 1),
        .numeric("auto-aof-rewrite-percentage", [], min: 0, max: intMax, default: 100),
        .numeric(
            "cluster-replica-validity-factor",
            alias: "cluster-slave-validity-factor",
            [],
            min: 0,
            max: intMax,
            default: 10
        ),
        .numeric("list-max-listpack-size", alias: "list-max-ziplist-size", [], min: intMin, max: intMax, default: -2),
        .numeric("tcp-keepalive", [], min: 0, max: intMax, default: 300),
        .numeric("cluster-migration-barrier", [], min: 0, max: intMax, default: 1),
        .numeric("active-defrag-cycle-min", [], min: 1, max: 99, default: 1),
        .numeric("active-defrag-cycle-max", [], min: 1, max: 99, default: 25),
        .numeric("active-defrag-threshold-lower", [], min: 0, max: 1000, default: 10),
        .numeric("active-defrag-threshold-upper", [], min: 0, max: 1000, default: 100),
        .numeric("lfu-log-factor", [], min: 0, max: intMax, default: 10),
        .numeric("lfu-decay-time", [], min: 0, max: intMax, default: 1),
        .numeric("replica-priority", alias: "slave-priority", [], min: 0, max: intMax, default: 100),
        .numeric("repl-diskless-sync-delay", [], min: 0, max: intMax, default: 5),
        .numeric("maxmemory-samples", [], min: 1, max: intMax, default: 5),
        .numeric("maxmemory-eviction-tenacity", [], min: 0, max: 100, default: 10),
        .numeric("timeout", [], min: 0, max: intMax, default: 0),
        .numeric("replica-announce-port", alias: "slave-announce-port", [], min: 0, max: 65_535, default: 0),
        .numeric("tcp-backlog", [.immutable], min: 0, max: intMax, default: 511),
        .numeric("cluster-port", [.immutable], min: 0, max: 65_535, default: 0),
        .numeric("cluster-announce-bus-port", [], min: 0, max: 65_535, default: 0),
        .numeric("cluster-announce-port", [], min: 0, max: 65_535, default: 0),
        .numeric("cluster-announce-tls-port", [], min: 0, max: 65_535, default: 0),
        .numeric("repl-timeout", [], min: 1, max: intMax, default: 60),
        .numeric("repl-ping-replica-period", alias: "repl-ping-slave-period", [], min: 1, max: intMax, default: 10),
        .numeric("list-compress-depth", [.debug], min: 0, max: intMax, default: 0),
        .numeric("rdb-key-save-delay", [.hidden], min: intMin, max: intMax, default: 0),
        .numeric("key-load-delay", [.hidden], min: intMin, max: intMax, default: 0),
        .numeric("active-expire-effort", [], min: 1, max: 10, default: 1),
        .numeric("hz", [], min: 0, max: intMax, default: 10),
        .numeric("min-replicas-to-write", alias: "min-slaves-to-write", [], min: 0, max: intMax, default: 0),
        .numeric("min-replicas-max-lag", alias: "min-slaves-max-lag", [], min: 0, max: intMax, default: 10),
        .numeric("watchdog-period", [.hidden], min: 0, max: intMax, default: 0),
        .numeric("shutdown-timeout", [], min: 0, max: intMax, default: 10),
        .numeric("repl-diskless-sync-max-replicas", [], min: 0, max: intMax, default: 0),
        .numeric("maxclients", [], min: 1, max: uintMax, default: 10_000, unsigned: true),
        .numeric("unixsocketperm", [.immutable], min: 0, max: 511, default: 0, unsigned: true, format: .octal),
        .numeric("socket-mark-id", [.immutable], min: 0, max: uintMax, default: 0, unsigned: true),
        .numeric("active-defrag-max-scan-fields", [], min: 1, max: longMax, default: 1000),
        .numeric("slowlog-max-len", [], min: 0, max: longMax, default: 128),
        .numeric("acllog-max-len", [], min: 0, max: longMax, default: 128),
        .numeric("busy-reply-threshold", alias: "lua-time-limit", [], min: 0, max: longMax, default: 5000),
        .numeric("cluster-node-timeout", [], min: 0, max: longMax, default: 15_000),
        .numeric("slowlog-log-slower-than", [], min: -1, max: longMax, default: 10_000),
        .numeric("latency-monitor-threshold", [], min: 0, max: longMax, default: 0),
        .numeric("proto-max-bulk-len", [.debug], min: 1_048_576, max: longMax, default: 536_870_912, format: .memory),
        .numeric("stream-node-max-entries", [], min: 0, max: longMax, default: 100),
        .numeric("repl-backlog-size", [], min: 1, max: longMax, default: 1_048_576, format: .memory),
        .numeric("maxmemory", [], min: 0, max: ullongMax, default: 0, unsigned: true, format: .memory),
        .numeric("cluster-link-sendbuf-limit", [], min: 0, max: ullongMax, default: 0, unsigned: true, format: .memory),
        .numeric(
            "hash-max-listpack-entries",
            alias: "hash-max-ziplist-entries",
            [],
            min: 0,
            max: longMax,
            default: 512,
            unsigned: true
        ),
        .numeric("set-max-intset-entries", [], min: 0, max: longMax, default: 512, unsigned: true),
        .numeric(
            "zset-max-listpack-entries",
            alias: "zset-max-ziplist-entries",
            [],
            min: 0,
            max: longMax,
            default: 128,
            unsigned: true
        ),
        .numeric(
            "active-defrag-ignore-bytes",
            [],
            min: 1,
            max: longMax,
            default: 104_857_600,
            unsigned: true,
            format: .memory
        ),
        .numeric(
            "hash-max-listpack-value",
            alias: "hash-max-ziplist-value",
            [],
            min: 0,
            max: longMax,
            default: 64,
            unsigned: true,
            format: .memory
        ),
        .numeric("stream-node-max-bytes", [], min: 0, max: longMax, default: 4096, unsigned: true, format: .memory),
        .numeric(
            "zset-max-listpack-value",
            alias: "zset-max-ziplist-value",
            [],
            min: 0,
            max: longMax,
            default: 64,
            unsigned: true,
            format: .memory
        ),
        .numeric("hll-sparse-max-bytes", [], min: 0, max: longMax, default: 3000, unsigned: true, format: .memory),
        .numeric("tracking-table-max-keys", [], min: 0, max: longMax, default: 1_000_000, unsigned: true),
        .numeric(
            "client-query-buffer-limit",
            [.debug],
            min: 1_048_576,
            max: longMax,
            default: 1_073_741_824,
            unsigned: true,
            format: .memory
        ),
        .numeric("maxmemory-clients", [], min: -100, max: longMax, default: 0, format: .memoryOrPercent),
        .numeric("repl-backlog-ttl", [], min: 0, max: longMax, default: 3600),
        .numeric("auto-aof-rewrite-min-size", [], min: 0, max: longMax, default: 67_108_864, format: .memory),
        .numeric("loading-process-events-interval-bytes", [.hidden], min: 1024, max: intMax, default: 2_097_152),

        // MARK: TLS configs (Redis built with OpenSSL, as the reference Debian build is)
        .numeric("tls-port", [], min: 0, max: 65_535, default: 0),
        .numeric("tls-session-cache-size", [], min: 0, max: intMax, default: 20_480),
        .numeric("tls-session-cache-timeout", [], min: 0, max: intMax, default: 300),
        .bool("tls-cluster", [], default: false),
        .bool("tls-replication", [], default: false),
        .enumeration("tls-auth-clients", [], options: ConfigEnums.tlsAuthClients, default: "yes"),
        .bool("tls-prefer-server-ciphers", [], default: false),
        .bool("tls-session-caching", [], default: true),
        .string("tls-cert-file", [.volatile], default: nil, emptyIsNull: true),
        .string("tls-key-file", [.volatile], default: nil, emptyIsNull: true),
        .string("tls-key-file-pass", [], default: nil, emptyIsNull: true),
        .string("tls-client-cert-file", [.volatile], default: nil, emptyIsNull: true),
        .string("tls-client-key-file", [.volatile], default: nil, emptyIsNull: true),
        .string("tls-client-key-file-pass", [], default: nil, emptyIsNull: true),
        .string("tls-dh-params-file", [.volatile], default: nil, emptyIsNull: true),
        .string("tls-ca-cert-file", [.volatile], default: nil, emptyIsNull: true),
        .string("tls-ca-cert-dir", [.volatile], default: nil, emptyIsNull: true),
        .string("tls-protocols", [], default: nil, emptyIsNull: true),
        .string("tls-ciphers", [], default: nil, emptyIsNull: true),
        .string("tls-ciphersuites", [], default: nil, emptyIsNull: true),

        // MARK: Special configs
        .special("dir", [.protected, .denyLoading], .dir),
        .special("save", [.multiArgument], .save),
        .special("client-output-buffer-limit", [.multiArgument], .clientOutputBufferLimit),
        .special("oom-score-adj-values", [.multiArgument], .oomScoreAdjValues),
        .special("notify-keyspace-events", [], .notifyKeyspaceEvents),
        .special("bind", [.multiArgument], .bind),
        .special("replicaof", alias: "slaveof", [.immutable, .multiArgument], .replicaOf),
        .special("latency-tracking-info-percentiles", [.multiArgument], .latencyTrackingInfoPercentiles),
    ]

    /// Redis's C limits, as its table spells them.
    static let intMax = Int64(Int32.max)
    static let intMin = Int64(Int32.min)
    static let uintMax = Int64(UInt32.max)
    static let longMax = Int64.max
    /// `ULLONG_MAX` stored in a `long long`, as Redis stores it: −1, compared as unsigned.
    static let ullongMax = Int64(bitPattern: UInt64.max)

    /// Documentation: what Swiftlet does with a parameter. Anything not listed is stored and reported only.
    static let support: [String: (ConfigParameter.Support, String)] = [
        "busy-reply-threshold": (
            .honoured, "Milliseconds after which a running script is busy: other clients get -BUSY, SCRIPT KILL works."
        ),
        "min-replicas-to-write": (
            .honoured, "With min-replicas-max-lag, writes are refused (-NOREPLICAS) with fewer good replicas than this."
        ),
        "min-replicas-max-lag": (.honoured, "A replica is good while its last ACK is at most this many seconds old."),
        "repl-diskless-sync": (.honoured, "Replicas that take an EOF-marked RDB get it streamed as it is made."),
        "repl-diskless-sync-delay": (.honoured, "Seconds a diskless sync waits for more replicas to share it."),
        "repl-diskless-sync-max-replicas": (.honoured, "A diskless sync starts early once this many replicas wait."),
        "repl-backlog-size": (.honoured, "Bytes of replication stream kept for replicas that reconnect (PSYNC)."),
        "repl-backlog-ttl": (.honoured, "Seconds without replicas after which the backlog is freed (0: never)."),
        "repl-ping-replica-period": (.honoured, "Seconds between the PINGs the master puts into the stream."),
        "repl-timeout": (.honoured, "Silence after which a replica (or the link to the master) is dropped."),
        "replicaof": (.honoured, "The master to replicate from at startup; REPLICAOF changes it, REWRITE keeps it."),
        "replica-read-only": (.honoured, "Clients of a replica may not write (-READONLY)."),
        "replica-serve-stale-data": (.honoured, "With no, a replica whose link is down answers -MASTERDOWN."),
        "replica-ignore-maxmemory": (.honoured, "A replica does not evict; its master's DELs free memory."),
        "masterauth": (.honoured, "The password a replica sends its master (AUTH)."),
        "masteruser": (.honoured, "The user a replica authenticates as with masterauth."),
        "replica-announce-ip": (.honoured, "The address a replica tells its master (REPLCONF ip-address)."),
        "replica-announce-port": (.honoured, "The port a replica tells its master instead of its own."),
        "replica-priority": (.honoured, "Shown in INFO (slave_priority) for Sentinel; not used by Swiftlet itself."),
        "replica-announced": (.honoured, "Shown in INFO (replica_announced) for Sentinel."),
        "shutdown-timeout": (.honoured, "Seconds SHUTDOWN waits for lagging replicas (0: no wait)."),
        "repl-diskless-load": (.honoured, "swapdb/on-empty-db: the RDB transfer counts as the load (-LOADING)."),
        "port": (.honoured, "TCP port; 0: none in swiftlet-server, a free one in the embedded API."),
        "unixsocket": (.honoured, "A Unix socket to listen on as well; a stale file is replaced, shutdown removes it."),
        "unixsocketperm": (.honoured, "Permissions of the Unix socket file (octal; 0 leaves them as created)."),
        "tcp-backlog": (.honoured, "The listen queue of the TCP and Unix sockets (the kernel caps it at somaxconn)."),
        "pidfile": (.honoured, "The process id is written there at start-up and the file removed at shutdown."),
        "daemonize": (
            .honoured, "The server goes on in the background (own session, stdio on /dev/null); the command exits 0."
        ),
        "tcp-keepalive": (
            .honoured, "SO_KEEPALIVE on TCP clients: idle time, a third of it between probes, 3 probes; 0 is off."
        ),
        "enable-protected-configs": (.honoured, "Whether CONFIG SET may change `dir` and `dbfilename`."),
        "slowlog-log-slower-than": (
            .honoured, "Commands that run this many microseconds or longer go to SLOWLOG; negative turns it off."
        ),
        "slowlog-max-len": (.honoured, "The most entries SLOWLOG keeps; older ones are dropped."),
        "tracking-table-max-keys": (
            .honoured, "Keys CLIENT TRACKING remembers; beyond it keys are invalidated and forgotten (0: no limit)."
        ),
        "bind": (.honoured, "Addresses to listen on."),
        "protected-mode": (.honoured, "Refuses non-loopback clients when no password and no bind address are set."),
        "dir": (.honoured, "Working directory (chdir at startup); CONFIG GET reports the current directory."),
        "loglevel": (.honoured, "Log verbosity."),
        "logfile": (.honoured, "Log destination; empty means standard output."),
        "databases": (.honoured, "Number of logical databases."),
        "maxclients": (.honoured, "Connections beyond this are refused with Redis's error."),
        "timeout": (.honoured, "Idle clients are closed after this many seconds; 0 disables."),
        "notify-keyspace-events": (.honoured, "Keyspace notifications, every class flag."),
        "client-output-buffer-limit": (
            .honoured, "normal and pubsub classes close clients whose unwritten output passes the limits."
        ),
        "hz": (.honoured, "Frequency of background tasks (active expiry); clamped to 1...500 like Redis."),
        "proto-max-bulk-len": (.honoured, "Longest bulk string accepted in a request, and longest string value."),
        "client-query-buffer-limit": (.honoured, "Largest pending request per client before the client is closed."),
        "requirepass": (.honoured, "Password of the default user (AUTH)."),
        "enable-debug-command": (.honoured, "Whether DEBUG is allowed."),
        "maxmemory": (
            .honoured, "The memory limit: past it keys are evicted per maxmemory-policy, or writes get -OOM."
        ),
        "maxmemory-policy": (
            .honoured, "Which keys are evicted (the eight Redis policies); LRU or LFU decides OBJECT IDLETIME/FREQ."
        ),
        "maxmemory-samples": (
            .honoured, "Keys sampled per database for each eviction (the pool of 16 keeps the best)."
        ),
        "maxmemory-eviction-tenacity": (
            .honoured, "Time one command may spend evicting (50 µs per step to 10, then 15% more; 100: no limit)."
        ),
        "maxmemory-clients": (
            .honoured, "Clients' total memory limit (bytes, or % of maxmemory): the largest clients are closed."
        ),
        "lazyfree-lazy-eviction": (
            .honoured, "Evictions are propagated as UNLINK; values are freed at once (no lazy-free thread)."
        ),
        "always-show-logo": (.honoured, "The start-up logo with version, port and PID (else one line)."),
        "lfu-log-factor": (.honoured, "The LFU counter's growth under an LFU policy (OBJECT FREQ)."),
        "lfu-decay-time": (.honoured, "Minutes for the LFU counter to decay by one under an LFU policy (OBJECT FREQ)."),
        "hash-max-listpack-entries": (.honoured, "Hashes up to this many fields report the listpack encoding."),
        "hash-max-listpack-value": (.honoured, "Hashes whose fields and values are up to this long report listpack."),
        "set-max-intset-entries": (.honoured, "Sets of up to this many integers use the intset encoding."),
        "zset-max-listpack-entries": (.honoured, "Sorted sets up to this many members report the listpack encoding."),
        "zset-max-listpack-value": (.honoured, "Sorted sets whose members are up to this long report listpack."),
        "list-max-listpack-size": (
            .honoured, "Size of a list's nodes: entries, or -1 to -5 for 4 to 64 KB, as in Redis's quicklist."
        ),
        "hll-sparse-max-bytes": (.honoured, "A HyperLogLog's sparse form is converted to dense beyond this size."),
        "save": (.honoured, "Save points: a background save after <changes> changes in <seconds> seconds."),
        "dbfilename": (.honoured, "The RDB file (in `dir`) that SAVE/BGSAVE write and startup loads."),
        "rdbcompression": (.honoured, "LZF-compress strings in RDB files, DUMP and FUNCTION DUMP payloads."),
        "rdbchecksum": (.honoured, "Write the CRC-64 at the end of RDB files (0 when off)."),
        "stop-writes-on-bgsave-error": (.honoured, "MISCONF for writes (and PING) after a failed background save."),
        "shutdown-on-sigterm": (.honoured, "save / nosave / force for the SIGTERM shutdown save."),
        "shutdown-on-sigint": (.honoured, "save / nosave / force for the SIGINT shutdown save."),
        "rdb-key-save-delay": (.honoured, "Microseconds between keys of a BGSAVE walk (tests), without blocking."),
        "appendonly": (
            .honoured, "The multi-part AOF; at startup it is loaded instead of the RDB; CONFIG SET starts a rewrite."
        ),
        "appendfsync": (.honoured, "always (replies after the fsync), everysec (background fsync), no."),
        "appendfilename": (.honoured, "Prefix of the AOF file names and of the manifest."),
        "appenddirname": (.honoured, "The AOF directory in `dir`."),
        "aof-use-rdb-preamble": (.honoured, "A rewrite's base is an RDB (yes) or commands (no)."),
        "aof-load-truncated": (.honoured, "A torn last file is cut to its last complete command and loaded."),
        "aof-timestamp-enabled": (.honoured, "`#TS:<unix seconds>` annotations, at most one per second."),
        "auto-aof-rewrite-percentage": (.honoured, "Automatic BGREWRITEAOF on this growth over the last base."),
        "auto-aof-rewrite-min-size": (.honoured, "No automatic rewrite below this size."),
    ]
}

// MARK: - Enumerations

/// The allowed values of enumerated parameters, in Redis's order (which is the order of its error message). Values
/// that share a number are synonyms; CONFIG GET reports the first.
enum ConfigEnums {
    static func options(_ pairs: [(String, Int)]) -> [ConfigEnumOption] {
        pairs.map { ConfigEnumOption(name: $0.0, value: $0.1) }
    }

    static let maxmemoryPolicy = options([
        ("volatile-lru", 0), ("volatile-lfu", 1), ("volatile-random", 2), ("volatile-ttl", 3),
        ("allkeys-lru", 4), ("allkeys-lfu", 5), ("allkeys-random", 6), ("noeviction", 7),
    ])
    static let syslogFacility = options([
        ("user", 0), ("local0", 1), ("local1", 2), ("local2", 3), ("local3", 4),
        ("local4", 5), ("local5", 6), ("local6", 7), ("local7", 8),
    ])
    static let logLevel = options([("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)])
    static let supervised = options([("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)])
    static let appendFsync = options([("everysec", 0), ("always", 1), ("no", 2)])
    /// Bit flags: several may be given (`save now`).
    static let shutdownOnSignal = options([("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)])
    static let replDisklessLoad = options([("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)])
    static let tlsAuthClients = options([("no", 0), ("yes", 1), ("optional", 2)])
    /// "yes" and "relative" are synonyms: after `CONFIG SET oom-score-adj relative`, CONFIG GET says "yes".
    static let oomScoreAdj = options([("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)])
    static let aclPubsubDefault = options([("allchannels", 1), ("resetchannels", 0)])
    static let sanitizeDumpPayload = options([("no", 0), ("yes", 1), ("clients", 2)])
    static let protectedAction = options([("no", 0), ("yes", 1), ("local", 2)])
    static let clusterPreferredEndpointType = options([("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)])
    static let propagationErrorBehavior = options([("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)])
}
