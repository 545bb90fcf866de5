/// A hash: field → value.
public final class HashValue: CollectionValue {
    public var fields: [[UInt8]: [UInt8]]

    public init(_ fields: [[UInt8]: [UInt8]] = [:]) {
        self.fields = fields
    }

    public var count: Int { self.fields.count }
    public var encodingName: String { "hashtable" }
    public var memoryUsage: Int { 64 + self.fields.reduce(0) { $0 + 64 + $1.key.count + $1.value.count } }

    public func copy() -> HashValue { HashValue(self.fields) }
}
