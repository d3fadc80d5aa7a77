import Foundation
import Store
import Support
import Video

/// JPEG thumbnails of sampled frames, keyed by the video's content hash and frame index, in a
/// byte-bounded LRU (the JPEG bytes plus a small per-entry overhead count against the budget).
public final class ThumbnailCache: @unchecked Sendable {
    let lru: ByteBudgetLRU<String, Data>
    let encoder: JPEGEncoder

    public init(byteBudget: Int, maxDimension: Int) {
        lru = ByteBudgetLRU(byteBudget: byteBudget)
        encoder = JPEGEncoder(quality: 5, maxDimension: maxDimension)
    }

    func key(_ v: VideoRecord, _ index: Int) -> String {
        "\(v.contentHash)@\(v.fps)#\(index)#\(encoder.maxDimension ?? 0)"
    }

    public func cached(_ v: VideoRecord, _ index: Int) -> Data? { lru.get(key(v, index)) }

    /// Decodes the frame at its stored seek point and encodes it (blocking; run off the loop);
    /// the decoding is charged to `control`.
    public func make(_ library: Library, _ v: VideoRecord, _ index: Int, control: QueryControl = QueryControl()) throws
        -> Data
    {
        let k = key(v, index)
        if let d = lru.get(k) { return d }
        let image = try library.frameImage(v, index: index, control: control)
        let jpeg = try encoder.encode(image)
        lru.put(k, jpeg, cost: jpeg.count + 128, rawCost: jpeg.count)
        return jpeg
    }

    public var stats: ByteBudgetLRU<String, Data>.Stats { lru.stats }
}
