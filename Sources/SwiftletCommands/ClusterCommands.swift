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
                .init("nodes", arity: 2, flags: [.stale], group: "cluster", run: disabled),
                .init("delslots", arity: -3, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("myid", arity: 2, flags: [.stale], group: "cluster", run: disabled),
                .init("forget", arity: 3, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("flushslots", arity: 2, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("bumpepoch", arity: 2, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("count-failure-reports", arity: 3, flags: [.admin, .stale], group: "cluster", run: disabled),
                .init("set-config-epoch", arity: 3, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("countkeysinslot", arity: 3, flags: [.stale], group: "cluster", run: disabled),
                .init("delslotsrange", arity: -4, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("reset", arity: -2, flags: [.admin, .noscript, .stale], group: "cluster", run: disabled),
                .init("keyslot", arity: 3, flags: [.stale], group: "cluster", run: disabled),
                .init("addslots", arity: -3, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("setslot", arity: -4, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("saveconfig", arity: 2, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("replicate", arity: 3, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("failover", arity: -2, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("meet", arity: -4, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
                .init("help", arity: 2, flags: [.loading, .stale], group: "cluster", run: disabled),
                .init("links", arity: 2, flags: [.stale], group: "cluster", run: disabled),
                .init("slots", arity: 2, flags: [.stale], group: "cluster", run: disabled),
                .init("shards", arity: 2, flags: [.stale], group: "cluster", run: disabled),
                .init("replicas", arity: 3, flags: [.admin, .stale], group: "cluster", run: disabled),
                .init("slaves", arity: 3, flags: [.admin, .stale], group: "cluster", run: disabled),
                .init("info", arity: 2, flags: [.stale], group: "cluster", run: disabled),
                .init("getkeysinslot", arity: 4, flags: [.stale], group: "cluster", run: disabled),
                .init("addslotsrange", arity: -4, flags: [.admin, .stale, .noAsyncLoading], group: "cluster", run: disabled),
            ]
        ),
    ]
}
