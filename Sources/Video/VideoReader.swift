import CFFmpeg
import Foundation

/// Decodes one video file: probing (`info`), sequential sampling at a target rate
/// (`frames(fps:)`, `forEachFrame(fps:_:)`) and random access to sampled frames by their stored
/// offsets (`decode(offsets:)`).
///
/// ## Sampling rule (previous-frame rule)
/// Sampled frame k is the decoded frame *shown* at time `t_k = start + k / fps` on the stream's
/// presentation timeline, where `start` is the stream's start time (its `start_time`, or the first
/// decoded frame's timestamp if the container gives none). The frame shown at `t_k` is the one
/// whose display interval contains `t_k`: the **last frame, in presentation (pts) order, with
/// `pts <= t_k`**. If `t_k` precedes every frame (a stream whose first frame comes after its
/// declared start), the first frame is used. Frames are taken in pts order, never decode order,
/// so B-frames are handled; timestamps are `best_effort_timestamp` (the pts, or libav's guess
/// when the pts is missing). Variable frame rate falls out of the rule: a frame that stays on
/// screen across several sample instants is sampled several times (consecutive indices, same
/// pts), and frames between two instants are skipped.
/// Samples stop at the last decoded frame: k runs from 0 while `t_k <= pts of the last frame`,
/// so a stream that ends early (or is cut) never yields samples past its end.
///
/// `frames(fps:)` decodes on its own thread and hands frames over through a bounded buffer
/// (8 frames), so decoding overlaps with whatever consumes them.
///
/// Thread safety: the random-access decoder is guarded by a lock, and every sequential pass
/// opens its own demuxer/decoder, so a reader may be shared between tasks.
public final class VideoReader: @unchecked Sendable {
    public let url: URL
    public let info: VideoInfo
    /// Decoder threads (libavcodec `thread_count`; 0 = one per core, libav's choice).
    public let threads: Int
    /// Damage concealed by this reader's passes (nil: the reader was opened strict, and any
    /// damaged packet, picture or read error throws `VideoError`).
    public let damage: DamageLog?

    /// Random-access decoder (opened by init, used by `decode(offsets:)`), guarded by `lock`.
    let input: MediaInput
    let lock = NSLock()
    let randomConverter = RGBConverter()

    /// Random access (`decode(offsets:)`) skips the deblocking filter of the frames it decodes
    /// only on the way to a wanted one (H.264, HEVC): ~25% less decode time for a GOP, at the
    /// price of pictures that differ slightly from a full decode (see `MediaInput`). Off by
    /// default: ingest and anything compared bit for bit decode in full.
    public var deblockTargetsOnly: Bool {
        get { lock.withLock { input.deblockTargetsOnly } }
        set { lock.withLock { input.deblockTargetsOnly = newValue } }
    }

    /// Opens the file, picks its best video stream and probes it. Throws `VideoError`.
    ///
    /// - Parameter concealDamage: decode damaged media the way a player does (corrupt packets
    ///   are concealed by the decoder, rejected packets skipped, a file cut short yields what it
    ///   has) and record each event in `damage`, instead of throwing at the first one.
    public init(url: URL, threads: Int = 0, concealDamage: Bool = false) throws {
        self.url = url
        self.threads = threads
        self.damage = concealDamage ? DamageLog() : nil
        let input = try MediaInput(url: url, threads: threads)
        input.damage = damage
        self.input = input
        self.info = Self.probe(input)
    }

    static func probe(_ input: MediaInput) -> VideoInfo {
        let st = input.stream.pointee
        let par = st.codecpar.pointee
        let tb = st.time_base
        let rotation = input.rotation
        let cw = Int(par.width)
        let ch = Int(par.height)
        let swap = rotation == 90 || rotation == 270
        let fr = st.avg_frame_rate.num > 0 && st.avg_frame_rate.den > 0 ? st.avg_frame_rate : st.r_frame_rate
        let frameRate = fr.num > 0 && fr.den > 0 ? Double(fr.num) / Double(fr.den) : 0
        let tbSeconds = Double(tb.num) / Double(tb.den)
        var start = 0.0
        if st.start_time != LibAV.nopts {
            start = Double(st.start_time) * tbSeconds
        } else if let fmt = input.fmt, fmt.pointee.start_time != LibAV.nopts {
            start = Double(fmt.pointee.start_time) / Double(AV_TIME_BASE)
        }
        var duration = 0.0
        if st.duration != LibAV.nopts && st.duration > 0 {
            duration = Double(st.duration) * tbSeconds
        } else if let fmt = input.fmt, fmt.pointee.duration != LibAV.nopts && fmt.pointee.duration > 0 {
            duration = Double(fmt.pointee.duration) / Double(AV_TIME_BASE)
        }
        var count = Int(st.nb_frames)
        if count <= 0 { count = Int((duration * frameRate).rounded()) }
        return VideoInfo(
            path: input.path, width: swap ? ch : cw, height: swap ? cw : ch,
            codedWidth: cw, codedHeight: ch, rotation: rotation,
            timeBase: .init(num: tb.num, den: tb.den), frameRate: frameRate,
            startTime: start, duration: duration,
            codecName: LibAV.codecName(par.codec_id), streamIndex: Int(input.streamIndex),
            frameCountEstimate: count)
    }

    func checkFPS(_ fps: Double) throws {
        guard fps.isFinite, fps > 0, fps <= 1000 else {
            throw VideoError.invalidArgument(
                path: url.path, message: "sampling rate must be in (0, 1000] fps, got \(fps)")
        }
    }
}
