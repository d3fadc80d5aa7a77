/// The model-input patch grid motion is measured on: `grid` x `grid` patches of a
/// `imageSize` x `imageSize` input (7 for B/32, 14 for B/16, 16 for L/14 at 224).
public struct MotionGrid: Sendable, Hashable {
    public let imageSize: Int
    public let grid: Int

    public init(imageSize: Int, grid: Int) {
        precondition(
            imageSize > 0 && grid > 0 && imageSize % grid == 0,
            "MotionGrid: \(imageSize) px is not a whole number of \(grid) patches")
        self.imageSize = imageSize
        self.grid = grid
    }

    public var patchCount: Int { grid * grid }
}

/// Where the `motion` token reduction's per-patch scores come from for one video.
public enum MotionSource: String, Sendable, Codable, CaseIterable {
    /// The codec's own motion vectors, accumulated from the anchor to the P-frame. A P-frame
    /// whose span holds no vector at all (every frame in it intra-coded) or a damaged picture
    /// falls back to the pixel difference, by the same rule wherever it is computed.
    case vectors
    /// Mean |frame - anchor| of the normalised model inputs: codecs that export no vectors
    /// (intra-only ones such as MJPEG, HEVC, VP9, AV1 in libavcodec), images, and every video
    /// indexed before the source was recorded.
    case pixels
}

/// Codec motion between two consecutive sampled frames, on the model-input patch grid: for
/// every decoded frame shown after the previous sample, up to and including this one, each
/// motion vector's |motion| (source pixels) times the area of its block that falls in the
/// patch (source pixels, after the preprocessing's resize and centre crop are undone).
///
/// Consecutive deltas add up to the motion of a whole anchor-to-P span (`span`), so the
/// sequential pass (which sees every sample) and random access (which decodes only the span)
/// add exactly the same numbers in the same order: the scores are bit-identical.
public struct PatchMotion: Sendable, Equatable {
    /// Per patch, row-major.
    public internal(set) var magnitude: [Double]
    /// Motion vectors seen (0: every frame was intra-coded, or the codec exports none).
    public internal(set) var vectors: Int
    /// A concealed (damaged) picture was among the frames: its vectors cannot be trusted.
    public internal(set) var damaged: Bool

    public init(grid: Int) {
        magnitude = [Double](repeating: 0, count: grid * grid)
        vectors = 0
        damaged = false
    }

    mutating func add(_ other: PatchMotion) {
        precondition(other.magnitude.count == magnitude.count)
        for i in magnitude.indices { magnitude[i] += other.magnitude[i] }
        vectors += other.vectors
        damaged = damaged || other.damaged
    }

    /// The per-patch motion of a P-frame: the deltas of the samples after its anchor up to and
    /// including it, summed in order. nil when the codec gave nothing usable there (no vector,
    /// or a damaged picture): the caller falls back to the pixel difference.
    public static func span<C: Collection>(_ deltas: C) -> [Float]? where C.Element == PatchMotion {
        guard let first = deltas.first else { return nil }
        var total = PatchMotion(grid: 0)
        total.magnitude = [Double](repeating: 0, count: first.magnitude.count)
        for d in deltas { total.add(d) }
        guard total.vectors > 0, !total.damaged else { return nil }
        return total.magnitude.map { Float($0) }
    }
}
