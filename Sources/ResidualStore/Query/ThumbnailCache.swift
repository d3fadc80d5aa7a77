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

    /// The thumbnail from the still the tier stored at ingest for this frame's I-frame (see
    /// `FrameTier.still`), downscaled only if larger than this cache's size; nil when there is
    /// none near it (tier off, a store indexed before stills, evicted or damaged). Reads the
    /// store and the tier, never the video file.
    public func fromStill(_ library: Library, _ v: VideoRecord, _ index: Int) throws -> Data? {
        let k = key(v, index)
        if let d = lru.get(k) { return d }
        guard let still = try library.still(v, index: index) else { return nil }
        var jpeg = still.jpeg
        if let m = encoder.maxDimension, m > 0, max(still.width, still.height) > m {
            jpeg = try encoder.encode(try JPEGDecoder(maxDimension: FrameTier.stillMaxDimension).decode(still.jpeg))
        }
        lru.put(k, jpeg, cost: jpeg.count + 128, rawCost: jpeg.count)
        return jpeg
    }

    /// Decodes the frame at its stored seek point and encodes it (blocking; run off the loop);
    /// the decoding is charged to `control`. The picture is also stored as a still (where the
    /// tier is on), so the next thumbnail near this time is served without decoding: stores
    /// indexed before stills fill them in as they are looked at.
    public func make(_ library: Library, _ v: VideoRecord, _ index: Int, control: QueryControl = QueryControl()) throws
        -> Data
    {
        let k = key(v, index)
        if let d = lru.get(k) { return d }
        let image = try library.frameImage(v, index: index, control: control)
        let jpeg = try encoder.encode(image)
        lru.put(k, jpeg, cost: jpeg.count + 128, rawCost: jpeg.count)
        if let tier = library.frameTier, let offsets = try? library.offsets(of: v), offsets.indices.contains(index),
            let still = try? tier.encodeStill(image, time: offsets[index].time, session: tier.makeStillSession())
        {
            tier.refillStills(video: v.contentHash, [still])
        }
        return jpeg
    }

    public var stats: ByteBudgetLRU<String, Data>.Stats { lru.stats }
}
