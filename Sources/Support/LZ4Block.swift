import CLZ4

/// LZ4 block compression of byte arrays (no frame format: callers record the raw size).
public enum LZ4Block {
    /// The compressed block, or nil if LZ4 fails (input too large).
    public static func compress(_ raw: [UInt8]) -> [UInt8]? {
        guard raw.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        if raw.isEmpty { return [] }
        let bound = Int(LZ4_compressBound(Int32(raw.count)))
        var out = [UInt8](repeating: 0, count: max(1, bound))
        let n = raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in
                        LZ4_compress_default(s.baseAddress, d.baseAddress, Int32(raw.count), Int32(bound))
                    }
                }
            }
        }
        guard n > 0 else { return nil }
        out.removeSubrange(Int(n)...)
        return out
    }

    /// The raw bytes of a block that must decompress to exactly `rawCount` bytes; nil when the
    /// block is corrupt (LZ4_decompress_safe never reads or writes out of bounds).
    public static func decompress<C: Collection>(_ packed: C, rawCount: Int) -> [UInt8]? where C.Element == UInt8 {
        guard rawCount >= 0 else { return nil }
        if rawCount == 0 { return packed.isEmpty ? [] : nil }
        let input = Array(packed)
        var out = [UInt8](repeating: 0, count: rawCount)
        let n = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in
                        LZ4_decompress_safe(s.baseAddress, d.baseAddress, Int32(input.count), Int32(rawCount))
                    }
                }
            }
        }
        return Int(n) == rawCount ? out : nil
    }
}
