/// A small, fast pseudo-random generator (SplitMix64), seeded once per command from the keyspace's system
/// generator, so that SPOP/SRANDMEMBER/HRANDFIELD with large counts do not make a system call per pick.
/// Not for anything that needs unpredictability.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) {
        self.state = seed
    }

    public init<G: RandomNumberGenerator>(seededFrom source: inout G) {
        self.state = source.next()
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
