/// A sorted set: members ordered by (score, member).
public final class SortedSetValue: CollectionValue {
    public var scores: [[UInt8]: Double]

    public init(_ scores: [[UInt8]: Double] = [:]) {
        self.scores = scores
    }

    public var count: Int { self.scores.count }
    public var encodingName: String { "skiplist" }
    public var memoryUsage: Int { 64 + self.scores.reduce(0) { $0 + 64 + $1.key.count } }

    public func copy() -> SortedSetValue { SortedSetValue(self.scores) }
}
