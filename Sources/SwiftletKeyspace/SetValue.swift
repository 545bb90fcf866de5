/// A set of byte strings.
public final class SetValue: CollectionValue {
    public var members: Set<[UInt8]>

    public init(_ members: Set<[UInt8]> = []) {
        self.members = members
    }

    public var count: Int { self.members.count }
    public var encodingName: String { "hashtable" }
    public var memoryUsage: Int { 64 + self.members.reduce(0) { $0 + 48 + $1.count } }

    public func copy() -> SetValue { SetValue(self.members) }
}
