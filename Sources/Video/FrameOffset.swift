/// Where sampled frame `index` lives in its video, enough to decode exactly that frame again.
///
/// - `index`: k, the sample number (sample k is taken at `k / fps` seconds after the stream start).
/// - `pts`: presentation timestamp of the decoded frame shown at that instant, in the stream's
///   time base (`VideoInfo.timeBase`).
/// - `time`: that frame's presentation time in seconds since the stream start,
///   `(pts - start) * timeBase` (never negative). Under the previous-frame rule it is `<= index / fps`
///   (equal for constant-frame-rate video whose frame rate is a multiple of `fps`).
/// - `seekPTS`: pts of the keyframe to seek to (`av_seek_frame(..., AVSEEK_FLAG_BACKWARD)`),
///   from which decoding forward reaches the frame: the most recent keyframe, in presentation
///   order, at or before it.
public struct FrameOffset: Sendable, Codable, Equatable, Hashable {
    public let index: Int
    public let pts: Int64
    public let time: Double
    public let seekPTS: Int64

    public init(index: Int, pts: Int64, time: Double, seekPTS: Int64) {
        self.index = index
        self.pts = pts
        self.time = time
        self.seekPTS = seekPTS
    }
}
