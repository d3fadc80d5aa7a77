/// The reversible byte -> printable character table of GPT-2 and CLIP (`bytes_to_unicode`).
///
/// BPE runs over UTF-8 bytes, but vocab.json and merges.txt are text files whose symbols
/// must not contain whitespace or control characters. Every byte therefore stands for one
/// visible character: printable Latin-1 bytes for themselves, the other 68 bytes for
/// U+0100 upward, in byte order. The files were written with exactly this table.
enum ByteEncoder {
    /// The character each byte value 0...255 is written as.
    static let scalars: [Unicode.Scalar] = {
        func printable(_ b: Int) -> Bool {
            (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if printable(b) {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The inverse table, for decoding ids back to text.
    static let bytes: [Unicode.Scalar: UInt8] = {
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (b, s) in scalars.enumerated() { inverse[s] = UInt8(b) }
        return inverse
    }()
}
