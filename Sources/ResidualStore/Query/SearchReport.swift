import Foundation

/// A search's moments with where its time went, for `--json` and `GET /v1/search`.
public struct SearchReport: Sendable, Codable {
    public var moments: [Moment]
    /// Stage 1 (text encoding, matrix scan or index search, coarse proposals), milliseconds.
    public var stage1Ms: Double
    /// Stage 2 (P-frame reconstruction and refined proposals), milliseconds.
    public var stage2Ms: Double
    /// P-features computed by the residual encoder for this query.
    public var pFrames: Int
    /// Sampled frames decoded from the original video files.
    public var decodedFrames: Int
    /// P-frame inputs served by the decoded-frame tier.
    public var frameCacheHits: Int
    /// False when some moments kept coarse boundaries (the P-frame budget ran out).
    public var refined: Bool
    /// Videos and I-feature rows stage 1 scored (all of the library without a filter).
    public var stage1Videos = 0
    public var stage1Rows = 0
    /// Videos stage 2 read frames of (stored I-features, P-frames reconstructed), by id.
    public var stage2Videos: [Int64] = []
    /// Which search stage 1 ran: the exact scan, or the approximate index (`Stage1Settings`).
    public var stage1: Stage1Mode = .exact

    enum CodingKeys: String, CodingKey {
        case moments, refined, stage1
        case stage1Ms = "stage1_ms"
        case stage2Ms = "stage2_ms"
        case pFrames = "p_frames"
        case decodedFrames = "decoded_frames"
        case frameCacheHits = "frame_cache_hits"
        case stage1Videos = "stage1_videos"
        case stage1Rows = "stage1_rows"
        case stage2Videos = "stage2_videos"
    }
}
