import CFFmpeg
import Foundation

/// Sample-clock arithmetic, exact in integers: sample k is at `start + k / fps` on the stream's
/// presentation timeline (stream time base). Timestamps come from the file, so they are hostile:
/// nothing here traps on values near Int64.max (indices saturate), and `check` refuses the
/// timestamps that would make the sampling pass emit a flood of samples.
struct SamplingClock {
    let start: Int64
    let num: Int64  // tb.num * fps.num
    let den: Int64  // tb.den * fps.den
    let fps: Double
    let timeBase: AVRational

    /// Farthest a frame may lie from the stream start (a month: no real recording is longer).
    static let maxSeconds = 31 * 86_400.0
    /// Longest forward jump between consecutive frames: one frame held for longer than an hour
    /// is damaged timestamps, not video (it would be sampled fps x 3600 times).
    static let maxGapSeconds = 3_600.0
    /// The sample budget of a file: on average a frame may stand for at most this long, plus
    /// `budgetSlackSeconds`. Samples are work (a CLIP pass each I-frame, bytes in the store and
    /// in every server's matrix); a 53 KB file of frames an hour apart would otherwise buy a
    /// month of samples. Gaps that spend more are damage, not hours of video.
    static let maxMeanHoldSeconds = 30.0
    static let budgetSlackSeconds = 3_600.0

    /// Why emitting `adding` more samples after `samples` is over the budget that `packets`
    /// demuxed packets earn, or nil. A slideshow of one picture every 30 s stays within it.
    func checkBudget(samples: Int, adding: Int64, packets: Int) -> String? {
        let budget = fps * (Self.maxMeanHoldSeconds * Double(max(1, packets)) + Self.budgetSlackSeconds)
        guard Double(samples) + Double(adding) > budget else { return nil }
        return "\(packets) frames would stand for \(samples + Int(clamping: adding)) samples at \(fps) fps "
            + """
            (more than one per \(Int(Self.maxMeanHoldSeconds)) s of frame on average plus \
            \(Int(Self.budgetSlackSeconds)) s): damaged timestamps
            """
    }

    init(start: Int64, timeBase: AVRational, fps: Double) {
        let q = av_d2q(fps, 1_000_000)
        self.start = start
        self.num = Int64(timeBase.num) * Int64(q.num)
        self.den = Int64(timeBase.den) * Int64(q.den)
        self.fps = fps
        self.timeBase = timeBase
    }

    /// Smallest k with t_k >= pts (may be <= 0 for pts at or before the start).
    func ceilIndex(_ pts: Int64) -> Int64 { index(pts, AV_ROUND_UP) }

    /// Largest k with t_k <= pts.
    func floorIndex(_ pts: Int64) -> Int64 { index(pts, AV_ROUND_DOWN) }

    /// The sample index of `pts`, saturating at Int64.min / Int64.max where the exact one does
    /// not fit (av_rescale_rnd answers INT64_MIN on overflow, whatever the sign).
    private func index(_ pts: Int64, _ rounding: AVRounding) -> Int64 {
        let (delta, overflow) = pts.subtractingReportingOverflow(start)
        if overflow { return pts > start ? .max : .min }
        let k = av_rescale_rnd(delta, num, den, rounding)
        return k == .min && delta > 0 ? .max : k
    }

    /// Seconds since the start.
    func seconds(_ pts: Int64) -> Double { LibAV.seconds(pts, from: start, timeBase: timeBase) }

    /// Seconds as a whole number for messages (Int(_:) would trap beyond 2^63).
    private static func whole(_ s: Double) -> String { String(format: "%.0f", s) }

    /// Why the frame at `pts` (following the frame at `previous`, if any) cannot be sampled, or nil.
    func check(_ pts: Int64, previous: Int64?) -> String? {
        let t = seconds(pts)
        if let previous, t - seconds(previous) > Self.maxGapSeconds {
            return
                """
                timestamps jump \(Self.whole(t - seconds(previous))) s forward (pts \(previous) -> \(pts), more than \
                \(Int(Self.maxGapSeconds)) s between two frames): damaged timestamps
                """
        }
        guard abs(t) <= Self.maxSeconds else {
            return
                """
                frame pts \(pts) lies \(Self.whole(t)) s from the stream start (more than \(Int(Self.maxSeconds)) s): \
                damaged timestamps
                """
        }
        return nil
    }
}
