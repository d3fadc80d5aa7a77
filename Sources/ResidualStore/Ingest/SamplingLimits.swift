/// The bounds of the sampling settings (fps, N, p) that every command, the engine and the
/// server accept: one copy, so a value one path takes is never refused by another.
///
/// fps is bounded at 120: the highest common capture rate (high-frame-rate phone video, 120 Hz
/// screen recordings), so any ordinary stream can be sampled at its full rate; above that,
/// sampling only repeats decoded frames while multiplying the work and storage per second.
/// (Training and `scan` stopped at 60 before; indexing at 120. The larger bound wins so a
/// tokenizer can be trained at the rate a library is indexed at.)
public enum SamplingLimits {
    public static let maxFPS = 120.0

    /// Why `fps` is refused, nil when it is fine.
    public static func problem(fps: Double) -> String? {
        fps.isFinite && fps > 0 && fps <= maxFPS ? nil : "fps must be in (0, \(Int(maxFPS))], got \(fps)"
    }

    /// Why `n` (P-frames per I-frame) is refused; `atLeast` 1 where P-frames are needed (training).
    public static func problem(n: Int, atLeast minimum: Int = 0) -> String? {
        n >= minimum ? nil : "n (P-frames per I-frame) must be >= \(minimum), got \(n)"
    }

    /// Why `p` (fraction of patch tokens dropped on P-frames) is refused.
    public static func problem(p: Double) -> String? {
        p >= 0 && p < 1 ? nil : "p must be in [0, 1), got \(p)"
    }
}
