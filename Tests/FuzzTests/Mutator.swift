import CLIP

/// Deterministic input mutation for the fuzz harness (no libFuzzer needed): from a seed
/// corpus of real, valid inputs, each case applies a few of bit flips, byte sets,
/// "interesting" integers, token insertions (a per-target dictionary, e.g. JSON numbers),
/// inserts, deletes, duplications, truncations and splices with another seed.
struct Mutator {
    private var rng: SplitMix
    let dictionary: [[UInt8]]
    /// Mutations favour the first `hotBytes` bytes (headers), when set.
    var hotBytes: Int?

    init(seed: UInt64, dictionary: [String] = [], hotBytes: Int? = nil) {
        rng = SplitMix(seed: seed &* 0x9E37_79B9_7F4A_7C15 | 1)
        self.dictionary = dictionary.map { Array($0.utf8) }
        self.hotBytes = hotBytes
    }

    mutating func next() -> UInt64 { rng.next() }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// Integers at the edges of every width, little-endian, that parsers mishandle.
    static let interesting: [UInt64] = [
        0, 1, 2, 3, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x1_0000,
        0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, 0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff, 0xffff_fffe,
    ]

    /// A position, usually in the hot region when one is set.
    private mutating func position(_ count: Int) -> Int {
        if let hot = hotBytes, hot > 0, chance(50) { return below(min(hot, count)) }
        return below(count)
    }

    /// A mutated copy of `input` (1 to 4 mutations), `others` supplying splices.
    mutating func mutate(_ input: [UInt8], others: [[UInt8]]) -> [UInt8] {
        var b = input
        for _ in 0...below(4) {
            switch below(10) {
            case 0 where !b.isEmpty:
                b[position(b.count)] ^= UInt8(1) << UInt8(below(8))
            case 1 where !b.isEmpty:
                b[position(b.count)] = UInt8(truncatingIfNeeded: next())
            case 2 where !b.isEmpty:
                let width = [1, 2, 4, 8][below(4)]
                let at = position(b.count)
                var v = Self.interesting[below(Self.interesting.count)]
                if chance(30) { v = ~v &+ 1 }  // its negation
                for k in 0..<width where at + k < b.count {
                    b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))
                }
            case 3 where !dictionary.isEmpty:
                let token = dictionary[below(dictionary.count)]
                let at = position(b.count + 1)
                if chance(50), at + token.count <= b.count {
                    b.replaceSubrange(at..<(at + token.count), with: token)
                } else {
                    b.insert(contentsOf: token, at: at)
                }
            case 4:
                let n = 1 + below(16)
                b.insert(contentsOf: (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) }, at: position(b.count + 1))
            case 5 where !b.isEmpty:
                let at = position(b.count)
                b.removeSubrange(at..<min(b.count, at + 1 + below(32)))
            case 6 where !b.isEmpty:
                let at = below(b.count)
                let n = min(b.count - at, 1 + below(64))
                b.insert(contentsOf: b[at..<(at + n)], at: position(b.count + 1))
            case 7 where !b.isEmpty:
                b.removeSubrange(below(b.count)...)
            case 8 where !others.isEmpty:
                let other = others[below(others.count)]
                let cut = below(b.count + 1)
                let from = below(other.count + 1)
                b = Array(b[..<cut]) + other[from...]
            default:
                if !b.isEmpty { b[below(b.count)] = UInt8(truncatingIfNeeded: next()) }
            }
        }
        return b
    }

    /// A random input (no seed), of up to `maxLength` bytes.
    mutating func random(maxLength: Int) -> [UInt8] {
        (0..<below(maxLength + 1)).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
