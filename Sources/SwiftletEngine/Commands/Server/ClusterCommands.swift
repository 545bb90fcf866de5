import NIOCore
import SwiftletRESP

/// CLUSTER, READONLY, READWRITE and ASKING as a Redis 7.0 server answers them with `cluster-enabled no`, which is
/// what Swiftlet is: every subcommand exists (COMMAND lists them, arity and unknown subcommands are checked by the
/// dispatcher) and each replies "This instance has cluster support disabled", CLUSTER HELP included, as Redis does.
/// Cluster mode itself is later work (DESIGN.md).
enum ClusterCommands {
    static func disabled(_ context: inout CommandContext) throws(RedisError) {
        throw RedisError.clusterDisabled
    }

    /// The flags of the subcommands that change the cluster's configuration.
    static let managing: CommandFlags = [.admin, .stale, .noAsyncLoading]

    static func sub(_ name: String, _ arity: Int, _ flags: CommandFlags) -> CommandSpec {
        .init(name, arity: arity, flags: flags, group: "cluster", run: disabled)
    }

    static let specs: [CommandSpec] = [
        .init("readonly", arity: 1, flags: [.loading, .stale, .fast], group: "cluster", run: disabled),
        .init("readwrite", arity: 1, flags: [.loading, .stale, .fast], group: "cluster", run: disabled),
        .init("asking", arity: 1, flags: [.fast], group: "cluster", run: disabled),
        .init(
            "cluster",
            arity: -2,
            flags: [],
            group: "cluster",
            // In the order Redis's COMMAND lists them (its subcommand dict's order).
            subcommands: [
                sub("nodes", 2, [.stale]),
                sub("delslots", -3, managing),
                sub("myid", 2, [.stale]),
                sub("forget", 3, managing),
                sub("flushslots", 2, managing),
                sub("bumpepoch", 2, managing),
                sub("count-failure-reports", 3, [.admin, .stale]),
                sub("set-config-epoch", 3, managing),
                sub("countkeysinslot", 3, [.stale]),
                sub("delslotsrange", -4, managing),
                sub("reset", -2, [.admin, .noscript, .stale]),
                sub("keyslot", 3, [.stale]),
                sub("addslots", -3, managing),
                sub("setslot", -4, managing),
                sub("saveconfig", 2, managing),
                sub("replicate", 3, managing),
                sub("failover", -2, managing),
                sub("meet", -4, managing),
                sub("help", 2, [.loading, .stale]),
                sub("links", 2, [.stale]),
                sub("slots", 2, [.stale]),
                sub("shards", 2, [.stale]),
                sub("replicas", 3, [.admin, .stale]),
                sub("slaves", 3, [.admin, .stale]),
                sub("info", 2, [.stale]),
                sub("getkeysinslot", 4, [.stale]),
                sub("addslotsrange", -4, managing),
            ]
        ),
    ]
}
