extension Library {
    /// The random strategy's mask seed recorded for a video at ingest: the first 8 bytes of its
    /// content hash, so copies of one file share masks, other files get other masks, and a
    /// re-index reproduces them. Reconstruction reads the stored value, never recomputes it.
    static func maskSeed(contentHash: String) -> Int64 {
        Int64(bitPattern: UInt64(contentHash.prefix(16), radix: 16) ?? 0)
    }
}
