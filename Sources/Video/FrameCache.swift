import Foundation
import Support

/// Identifies one sampled frame of one video: the video's content hash, the sampling rate and
/// the frame's index in the sampled sequence (index k means a different frame at another fps).
public struct FrameKey: Hashable, Sendable, CustomStringConvertible {
    public var videoHash: String
    public var fps: Double
    public var index: Int

    public init(videoHash: String, fps: Double, index: Int) {
        self.videoHash = videoHash
        self.fps = fps
        self.index = index
    }

    public var description: String { "\(videoHash)@\(fps)#\(index)" }
}

/// A thread-safe LRU cache of decoded, preprocessed frames (typically 224x224 RGB crops), bounded
/// by bytes rather than by count.
///
/// - Each entry costs its stored pixel bytes (after LZ4 when `compress` is on) plus
///   `entryOverhead` for the key and bookkeeping; `stats.bytes` (the sum) never exceeds the budget.
/// - `put` evicts least recently used entries until the new one fits; an entry that alone costs more
///   than the budget is not stored (and any older entry under the same key is dropped).
/// - `get` returns the image bit-identical to the one `put`, and marks it most recently used.
/// - Compression and decompression run outside the lock; only the bookkeeping is serialised
///   (in `ByteBudgetLRU`).
public final class FrameCache: @unchecked Sendable {
    public typealias Stats = ByteBudgetLRU<FrameKey, Entry>.Stats

    /// Bytes charged per entry on top of its pixels (key, node, array header): an estimate, so that
    /// many tiny entries cannot exceed the budget in practice.
    public static let entryOverhead = 96

    public let byteBudget: Int
    public let compress: Bool

    /// One stored frame: raw RGB24, or an LZ4 block when `compressed`.
    public struct Entry: Sendable {
        var width: Int
        var height: Int
        var data: [UInt8]
        var compressed: Bool
    }

    private let lru: ByteBudgetLRU<FrameKey, Entry>

    /// - Parameters:
    ///   - byteBudget: upper bound of `stats.bytes` (default 512 MiB).
    ///   - compress: store pixels LZ4-compressed (kept raw when LZ4 does not make them smaller).
    public init(byteBudget: Int = 512 << 20, compress: Bool = false) {
        precondition(byteBudget >= 0, "FrameCache: negative byte budget")
        self.byteBudget = byteBudget
        self.compress = compress
        lru = ByteBudgetLRU(byteBudget: byteBudget)
    }

    /// The cached image for `key`, or nil. A hit makes the entry the most recently used.
    /// Decompression runs outside the cache's lock.
    public func get(_ key: FrameKey) -> RGBImage? {
        guard let e = lru.get(key) else { return nil }
        guard e.compressed else { return RGBImage(width: e.width, height: e.height, pixels: e.data) }
        // The cache wrote this block itself; anything else is memory corruption.
        guard let raw = LZ4Block.decompress(e.data, rawCount: e.width * e.height * 3) else {
            preconditionFailure("FrameCache: LZ4 block for \(key) does not decompress")
        }
        return RGBImage(width: e.width, height: e.height, pixels: raw)
    }

    /// Stores `image` under `key` (replacing any previous entry), evicting least recently used
    /// entries as needed. Not stored if its cost alone exceeds the budget.
    public func put(_ key: FrameKey, _ image: RGBImage) {
        var entry = Entry(width: image.width, height: image.height, data: image.pixels, compressed: false)
        if compress, let packed = LZ4Block.compress(image.pixels), packed.count < image.pixels.count {
            entry.data = packed
            entry.compressed = true
        }
        lru.put(key, entry, cost: entry.data.count + Self.entryOverhead, rawCost: image.pixels.count)
    }

    /// Whether `key` is cached (does not count as a hit or miss, does not touch recency).
    public func contains(_ key: FrameKey) -> Bool { lru.contains(key) }

    public var stats: Stats { lru.stats }

    /// Drops every entry (counters are kept; this is not counted as evictions).
    public func removeAll() { lru.removeAll() }
}
