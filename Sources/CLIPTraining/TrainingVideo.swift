import Timeline

/// One video's sampled frames as training input. The pixels come from a closure so the
/// caller decides how they are held (e.g. uint8 224x224 RGB, 150 KB a frame, normalized on
/// the fly) — the CLIP module knows nothing of video decoding.
public struct TrainingVideo: Sendable {
    /// The path as given: used in messages and to match captions.
    public let name: String
    /// Time in seconds of each sampled frame, in order (frame k is sample k).
    public let times: [Double]
    /// Length of the video in seconds (captions must fall inside it).
    public let duration: Double
    /// Writes frame k's normalized CHW pixels ([3, S, S], CLIP mean/std) into the buffer.
    public let pixels: @Sendable (Int, UnsafeMutablePointer<Float>) -> Void
    /// P-frame k's per-patch motion from its anchor (codec motion vectors, as the library
    /// measures them), or nil: the motion strategy then ranks by the pixel difference, as the
    /// library does where the codec gives none.
    public let motion: @Sendable (Int) -> [Float]?
    /// Sampled frames that start a shot (adaptive I-frames): with `TokenizerTrainingConfig.iframes`
    /// adaptive, each is an I-frame and no training pair's anchor lies before a cut, as in a
    /// library indexed adaptively. Ignored for fixed placement.
    public let shotStarts: ShotStarts

    public var frameCount: Int { times.count }

    public init(
        name: String, times: [Double], duration: Double,
        pixels: @escaping @Sendable (Int, UnsafeMutablePointer<Float>) -> Void,
        motion: @escaping @Sendable (Int) -> [Float]? = { _ in nil }, shotStarts: ShotStarts = .none
    ) {
        self.motion = motion
        self.shotStarts = shotStarts
        self.name = name
        self.times = times
        self.duration = duration
        self.pixels = pixels
    }
}

/// How the held-out P-frames are chosen.
public enum HoldoutSplit: String, Sendable, Codable, CaseIterable {
    /// By video when there are at least 5 videos, otherwise by time.
    case auto
    /// Whole videos (a seeded choice of round(holdout * videos), at least 1) are held out.
    case video
    /// The last round(holdout * groups) I/P groups of every video are held out.
    case time
}
