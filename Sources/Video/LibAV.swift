import CFFmpeg
import Foundation

// Internal libav plumbing shared by VideoReader and ImageFile: open + probe (MediaInput),
// packet reading with a small lookahead, and YUV -> RGB24 conversion (RGBConverter).

enum LibAV {
    static let nopts: Int64 = rstore_av_nopts_value()
    static let eof: Int32 = rstore_averror_eof()
    static let eagain: Int32 = rstore_averror_eagain()
    static let invalidData: Int32 = rstore_averror_invaliddata()
    static let decoderNotFound: Int32 = rstore_averror_decoder_not_found()
    static let streamNotFound: Int32 = rstore_averror_stream_not_found()

    /// Largest accepted picture side; libav itself accepts far larger, but nothing real is.
    static let maxSide = 16384
    static let maxPixels = 16384 * 16384 / 2

    /// libav logs to stderr; keep it quiet unless RSTORE_AV_LOG=<level> (e.g. 32 = info, 16 = error).
    private static let logLevelOnce: Void = {
        if let s = ProcessInfo.processInfo.environment["RSTORE_AV_LOG"], let l = Int32(s) {
            rstore_set_log_level(l)
        } else {
            rstore_set_log_level(AV_LOG_FATAL)
        }
    }()
    static func configureLogging() { _ = logLevelOnce }

    static func errorString(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        if av_strerror(code, &buf, buf.count) < 0 { return "libav error \(code)" }
        return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// `(pts - start) x timeBase` in seconds, exact when the difference fits 64 bits and without
    /// trapping when a hostile file puts it beyond.
    static func seconds(_ pts: Int64, from start: Int64, timeBase: AVRational) -> Double {
        let (delta, overflow) = pts.subtractingReportingOverflow(start)
        let d = overflow ? Double(pts) - Double(start) : Double(delta)
        return d * Double(timeBase.num) / Double(timeBase.den)
    }

    static func codecName(_ id: AVCodecID) -> String {
        if let n = avcodec_get_name(id) { return String(cString: n) }
        return "unknown"
    }
}

/// Sample-clock arithmetic, exact in integers: sample k is at `start + k / fps` on the stream's
/// presentation timeline (stream time base). Timestamps come from the file, so they are hostile:
/// nothing here traps on values near Int64.max (indices saturate), and `check` refuses the
/// timestamps that would make the sampling pass emit a flood of samples.
struct SamplingClock {
    let start: Int64
    let num: Int64   // tb.num * fps.num
    let den: Int64   // tb.den * fps.den
    let fps: Double
    let timeBase: AVRational

    /// Farthest a frame may lie from the stream start (a month: no real recording is longer).
    static let maxSeconds = 31 * 86_400.0
    /// Longest forward jump between consecutive frames: one frame held for longer than an hour
    /// is damaged timestamps, not video (it would be sampled fps x 3600 times).
    static let maxGapSeconds = 3_600.0

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
            return "timestamps jump \(Self.whole(t - seconds(previous))) s forward (pts \(previous) -> \(pts), more than \(Int(Self.maxGapSeconds)) s between two frames): damaged timestamps"
        }
        guard abs(t) <= Self.maxSeconds else {
            return "frame pts \(pts) lies \(Self.whole(t)) s from the stream start (more than \(Int(Self.maxSeconds)) s): damaged timestamps"
        }
        return nil
    }
}

/// Which frames the decoder may skip (per packet, via `skip_frame = AVDISCARD_NONREF`, which
/// only ever drops frames that no other frame references).
enum SkipPolicy {
    /// Decode every frame.
    case none
    /// Sequential sampling: a frame is needed iff some sample instant t_k falls in
    /// [pts, next pts) (previous-frame rule).
    case sampling(SamplingClock)
    /// Random access: only frames with these pts are needed.
    case targets(Set<Int64>)
}

/// One opened file: demuxer + the best video stream + an opened decoder.
final class MediaInput {
    let path: String
    private(set) var fmt: UnsafeMutablePointer<AVFormatContext>?
    let stream: UnsafeMutablePointer<AVStream>
    let streamIndex: Int32
    private(set) var codec: UnsafeMutablePointer<AVCodecContext>?
    let timeBase: AVRational
    let codecID: AVCodecID
    /// Stream start in stream time base (nopts if the container does not say).
    let streamStart: Int64

    private var packet: UnsafeMutablePointer<AVPacket>?
    private(set) var frame: UnsafeMutablePointer<AVFrame>?

    // Packet lookahead (decode order) and recently sent pts, for the skip decision.
    private var lookahead: [UnsafeMutablePointer<AVPacket>] = []
    private var lookaheadHead = 0
    private var recentPTS: [Int64] = []
    private var demuxEOF = false
    private var demuxError: VideoError?
    private var draining = false
    private let lookaheadSize = 24

    var skipPolicy: SkipPolicy = .none
    /// Where damage goes when it is concealed instead of thrown (nil: every damaged packet,
    /// picture or read error throws, as `--strict` wants).
    var damage: DamageLog?
    /// Decoder errors in a row while concealing; past `maxConsecutiveErrors` the file is given up.
    private var consecutiveErrors = 0
    private let maxConsecutiveErrors = 256
    /// Skipping non-reference frames is only used for codecs whose NONREF semantics are known.
    let canSkipNonRef: Bool
    /// Statistics.
    private(set) var packetsSent = 0
    private(set) var packetsSkipped = 0
    private(set) var framesOutput = 0
    /// pts of the last packet sent to the decoder (for error messages).
    private(set) var lastPacketPTS: Int64 = LibAV.nopts
    /// Timestamp synthesis for frames without pts.
    private var lastFrameTS: Int64 = LibAV.nopts
    private var defaultFrameStep: Int64 = 1

    /// Opens `url`, picks the best video stream and opens its decoder.
    init(url: URL, threads: Int = 0, requireVideo: Bool = true) throws {
        LibAV.configureLogging()
        let path = url.path
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw VideoError.fileNotFound(path: path)
        }
        if let attrs = try? FileManager.default.attributesOfItem(atPath: path),
           let size = attrs[.size] as? NSNumber, size.int64Value == 0 {
            throw VideoError.emptyFile(path: path)
        }

        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        var r = avformat_open_input(&ctx, path, nil, nil)
        guard r >= 0, let ctx else {
            if r == rstore_averror_enoent() { throw VideoError.fileNotFound(path: path) }
            throw VideoError.cannotOpen(path: path, reason: LibAV.errorString(r))
        }
        var ok = false
        var ctxVar: UnsafeMutablePointer<AVFormatContext>? = ctx
        defer { if !ok { avformat_close_input(&ctxVar) } }

        r = avformat_find_stream_info(ctx, nil)
        if r < 0 { throw VideoError.cannotOpen(path: path, reason: LibAV.errorString(r)) }

        // Best video stream, ignoring cover art (attached pictures).
        var decoder: UnsafePointer<AVCodec>? = nil
        var best = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)
        if best >= 0, ctx.pointee.streams[Int(best)]!.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0, requireVideo {
            // Prefer a real video stream if there is one.
            var alt: Int32 = -1
            for i in 0..<Int(ctx.pointee.nb_streams) {
                let s = ctx.pointee.streams[i]!.pointee
                if s.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO && s.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 {
                    alt = Int32(i); break
                }
            }
            if alt < 0 { throw VideoError.noVideoStream(path: path) }
            best = alt
            decoder = avcodec_find_decoder(ctx.pointee.streams[Int(best)]!.pointee.codecpar.pointee.codec_id)
        }
        if best == LibAV.streamNotFound || best == LibAV.decoderNotFound && !Self.hasVideoStream(ctx) {
            throw VideoError.noVideoStream(path: path)
        }
        if best < 0 || decoder == nil {
            // A video stream exists but no decoder for it.
            var name = "unknown"
            for i in 0..<Int(ctx.pointee.nb_streams) {
                let par = ctx.pointee.streams[i]!.pointee.codecpar.pointee
                if par.codec_type == AVMEDIA_TYPE_VIDEO {
                    name = LibAV.codecName(par.codec_id)
                    if par.codec_id == AV_CODEC_ID_NONE { name = "unknown to libavformat" }
                    if par.codec_id == AV_CODEC_ID_NONE, par.codec_tag != 0 {
                        let t = par.codec_tag
                        let chars = [t & 0xff, (t >> 8) & 0xff, (t >> 16) & 0xff, (t >> 24) & 0xff]
                            .map { Character(Unicode.Scalar(UInt8($0))) }
                        name = "unknown (tag '\(String(chars))')"
                    }
                    break
                }
            }
            throw VideoError.unsupportedCodec(path: path, codec: name)
        }
        let st = ctx.pointee.streams[Int(best)]!
        let par = st.pointee.codecpar!
        let w = Int(par.pointee.width), h = Int(par.pointee.height)
        if w <= 0 || h <= 0 || w > LibAV.maxSide || h > LibAV.maxSide || w * h > LibAV.maxPixels
            || av_image_check_size(UInt32(clamping: w), UInt32(clamping: h), 0, nil) < 0 {
            throw VideoError.absurdDimensions(path: path, width: w, height: h)
        }

        guard let cc = avcodec_alloc_context3(decoder) else {
            throw VideoError.decodeFailed(path: path, time: nil, reason: "out of memory")
        }
        var ccVar: UnsafeMutablePointer<AVCodecContext>? = cc
        defer { if !ok { avcodec_free_context(&ccVar) } }
        r = avcodec_parameters_to_context(cc, par)
        if r < 0 { throw VideoError.unsupportedCodec(path: path, codec: LibAV.codecName(par.pointee.codec_id)) }
        cc.pointee.pkt_timebase = st.pointee.time_base
        cc.pointee.thread_count = Int32(threads)
        cc.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        r = avcodec_open2(cc, decoder, nil)
        if r < 0 {
            throw VideoError.unsupportedCodec(path: path, codec: LibAV.codecName(par.pointee.codec_id) + " (\(LibAV.errorString(r)))")
        }

        self.fmt = ctx
        self.stream = st
        self.streamIndex = best
        self.codec = cc
        self.timeBase = st.pointee.time_base
        self.codecID = par.pointee.codec_id
        self.streamStart = st.pointee.start_time
        self.packet = av_packet_alloc()
        self.frame = av_frame_alloc()
        switch par.pointee.codec_id {
        case AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_MPEG4, AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MPEG1VIDEO:
            self.canSkipNonRef = true
        default:
            self.canSkipNonRef = false
        }
        let fr = st.pointee.avg_frame_rate.num > 0 ? st.pointee.avg_frame_rate : st.pointee.r_frame_rate
        if fr.num > 0 && fr.den > 0 {
            // one frame in stream time base
            defaultFrameStep = max(1, av_rescale_q(1, AVRational(num: fr.den, den: fr.num), st.pointee.time_base))
        }
        ok = true
    }

    private static func hasVideoStream(_ ctx: UnsafeMutablePointer<AVFormatContext>) -> Bool {
        for i in 0..<Int(ctx.pointee.nb_streams) {
            let s = ctx.pointee.streams[i]!.pointee
            if s.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO && s.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 {
                return true
            }
        }
        return false
    }

    deinit {
        clearLookahead()
        av_packet_free(&packet)
        av_frame_free(&frame)
        avcodec_free_context(&codec)
        avformat_close_input(&fmt)
    }

    // MARK: - Stream facts

    /// Clockwise display rotation in degrees (0/90/180/270) from the display matrix, as ffmpeg's
    /// CLI autorotate computes it.
    var rotation: Int {
        guard let m = rstore_stream_display_matrix(stream) else { return 0 }
        let ccw = av_display_rotation_get(m)
        if ccw.isNaN { return 0 }
        var theta = -ccw
        theta -= 360 * (theta / 360 + 0.9 / 360).rounded(.down)
        let r = Int(theta.rounded())
        switch r {
        case 90, 180, 270: return r
        default: return 0
        }
    }

    func seconds(_ pts: Int64, from start: Int64) -> Double { LibAV.seconds(pts, from: start, timeBase: timeBase) }

    // MARK: - Seeking

    /// Number of seeks done (statistics, tests).
    private(set) var seeks = 0

    /// Seeks to the keyframe at or before `pts` (stream time base) and resets the decoder.
    func seek(to pts: Int64) -> Bool {
        guard let fmt, let codec else { return false }
        resetForSeek()
        var r = av_seek_frame(fmt, streamIndex, pts, AVSEEK_FLAG_BACKWARD)
        if r < 0 {
            r = avformat_seek_file(fmt, streamIndex, Int64.min, pts, pts, 0)
        }
        avcodec_flush_buffers(codec)
        return r >= 0
    }

    /// Seeks to the very beginning of the file.
    func seekToStart() -> Bool {
        guard let fmt, let codec else { return false }
        resetForSeek()
        let target = streamStart != LibAV.nopts ? streamStart : 0
        var r = av_seek_frame(fmt, streamIndex, target, AVSEEK_FLAG_BACKWARD)
        if r < 0 { r = av_seek_frame(fmt, -1, 0, AVSEEK_FLAG_BYTE | AVSEEK_FLAG_BACKWARD) }
        if r < 0 { r = avformat_seek_file(fmt, streamIndex, Int64.min, Int64.min, target, 0) }
        avcodec_flush_buffers(codec)
        return r >= 0
    }

    /// Drops buffered packets and end/error state before a seek.
    private func resetForSeek() {
        seeks += 1
        clearLookahead()
        demuxEOF = false
        demuxError = nil
        draining = false
        lastFrameTS = LibAV.nopts
    }

    // MARK: - Packets

    private func clearLookahead() {
        for i in lookaheadHead..<lookahead.count {
            var p: UnsafeMutablePointer<AVPacket>? = lookahead[i]
            av_packet_free(&p)
        }
        lookahead.removeAll(keepingCapacity: true)
        lookaheadHead = 0
        recentPTS.removeAll(keepingCapacity: true)
    }

    /// Fills the lookahead with packets of our stream (until `lookaheadSize` or end of input).
    private func fillLookahead() {
        guard let fmt, let packet else { return }
        while !demuxEOF && lookahead.count - lookaheadHead < lookaheadSize {
            let r = av_read_frame(fmt, packet)
            if r < 0 {
                demuxEOF = true
                if r != LibAV.eof {
                    let t = lastPacketPTS == LibAV.nopts ? nil : seconds(lastPacketPTS, from: startForMessages)
                    if let damage {
                        // A read error ends the data: keep what came before it.
                        damage.truncated(at: t ?? 0, reason: "read error: \(LibAV.errorString(r))")
                    } else {
                        demuxError = .readFailed(path: path, time: t, reason: LibAV.errorString(r))
                    }
                }
                break
            }
            if packet.pointee.stream_index != streamIndex {
                av_packet_unref(packet)
                continue
            }
            guard let p = av_packet_alloc() else { av_packet_unref(packet); break }
            av_packet_move_ref(p, packet)
            lookahead.append(p)
        }
        if lookaheadHead > 64 {
            lookahead.removeFirst(lookaheadHead)
            lookaheadHead = 0
        }
    }

    var startForMessages: Int64 { streamStart != LibAV.nopts ? streamStart : 0 }

    /// Whether the frame of a packet with this pts may be skipped under the current policy.
    private func packetSkippable(_ pts: Int64) -> Bool {
        guard canSkipNonRef, pts != LibAV.nopts else { return false }
        switch skipPolicy {
        case .none:
            return false
        case .targets(let set):
            return !set.contains(pts)
        case .sampling(let clock):
            // Next presentation pts after this one among packets already sent and still queued;
            // an earlier pts must exist too (else this may be the first frame, which is clamped
            // to cover t_0).
            var next = Int64.max
            var hasEarlier = false
            for q in recentPTS {
                if q > pts { next = min(next, q) } else if q < pts { hasEarlier = true }
            }
            for i in (lookaheadHead + 1)..<max(lookaheadHead + 1, lookahead.count) {
                let q = lookahead[i].pointee.pts
                if q == LibAV.nopts { return false }
                if q > pts { next = min(next, q) } else if q < pts { hasEarlier = true }
            }
            guard hasEarlier, next != Int64.max else { return false }
            // The next frame must be known for sure: it lies within the codec's reorder window,
            // which is far shorter than the lookahead unless we are near the end of input.
            if !demuxEOF && lookahead.count - lookaheadHead < lookaheadSize { return false }
            let a = max(clock.ceilIndex(pts), 0)
            let b = clock.ceilIndex(next)   // frame covers samples a..<b
            return a >= b
        }
    }

    /// Sends the next packet to the decoder (or the flush packet at end of input).
    /// Returns false if the decoder is already drained / draining.
    private func sendNextPacket() throws -> Bool {
        guard let codec else { return false }
        if draining { return false }
        fillLookahead()
        if lookaheadHead >= lookahead.count {
            if let e = demuxError { demuxError = nil; pendingError = e }
            draining = true
            _ = avcodec_send_packet(codec, nil)
            return true
        }
        let p = lookahead[lookaheadHead]
        let pts = p.pointee.pts
        if p.pointee.flags & AV_PKT_FLAG_CORRUPT != 0, damage != nil {
            // Concealing: the decoder gets the packet anyway and patches what it cannot decode.
            damage?.record(.corruptPacket, at: pts != LibAV.nopts ? seconds(pts, from: startForMessages) : nil)
        } else if p.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 {
            // Damaged/truncated packet: stop here, after draining what was decoded before it.
            let t = pts != LibAV.nopts ? seconds(pts, from: startForMessages) : nil
            pendingError = .readFailed(path: path, time: t, reason: "damaged or truncated packet")
            draining = true
            _ = avcodec_send_packet(codec, nil)
            return true
        }
        let skip = packetSkippable(pts)
        codec.pointee.skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
        if skip { packetsSkipped += 1 }
        let r = avcodec_send_packet(codec, p)
        if r == LibAV.eagain {
            // Decoder full: caller must receive first; keep the packet.
            return true
        }
        lookaheadHead += 1
        if pts != LibAV.nopts {
            lastPacketPTS = pts
            recentPTS.append(pts)
            if recentPTS.count > 48 { recentPTS.removeFirst(recentPTS.count - 32) }
        }
        var pp: UnsafeMutablePointer<AVPacket>? = p
        av_packet_free(&pp)
        packetsSent += 1
        if r < 0 {
            if framesOutput == 0 && packetsSent < 64 {
                // Streams cut mid-GOP (e.g. MPEG-TS) start with packets the decoder cannot use yet.
                return true
            }
            let t = pts != LibAV.nopts ? seconds(pts, from: startForMessages) : nil
            if let damage {
                // Concealing: drop the packet, go on with the next.
                damage.record(.decodeError, at: t)
                consecutiveErrors += 1
                if consecutiveErrors <= maxConsecutiveErrors { return true }
            }
            pendingError = .decodeFailed(path: path, time: t, reason: LibAV.errorString(r))
            draining = true
            _ = avcodec_send_packet(codec, nil)
        }
        return true
    }

    /// An error found while reading ahead; thrown once the decoder has returned the frames it
    /// had completed before it.
    private var pendingError: VideoError?

    /// Decodes the next frame into `frame`. Returns its timestamp (best effort, synthesised if the
    /// stream has none), or nil at the end of the stream. Throws on read/decode errors and on
    /// damaged pictures (never returns concealed/corrupt frames), unless `damage` is set: then
    /// damaged packets and pictures are concealed, counted there, and decoding goes on.
    func nextFrame() throws -> Int64? {
        guard let codec, let frame else { return nil }
        while true {
            let r = avcodec_receive_frame(codec, frame)
            if r == 0 {
                let f = frame.pointee
                var ts = f.best_effort_timestamp
                if ts == LibAV.nopts { ts = f.pts }
                if ts == LibAV.nopts {
                    ts = lastFrameTS == LibAV.nopts ? startForMessages : lastFrameTS.addingReportingOverflow(defaultFrameStep).partialValue
                }
                if f.decode_error_flags != 0 || f.flags & AV_FRAME_FLAG_CORRUPT != 0, let damage {
                    // Concealed picture: kept (it is what a player shows), counted with its time.
                    damage.record(.damagedFrame, at: seconds(ts, from: startForMessages))
                } else if f.decode_error_flags != 0 || f.flags & AV_FRAME_FLAG_CORRUPT != 0 {
                    av_frame_unref(frame)
                    throw VideoError.decodeFailed(path: path, time: seconds(ts, from: startForMessages),
                                                  reason: "damaged picture (decode error flags \(f.decode_error_flags))")
                }
                lastFrameTS = ts
                framesOutput += 1
                consecutiveErrors = 0
                return ts
            }
            if r == LibAV.eof {
                if let e = pendingError { pendingError = nil; throw e }
                return nil
            }
            if r != LibAV.eagain {
                let t = lastPacketPTS != LibAV.nopts ? seconds(lastPacketPTS, from: startForMessages) : nil
                if let damage, r == LibAV.invalidData, consecutiveErrors < maxConsecutiveErrors {
                    // Frame-threaded decoders report a bad packet here; conceal and go on.
                    damage.record(.decodeError, at: t)
                    consecutiveErrors += 1
                    continue
                }
                throw VideoError.decodeFailed(path: path, time: t, reason: LibAV.errorString(r))
            }
            if try !sendNextPacket() {
                if let e = pendingError { pendingError = nil; throw e }
                return nil
            }
        }
    }
}

/// Converts decoded frames to packed RGB24 with swscale (bicubic, accurate rounding, full chroma
/// interpolation), using the frame's own colour space and range, then applies the rotation.
final class RGBConverter {
    private var ctx: OpaquePointer?
    private var key: (w: Int32, h: Int32, fmt: Int32, cs: Int32, range: Int32) = (0, 0, -1, -1, -1)
    static let flags: Int32 = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT

    deinit { sws_freeContext(ctx) }

    /// Colour space used when the stream leaves it unspecified: BT.709 for HD sizes (height >= 720
    /// or width >= 1280), else BT.601, as players do.
    static func effectiveColorspace(_ cs: AVColorSpace, width: Int32, height: Int32) -> Int32 {
        switch cs {
        case AVCOL_SPC_BT709, AVCOL_SPC_FCC, AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M,
             AVCOL_SPC_SMPTE240M, AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL:
            return Int32(cs.rawValue)
        default:
            return (height >= 720 || width >= 1280) ? SWS_CS_ITU709 : SWS_CS_ITU601
        }
    }

    /// The deprecated full-range "J" formats map to their plain twin + full range.
    private static func normalise(_ fmt: AVPixelFormat) -> (AVPixelFormat, Bool) {
        switch fmt {
        case AV_PIX_FMT_YUVJ420P: return (AV_PIX_FMT_YUV420P, true)
        case AV_PIX_FMT_YUVJ422P: return (AV_PIX_FMT_YUV422P, true)
        case AV_PIX_FMT_YUVJ444P: return (AV_PIX_FMT_YUV444P, true)
        case AV_PIX_FMT_YUVJ440P: return (AV_PIX_FMT_YUV440P, true)
        case AV_PIX_FMT_YUVJ411P: return (AV_PIX_FMT_YUV411P, true)
        default: return (fmt, false)
        }
    }

    func convert(_ frame: UnsafeMutablePointer<AVFrame>, rotation: Int, path: String) throws -> RGBImage {
        let f = frame.pointee
        let w = f.width, h = f.height
        guard w > 0, h > 0 else { throw VideoError.absurdDimensions(path: path, width: Int(w), height: Int(h)) }
        let (srcFmt, forcedFull) = Self.normalise(AVPixelFormat(rawValue: f.format))
        let full: Int32 = (forcedFull || f.color_range == AVCOL_RANGE_JPEG) ? 1 : 0
        let cs = Self.effectiveColorspace(f.colorspace, width: w, height: h)
        if ctx == nil || key.w != w || key.h != h || key.fmt != srcFmt.rawValue || key.cs != cs || key.range != full {
            sws_freeContext(ctx)
            ctx = sws_getContext(w, h, srcFmt, w, h, AV_PIX_FMT_RGB24, Self.flags, nil, nil, nil)
            guard let ctx else {
                let name = av_get_pix_fmt_name(srcFmt).map { String(cString: $0) } ?? "\(srcFmt.rawValue)"
                throw VideoError.decodeFailed(path: path, time: nil, reason: "cannot convert pixel format \(name) to RGB24")
            }
            let isRGBSource = (av_pix_fmt_desc_get(srcFmt)?.pointee.flags ?? 0) & UInt64(AV_PIX_FMT_FLAG_RGB) != 0
            if !isRGBSource {
                _ = sws_setColorspaceDetails(ctx, sws_getCoefficients(cs), full,
                                             sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                             0, 1 << 16, 1 << 16)
            }
            key = (w, h, srcFmt.rawValue, cs, full)
        }
        let width = Int(w), height = Int(h)
        let rowBytes = width * 3
        let count = rowBytes * height
        // A little slack: some swscale output paths write a few bytes past the last pixel.
        var buf = [UInt8](unsafeUninitializedCapacity: count + 64) { b, n in
            let dst: [UnsafeMutablePointer<UInt8>?] = [b.baseAddress, nil, nil, nil]
            let dstStride: [Int32] = [Int32(rowBytes), 0, 0, 0]
            withUnsafePointer(to: frame.pointee.data) { dataTuple in
                withUnsafePointer(to: frame.pointee.linesize) { lsTuple in
                    dataTuple.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { src in
                        lsTuple.withMemoryRebound(to: Int32.self, capacity: 8) { ls in
                            let srcConst = UnsafeRawPointer(src).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
                            _ = sws_scale(ctx, srcConst, ls, 0, h, dst, dstStride)
                        }
                    }
                }
            }
            n = count
        }
        if rotation != 0 {
            buf = Self.rotate(buf, width: width, height: height, degrees: rotation)
            if rotation == 90 || rotation == 270 {
                return RGBImage(width: height, height: width, pixels: buf)
            }
        }
        return RGBImage(width: width, height: height, pixels: buf)
    }

    /// Rotates packed RGB24 clockwise by 90, 180 or 270 degrees.
    static func rotate(_ src: [UInt8], width w: Int, height h: Int, degrees: Int) -> [UInt8] {
        let count = w * h * 3
        return [UInt8](unsafeUninitializedCapacity: count) { out, n in
            src.withUnsafeBufferPointer { inp in
                let s = inp.baseAddress!, d = out.baseAddress!
                switch degrees {
                case 180:
                    for y in 0..<h {
                        let srow = s + y * w * 3
                        let drow = d + (h - 1 - y) * w * 3
                        for x in 0..<w {
                            let si = x * 3, di = (w - 1 - x) * 3
                            drow[di] = srow[si]; drow[di + 1] = srow[si + 1]; drow[di + 2] = srow[si + 2]
                        }
                    }
                case 90:
                    // dst is h wide, w tall: dst(x', y') = src(y', h - 1 - x')
                    for y in 0..<h {
                        let srow = s + y * w * 3
                        let dx = h - 1 - y
                        for x in 0..<w {
                            let si = x * 3, di = (x * h + dx) * 3
                            d[di] = srow[si]; d[di + 1] = srow[si + 1]; d[di + 2] = srow[si + 2]
                        }
                    }
                case 270:
                    // dst(x', y') = src(w - 1 - y', x')
                    for y in 0..<h {
                        let srow = s + y * w * 3
                        for x in 0..<w {
                            let si = x * 3, di = ((w - 1 - x) * h + y) * 3
                            d[di] = srow[si]; d[di + 1] = srow[si + 1]; d[di + 2] = srow[si + 2]
                        }
                    }
                default:
                    d.update(from: s, count: count)
                }
            }
            n = count
        }
    }
}
