/// Every command family, in the order the table registers them.
public enum Commands {
    public static let all: [[CommandSpec]] = [
        StringCommands.specs,
        KeyCommands.specs,
        ConnectionCommands.specs,
        ServerCommands.specs,
        HashCommands.specs + SetCommands.specs,
    ]
}
