public import DequeModule

/// A list: a deque of elements, so pushes and pops at both ends are O(1).
/// Redis 7.0 reports every list as `quicklist`.
public final class ListValue: CollectionValue {
    public var items: Deque<[UInt8]>

    public init(_ items: Deque<[UInt8]> = []) {
        self.items = items
    }

    public var count: Int { self.items.count }
    public var encodingName: String { "quicklist" }
    public var memoryUsage: Int { 64 + self.items.reduce(0) { $0 + 32 + $1.count } }

    public func copy() -> ListValue { ListValue(self.items) }
}
