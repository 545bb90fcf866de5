/// Every command family, in the order the table registers them.
public enum Commands {
    public static let all: [[CommandSpec]] = [
        StringCommands.specs,
        KeyCommands.specs,
        ListCommands.specs,
        ConnectionCommands.specs,
        ServerCommands.specs,
        DebugCommands.specs,
        TransactionCommands.specs,
        PubSubCommands.specs,
        MonitorCommands.specs,
        SlowlogCommands.specs,
        CommandCommands.specs,
        SortedSetCommands.specs,
        SortedSetCommands.blockingSpecs,
        HashCommands.specs + SetCommands.specs,
        DumpCommands.specs,
        SortCommand.specs,
        HyperLogLogCommands.specs,
        BitmapCommands.specs,
        PersistenceCommands.specs,
        ClusterCommands.specs,
        ScriptCommands.specs,
        FunctionCommands.specs,
        ReplicationCommands.specs,
    ]
}
