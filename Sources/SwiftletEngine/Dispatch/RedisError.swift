/// An error reply, rendered as `-<message>\r\n`. The message starts with the error code (`ERR`, `WRONGTYPE`).
///
/// Every text lives in this catalog, worded exactly as Redis 7.0 words it; handlers never build error strings
/// by hand.
public struct RedisError: Error, Hashable, Sendable {
    /// The error line as it goes on the wire, without the leading `-` and the CRLF. Usually text; an error that
    /// echoes a request's bytes (an unknown command's name) keeps them as they came, as Redis does, UTF-8 or not.
    public var bytes: [UInt8]

    /// The error line as text (bytes that are not UTF-8 show as U+FFFD).
    public var message: String { String(decoding: self.bytes, as: UTF8.self) }

    public init(_ message: String) {
        self.bytes = Array(message.utf8)
    }

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// `prefix`, then bytes from a request as they came (CR and LF made spaces, as Redis's error formatter does),
    /// then `suffix`.
    public init<Echoed: Collection<UInt8>>(_ prefix: String, echoing echoed: Echoed, _ suffix: String = "") {
        self.bytes = Array(prefix.utf8) + RedisError.sanitize(echoed) + Array(suffix.utf8)
    }

    /// The code before the first space (`ERR`, `WRONGTYPE`, `NOSCRIPT`...), counted in `INFO errorstats`.
    public var code: Substring { self.message.prefix { $0 != " " } }

    // MARK: - Catalog

    public static let wrongType = RedisError("WRONGTYPE Operation against a key holding the wrong kind of value")
    public static let syntax = RedisError("ERR syntax error")
    /// DEBUG LOADAOF while appendonly is off (Redis exits then; Swiftlet's own text).
    public static let loadAOFWithoutAOF = RedisError("ERR DEBUG LOADAOF needs appendonly yes: there is no AOF to load")
    /// CLUSTER, READONLY, READWRITE and ASKING on a server without cluster mode.
    public static let clusterDisabled = RedisError("ERR This instance has cluster support disabled")
    public static let notInteger = RedisError("ERR value is not an integer or out of range")
    public static let notFloat = RedisError("ERR value is not a valid float")
    public static let notInt32 = RedisError("ERR value is out of range, value must between -2147483648 and 2147483647")
    public static let invalidCursor = RedisError("ERR invalid cursor")
    public static let overflow = RedisError("ERR increment or decrement would overflow")
    public static let noSuchKey = RedisError("ERR no such key")
    public static let outOfRange = RedisError("ERR index out of range")
    public static let dbIndexOutOfRange = RedisError("ERR DB index is out of range")
    public static let invalidDBIndex = RedisError("ERR invalid DB index")
    public static let sameObject = RedisError("ERR source and destination objects are the same")
    public static let stringTooLong = RedisError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    public static let nanOrInfinity = RedisError("ERR increment would produce NaN or Infinity")
    public static let offsetOutOfRange = RedisError("ERR offset is out of range")
    public static let unknownSubcommandGeneric = RedisError("ERR unknown subcommand")
    public static let protocolVersion = RedisError("NOPROTO unsupported protocol version")
    /// A connection refused at accept: `maxclients` connections are open already.
    public static let maxClientsReached = RedisError("ERR max number of clients reached")
    /// A connection refused at accept: protected mode is on, no password is set and the peer is not loopback.
    public static let protectedMode = RedisError(
        "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
            + "default user. In this mode connections are only accepted from the loopback interface. If you want to "
            + "connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable "
            + "protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
            + "connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
            + "accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
            + "Alternatively you can just disable the protected mode by editing the Redis configuration file, and "
            + "setting the protected mode option to 'no', and then restarting the server. 3) If you started the server "
            + "manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an "
            + "authentication password for the default user. NOTE: You only need to do one of the above things in "
            + "order for the server to start accepting connections from the outside."
    )
    /// What a RESP2 client with subscriptions gets for any command but the (un)subscribe family, PING, QUIT, RESET.
    public static func notAllowedInSubscribeMode(_ command: String) -> RedisError {
        RedisError(
            "ERR Can't execute '\(command)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed"
                + " in this context"
        )
    }
    public static let invalidCommandSpecified = RedisError("ERR Invalid command specified")
    public static let commandHasNoKeys = RedisError("ERR The command has no key arguments")
    public static let invalidNumberOfArgumentsForCommand = RedisError(
        "ERR Invalid number of arguments specified for command"
    )
    public static let invalidArgumentsForCommand = RedisError("ERR Invalid arguments specified for command")

    // MARK: - Sorted sets

    public static let zaddXXAndNX = RedisError("ERR XX and NX options at the same time are not compatible")
    public static let zaddGTLTAndNX = RedisError("ERR GT, LT, and/or NX options at the same time are not compatible")
    public static let zaddIncrSinglePair = RedisError("ERR INCR option supports a single increment-element pair")
    public static let zsetScoreNaN = RedisError("ERR resulting score is not a number (NaN)")
    public static let zsetRangeNotFloat = RedisError("ERR min or max is not a float")
    public static let zsetRangeNotLex = RedisError("ERR min or max not valid string range item")
    public static let zrangeLimitNeedsByScoreOrLex = RedisError(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    )
    public static let zrangeWithScoresAndByLex = RedisError(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    )
    public static let zsetWeightNotFloat = RedisError("ERR weight value is not a float")
    public static let zsetLimitNegative = RedisError("ERR LIMIT can't be negative")
    public static let zsetNumkeysNotPositive = RedisError("ERR numkeys should be greater than 0")
    public static let zsetCountNotPositive = RedisError("ERR count should be greater than 0")
    /// `getPositiveLongFromObjectOrReply` without a message of its own (ZPOPMIN/ZPOPMAX count).
    public static let zsetMustBePositive = RedisError("ERR value is out of range, must be positive")
    /// `getLongFromObjectOrReply` when the value does not fit a `long`, or a range check without its own text.
    public static let zsetValueOutOfRange = RedisError("ERR value is out of range")

    /// `ERR at least 1 input key is needed for 'zunionstore' command` (ZUNION, ZINTER, ZDIFF and friends).
    public static func zsetNeedsInputKey(_ command: String) -> RedisError {
        RedisError("ERR at least 1 input key is needed for '\(command)' command")
    }

    /// `getRangeLongFromObjectOrReply` without a message of its own.
    public static func zsetValueNotBetween(_ min: Int64, _ max: Int64) -> RedisError {
        RedisError("ERR value is out of range, value must between \(min) and \(max)")
    }

    // Lists and blocking commands.
    public static let mustBePositive = RedisError("ERR value is out of range, must be positive")
    public static let numkeysNotPositive = RedisError("ERR numkeys should be greater than 0")
    public static let countNotPositive = RedisError("ERR count should be greater than 0")
    public static let rankZero = RedisError(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to "
            + "start from the end of the list"
    )
    public static let countNegative = RedisError("ERR COUNT can't be negative")
    public static let maxlenNegative = RedisError("ERR MAXLEN can't be negative")
    public static let timeoutNotFloat = RedisError("ERR timeout is not a float or out of range")
    public static let timeoutNegative = RedisError("ERR timeout is negative")
    public static let unblockReason = RedisError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    /// What a client blocked in BLPOP & co. receives after `CLIENT UNBLOCK id ERROR`.
    public static let unblocked = RedisError("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    /// A master became a replica: its blocked clients are let go (Redis's disconnectAllBlockedClients).
    public static let unblockedByRoleChange = RedisError(
        "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
    )

    /// `ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.`
    public static func subcommandSyntax(_ sub: String, container: String) -> RedisError {
        RedisError(
            "ERR unknown subcommand or wrong number of arguments for '\(sub)'. Try \(container.uppercased()) HELP."
        )
    }

    // Hashes and sets
    public static let hashValueNotInteger = RedisError("ERR hash value is not an integer")
    public static let hashValueNotFloat = RedisError("ERR hash value is not a float")
    public static let valueIsNaNOrInfinity = RedisError("ERR value is NaN or Infinity")
    public static let valueOutOfRange = RedisError("ERR value is out of range")
    public static let valueMustBePositive = RedisError("ERR value is out of range, must be positive")
    /// `getRangeLongFromObjectOrReply` with `-LONG_MAX..LONG_MAX` (SRANDMEMBER, HRANDFIELD counts).
    public static let countOutOfRange = RedisError(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    public static let numkeysTooMany = RedisError("ERR Number of keys can't be greater than number of args")
    public static let limitNegative = RedisError("ERR LIMIT can't be negative")

    // DUMP / RESTORE
    public static let dumpPayloadInvalid = RedisError("ERR DUMP payload version or checksum are wrong")
    public static let badDataFormat = RedisError("ERR Bad data format")
    public static let busyKey = RedisError("BUSYKEY Target key name already exists.")
    public static let restoreInvalidTTL = RedisError("ERR Invalid TTL value, must be >= 0")
    public static let restoreInvalidIdletime = RedisError("ERR Invalid IDLETIME value, must be >= 0")
    public static let restoreInvalidFreq = RedisError("ERR Invalid FREQ value, must be >= 0 and <= 255")
    // SORT
    public static let sortNotDouble = RedisError("ERR One or more scores can't be converted into double")
    // HyperLogLog
    /// A string key that is not a HyperLogLog (Redis sends its own `WRONGTYPE` text, with a final period).
    public static let hllWrongType = RedisError("WRONGTYPE Key is not a valid HyperLogLog string value.")
    public static let hllCorrupt = RedisError("INVALIDOBJ Corrupted HLL object detected")
    public static let hllDebugNoSuchKey = RedisError("ERR The specified key does not exist")
    public static let hllNotSparse = RedisError("ERR HLL encoding is not sparse")
    public static let hllSelfTestNotSparse = RedisError("ERR TESTFAILED sparse encoding not used")
    public static let hllSelfTestDisagree = RedisError("ERR TESTFAILED dense/sparse disagree")

    /// `ERR Unknown PFDEBUG subcommand 'x'` (the name ends at its first NUL byte, as Redis prints it with %s).
    public static func hllUnknownDebugSubcommand(_ sub: [UInt8]) -> RedisError {
        RedisError("ERR Unknown PFDEBUG subcommand '", echoing: sub.prefix { $0 != 0 }, "'")
    }

    public static func hllSelfTestRegister(_ index: Int, expected: Int, actual: Int) -> RedisError {
        RedisError("ERR TESTFAILED Register \(index) should be \(expected) but is \(actual)")
    }

    public static func hllSelfTestError(_ card: UInt64, _ error: Int64) -> RedisError {
        RedisError("ERR TESTFAILED Too big error. card:\(card) abserr:\(error)")
    }
    // MARK: - Bitmaps

    /// GETBIT/SETBIT/BITFIELD offsets: not an integer, negative, or past `proto-max-bulk-len` bytes.
    public static let bitOffsetInvalid = RedisError("ERR bit offset is not an integer or out of range")
    /// SETBIT's value when it is not 0 or 1.
    public static let bitValueInvalid = RedisError("ERR bit is not an integer or out of range")
    public static let bitposBitInvalid = RedisError("ERR The bit argument must be 1 or 0.")
    public static let bitopNotSingleSource = RedisError("ERR BITOP NOT must be called with a single source key.")
    public static let bitfieldInvalidType = RedisError(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    )
    public static let bitfieldInvalidOverflow = RedisError("ERR Invalid OVERFLOW type specified")
    public static let bitfieldReadOnlyGetOnly = RedisError("ERR BITFIELD_RO only supports the GET subcommand")

    // MARK: - Persistence

    public static let backgroundSaveInProgress = RedisError("ERR Background save already in progress")
    public static let anotherChildActive = RedisError(
        "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule "
            + "a BGSAVE whenever possible."
    )
    /// What SAVE and a failed BGSAVE start reply: Redis's bare `shared.err`.
    public static let bare = RedisError("ERR")
    public static let shutdownFailed = RedisError("ERR Errors trying to SHUTDOWN. Check logs.")
    public static let reloadOptions = RedisError(
        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
    )
    public static let reloadFailed = RedisError("ERR Error trying to load the RDB dump")
    /// Write commands (and PING) after a failed background save, with `stop-writes-on-bgsave-error yes`.
    public static let misconf = RedisError(
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands "
            + "that may modify the data set are disabled, because this instance is configured to report errors during "
            + "writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for "
            + "details about the RDB error."
    )

    /// Commands that may grow memory, while used memory is above `maxmemory` and nothing more can be evicted.
    public static let outOfMemory = RedisError("OOM command not allowed when used memory > 'maxmemory'.")
    /// min-replicas-to-write is set and not enough replicas are connected.
    public static let noReplicas = RedisError("NOREPLICAS Not enough good replicas to write.")
    /// A command Redis refuses while it loads a dataset (a replica's diskless load).
    public static let loading = RedisError("LOADING Redis is loading the dataset in memory")
    /// A write on a replica with `replica-read-only yes`.
    public static let readOnlyReplica = RedisError("READONLY You can't write against a read only replica.")
    /// A command without the stale flag on a replica whose link is down, with `replica-serve-stale-data no`.
    public static let masterDown = RedisError(
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    )

    public static func wrongArity(_ name: String) -> RedisError {
        RedisError("ERR wrong number of arguments for '\(name)' command")
    }

    public static func invalidExpireTime(_ command: String) -> RedisError {
        RedisError("ERR invalid expire time in '\(command)' command")
    }

    public static func unknownSubcommand(_ sub: [UInt8], container: String) -> RedisError {
        RedisError("ERR unknown subcommand '", echoing: sub.prefix(128), "'. Try \(container.uppercased()) HELP.")
    }

    /// `ERR unknown command 'x', with args beginning with: 'a' 'b' ` (each argument quoted, with a trailing
    /// space; at most about 128 bytes of arguments; CR and LF in user bytes become spaces).
    public static func unknownCommand(_ name: [UInt8], arguments: [[UInt8]]) -> RedisError {
        // Redis formats these with %s: each argument ends at its first NUL byte.
        func cString(_ b: [UInt8]) -> ArraySlice<UInt8> { b.prefix { $0 != 0 } }
        let name = Array(cString(name))
        var args: [UInt8] = []
        for a in arguments.map(cString) {
            if args.count >= 128 { break }
            let limit = 128 - args.count
            args.append(UInt8(ascii: "'"))
            args.append(contentsOf: a.prefix(limit))
            args.append(contentsOf: Array("' ".utf8))
        }
        return RedisError(
            bytes: Array("ERR unknown command '".utf8) + RedisError.sanitize(name.prefix(128))
                + Array("', with args beginning with: ".utf8) + RedisError.sanitize(args)
        )
    }

    /// Replaces CR and LF (which would break the protocol) with spaces, as Redis's error formatter does.
    public static func sanitize<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        bytes.map { $0 == 13 || $0 == 10 ? 32 : $0 }
    }
}

// MARK: - Commands of the server, connection, transaction and tracking families

extension RedisError {
    private static let lfuNote =
        "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."

    public static let trackingRedirectTwice = RedisError("ERR A client can only redirect to a single other client")
    public static let trackingRedirectMissing = RedisError("ERR The client ID you want redirect to does not exist")
    public static let trackingPrefixWithoutBcast = RedisError("ERR PREFIX option requires BCAST mode to be enabled")
    public static let trackingOptWithBcast = RedisError("ERR OPTIN and OPTOUT are not compatible with BCAST")
    public static let trackingOptInAndOut = RedisError("ERR You can't specify both OPTIN mode and OPTOUT mode")
    public static let cachingYesWithoutOptIn = RedisError(
        "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
    )
    public static let cachingNoWithoutOptOut = RedisError(
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
    )
    public static let authenticationRequired = RedisError("NOAUTH Authentication required.")
    public static let replicaKeyspace = RedisError("ERR Replica can't interact with the keyspace")
    public static let notAllowedInTransaction = RedisError("ERR Command not allowed inside a transaction")
    public static func aofWriteFailed(_ reason: String) -> RedisError {
        RedisError("MISCONF Errors writing to the AOF file: \(reason)")
    }
    /// EXEC of a transaction that a refusal at EXEC time (MISCONF) discarded.
    /// EXEC itself rejected (arity, authentication): the reason without its `ERR ` code, as Redis words it.
    public static func execAbortRejected(_ error: RedisError) -> RedisError {
        let reason = error.bytes.starts(with: "ERR ".utf8) ? error.bytes.dropFirst(4) : error.bytes[...]
        return RedisError(bytes: Array("EXECABORT Transaction discarded because of: ".utf8) + reason)
    }
    public static func execAbort(because error: RedisError) -> RedisError {
        RedisError("EXECABORT Transaction discarded because of: " + error.message)
    }
    public static let pauseMode = RedisError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    public static let timeoutNotInteger = RedisError("ERR timeout is not an integer or out of range")
    public static let slowlogCount = RedisError("ERR count should be greater than or equal to -1")
    public static let rewriteInProgress = RedisError("ERR Background append only file rewriting already in progress")
    public static let needsRESP3 = RedisError("ERR RESP2 is not supported by this command")
    public static let noShutdownInProgress = RedisError("ERR No shutdown in progress.")
    public static let noConfigFile = RedisError("ERR The server is running without a config file")
    public static func configRewriteFailed(_ reason: String) -> RedisError {
        RedisError("ERR Rewriting config file: \(reason)")
    }
    public static let decrementOverflow = RedisError("ERR decrement would overflow")
    public static let lcsNeedsStrings = RedisError("ERR The specified keys must contain string values")
    public static let lcsLenAndIdx = RedisError("ERR If you want both the length and indexes, please just use IDX.")
    public static let lcsTooLarge = RedisError(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    )
    public static let clientNameCharacters = RedisError(
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    public static let wrongPass = RedisError("WRONGPASS invalid username-password pair or user is disabled.")
    public static let protocolVersionNotInteger = RedisError("ERR Protocol version is not an integer or out of range")
    /// SWAPDB with an index that is not a number (`which` is "first" or "second").
    public static func invalidDBIndex(_ which: String) -> RedisError { RedisError("ERR invalid \(which) DB index") }
    public static func unknownClientType(_ type: String) -> RedisError {
        RedisError("ERR Unknown client type '\(type)'")
    }
    public static let invalidClientID = RedisError("ERR Invalid client ID")
    public static let noSuchClient = RedisError("ERR No such client")
    public static let clientIDNotPositive = RedisError("ERR client-id should be greater than 0")
    public static func noSuchUser(_ name: String) -> RedisError { RedisError("ERR No such user '\(name)'") }
    public static let multiNested = RedisError("ERR MULTI calls can not be nested")
    public static let discardWithoutMulti = RedisError("ERR DISCARD without MULTI")
    public static let execWithoutMulti = RedisError("ERR EXEC without MULTI")
    public static let execAbortPreviousErrors = RedisError(
        "EXECABORT Transaction discarded because of previous errors."
    )
    public static let watchInsideMulti = RedisError("ERR WATCH inside MULTI is not allowed")
    public static func unsupportedOption<Echoed: Collection<UInt8>>(_ option: Echoed) -> RedisError {
        RedisError("ERR Unsupported option ", echoing: option)
    }
    public static let expireNXWithOthers = RedisError(
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    )
    public static let expireGTAndLT = RedisError("ERR GT and LT options at the same time are not compatible")
    public static let idleTimeNotTracked = RedisError(
        "ERR An LFU maxmemory policy is selected, idle time not tracked. \(lfuNote)"
    )
    public static func loadingRDBFailed(path: String, _ error: any Error) -> RedisError {
        RedisError("Fatal error loading the DB from '\(path)': \(error). Exiting.")
    }
    public static func loadingManifestFailed(path: String, _ error: any Error) -> RedisError {
        RedisError("Fatal error: can't load the AOF manifest \(path): \(error)")
    }
    public static func upgradingAOFFailed(from path: String, into directory: String) -> RedisError {
        RedisError("Error trying to move the old AOF file \(path) into dir \(directory)")
    }
    public static func aofFileMissing(path: String) -> RedisError {
        RedisError("Fatal error: the AOF file \(path) doesn't exist")
    }
    public static func aofFileUnreadable(path: String, _ error: any Error) -> RedisError {
        RedisError("Fatal error: can't open the append log file \(path) for reading: \(error)")
    }
    public static func aofBaseUnreadable(name: String, _ error: any Error) -> RedisError {
        RedisError("Error reading the RDB base file \(name), AOF loading aborted: \(error)")
    }
    public static func aofTruncateFailed(name: String, _ reason: String) -> RedisError {
        RedisError("Error truncating the AOF file \(name): \(reason)")
    }
    public static func aofOpenFailed(_ error: any Error) -> RedisError {
        RedisError("Can't open the append-only file: \(error)")
    }

    public static let trackingBroadcastSwitch = RedisError(
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
            + "re-enabling it with a different mode."
    )

    public static let trackingOptSwitch = RedisError(
        "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
            + "re-enabling it with a different mode."
    )

    public static func trackingPrefixOverlapsExisting(prefix: String, existing: String) -> RedisError {
        RedisError(
            "ERR Prefix '\(prefix)' overlaps with an existing prefix '\(existing)'. "
                + "Prefixes for a single client must not overlap."
        )
    }

    public static func trackingPrefixesOverlap(_ prefix: String, _ other: String) -> RedisError {
        RedisError(
            "ERR Prefix '\(prefix)' overlaps with another provided prefix "
                + "'\(other)'. Prefixes for a single client must not overlap."
        )
    }

    public static let cachingWithoutTracking = RedisError(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode "
            + "enabled"
    )

    public static let bgsaveWhileRewriting = RedisError(
        "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in "
            + "order to schedule a BGSAVE whenever possible."
    )

    public static let rewriteFailed = RedisError(
        "ERR Can't execute an AOF background rewriting. Please check the server logs for more information."
    )

    public static func helloOptionSyntax<Echoed: Collection<UInt8>>(_ option: Echoed) -> RedisError {
        RedisError("ERR Syntax error in HELLO option '", echoing: option, "'")
    }

    public static let helloNotAuthenticated = RedisError(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH "
            + "<user> <pass> option can be used to authenticate the client and select the RESP protocol "
            + "version at the same time"
    )

    public static let authWithoutPassword = RedisError(
        "ERR AUTH <password> called without any password configured for the default user. "
            + "Are you sure your configuration is correct?"
    )

    public static let frequencyNotTracked = RedisError(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \(lfuNote)"
    )

    public static func aofTruncatedNotLast(name: String, offset: Int) -> RedisError {
        RedisError("Fatal error: the AOF file \(name) is truncated at offset \(offset), and it is not the last file")
    }

    public static func aofTruncated(name: String, offset: Int) -> RedisError {
        RedisError(
            "Unexpected end of file reading the append only file \(name) at offset \(offset). You can: "
                + "1) Make a backup of your AOF file, then use ./swiftlet-check-aof --fix <filename.manifest>. "
                + "2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart "
                + "the server."
        )
    }

    public static func aofBadFormat(file: String, offset: Int) -> RedisError {
        RedisError(
            "Bad file format reading the append only file \(file) at offset \(offset): make a backup "
                + "of your AOF file, then use ./swiftlet-check-aof --fix <filename.manifest>"
        )
    }

    public static func aofUnknownCommand(_ name: String, file: String) -> RedisError {
        RedisError(
            "Unknown command '\(name)' reading the append "
                + "only file \(file)"
        )
    }

    public static let debugNotAllowed = RedisError(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a "
            + "local connection, otherwise you need to set this option in the configuration file, and then restart "
            + "the server."
    )
    public static let debugProtocolType = RedisError(
        "ERR Wrong protocol type name. Please use one of the following: "
            + "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
    )

    /// `addReplySubcommandSyntaxError`: the subcommand echoed as sent, cut at 128 bytes.
    public static func debugUnknownSubcommand<Bytes: Collection<UInt8>>(_ sub: Bytes) -> RedisError {
        RedisError(
            "ERR unknown subcommand or wrong number of arguments for '",
            echoing: sub.prefix(128),
            "'. Try DEBUG HELP."
        )
    }
}
