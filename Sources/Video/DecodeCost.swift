/// What decoding a frame costs, in 720p frames: a decoded frame counts its pixels divided by
/// 1280x720 (a 1080p frame 2.25, a 4K frame 9, a 360p frame 0.25), never less than 1/64
/// (160x90), below which the per-frame work of the demuxer and decoder calls dominates.
/// Measured here (libx264, one thread, 300 frames): 0.07 / 0.27 / 0.6 / 2.5 / 4.9 ms per frame
/// at 160x120 / 320x180 / 640x360 / 720p / 1080p, i.e. close to linear in pixels.
///
/// Requests are charged by the frames the decoder really outputs (from the seek keyframe to
/// the wanted frame, non-reference frames it may skip excluded), so a long GOP or a large
/// picture costs what it costs, whatever the number of sampled frames asked for.
public enum DecodeCost {
    /// Pixels of one 720p frame: the unit.
    public static let unitPixels = 1280 * 720
    /// The least a decoded frame costs, in pixels (160x90).
    public static let minimumPixels = 160 * 90

    /// Pixels charged for one decoded frame of `width` x `height`.
    public static func pixels(width: Int, height: Int) -> Int {
        let w = max(0, min(width, 1 << 16))
        let h = max(0, min(height, 1 << 16))
        return max(minimumPixels, w * h)
    }

    /// 720p frames that `pixels` make.
    public static func frames(pixels: Int) -> Double { Double(pixels) / Double(unitPixels) }

    /// Pixels that `frames` 720p frames make (saturating).
    public static func pixels(frames: Double) -> Int {
        guard frames.isFinite else { return frames > 0 ? .max : 0 }
        let p = (frames * Double(unitPixels)).rounded(.down)
        return p >= Double(Int.max) ? .max : max(0, Int(p))
    }
}

/// Called for every frame the decoder outputs during random access, before it is converted,
/// with the frame's coded size; throwing stops the decode there (a request over its budget).
public typealias DecodeMeter = (_ width: Int, _ height: Int) throws -> Void
