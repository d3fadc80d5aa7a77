import CFFmpeg
import Foundation

// Demux + decode of one file's best video stream: open and probe, packet reading with a small
// lookahead (for the skip decision), seeking, and damage concealment.

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
    /// Random access (`SkipPolicy.targets`): frames decoded only on the way to a target skip the
    /// in-loop deblocking filter (`skip_loop_filter`, honoured by H.264 and HEVC), a quarter of
    /// their decode time; the targets are filtered as usual, but what they predict from differs a
    /// little from a full decode (drift up to the next keyframe; docs/DESIGN.md states the cosine).
    var deblockTargetsOnly = false
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

    /// The decoders' `max_pixels` for a caller's limit: room for buffers padded to aligned widths.
    static func decoderPixels(_ maxPixels: Int) -> Int {
        min(LibAV.maxPixels, maxPixels.multipliedReportingOverflow(by: 2).partialValue)
    }

    /// Opens `url`, picks the best video stream and opens its decoder.
    /// With `exportMotionVectors`, every decoded frame carries the codec's motion vectors as side
    /// data (`AV_FRAME_DATA_MOTION_VECTORS`), for the codecs that export them.
    /// With `maxPixels`, larger pictures are refused from the header (`tooManyPixels`) and the
    /// decoders (the probe's and ours) get twice it as `max_pixels` (their buffers are padded
    /// to aligned widths), so none allocates a larger frame. A picture beyond that leaves the
    /// probe without a size: `cannotOpen`, naming the limit.
    init(
        url: URL, threads: Int = 0, requireVideo: Bool = true, exportMotionVectors: Bool = false, maxPixels: Int? = nil
    ) throws {
        LibAV.configureLogging()
        let path = url.path
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw VideoError.fileNotFound(path: path)
        }
        if let attrs = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attrs[.size] as? NSNumber, size.int64Value == 0
        {
            throw VideoError.emptyFile(path: path)
        }

        let container = try ContainerPolicy.check(path: path)
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        var r = rstore_open_input(&ctx, path, container, ContainerPolicy.whitelist)
        guard r >= 0, let ctx else {
            if r == rstore_averror_enoent() { throw VideoError.fileNotFound(path: path) }
            throw VideoError.cannotOpen(path: path, reason: LibAV.errorString(r))
        }
        var ok = false
        var ctxVar: UnsafeMutablePointer<AVFormatContext>? = ctx
        defer { if !ok { avformat_close_input(&ctxVar) } }

        if let maxPixels {
            // One options dictionary per stream, for the decoders the probe opens.
            var opts = [OpaquePointer?](repeating: nil, count: Int(ctx.pointee.nb_streams))
            for i in opts.indices { av_dict_set(&opts[i], "max_pixels", String(Self.decoderPixels(maxPixels)), 0) }
            r = opts.withUnsafeMutableBufferPointer { avformat_find_stream_info(ctx, $0.baseAddress) }
            for i in opts.indices { av_dict_free(&opts[i]) }
        } else {
            r = avformat_find_stream_info(ctx, nil)
        }
        if r < 0 { throw VideoError.cannotOpen(path: path, reason: LibAV.errorString(r)) }

        // Best video stream, ignoring cover art (attached pictures).
        var decoder: UnsafePointer<AVCodec>? = nil
        var best = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)
        if best >= 0, ctx.pointee.streams[Int(best)]!.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0,
            requireVideo
        {
            // Prefer a real video stream if there is one.
            var alt: Int32 = -1
            for i in 0..<Int(ctx.pointee.nb_streams) {
                let s = ctx.pointee.streams[i]!.pointee
                if s.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
                    && s.disposition & AV_DISPOSITION_ATTACHED_PIC == 0
                {
                    alt = Int32(i)
                    break
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
        let w = Int(par.pointee.width)
        let h = Int(par.pointee.height)
        // Under a pixel limit, the probe's decoder refuses a far larger picture and leaves its
        // size unset; so does a damaged header. libav tells the two apart only in its log.
        if let maxPixels, w <= 0 || h <= 0 {
            throw VideoError.cannotOpen(
                path: path,
                reason:
                    """
                    its picture size cannot be read within the limit of \(maxPixels) pixels (the picture is larger, \
                    or damaged)
                    """
            )
        }
        if w <= 0 || h <= 0 || w > LibAV.maxSide || h > LibAV.maxSide || w * h > LibAV.maxPixels
            || av_image_check_size(UInt32(clamping: w), UInt32(clamping: h), 0, nil) < 0
        {
            throw VideoError.absurdDimensions(path: path, width: w, height: h)
        }
        if let maxPixels, w * h > maxPixels {
            throw VideoError.tooManyPixels(path: path, width: w, height: h, limit: maxPixels)
        }

        guard let cc = avcodec_alloc_context3(decoder) else {
            throw VideoError.decodeFailed(path: path, time: nil, reason: "out of memory")
        }
        var ccVar: UnsafeMutablePointer<AVCodecContext>? = cc
        defer { if !ok { avcodec_free_context(&ccVar) } }
        r = avcodec_parameters_to_context(cc, par)
        if r < 0 { throw VideoError.unsupportedCodec(path: path, codec: LibAV.codecName(par.pointee.codec_id)) }
        cc.pointee.pkt_timebase = st.pointee.time_base
        if let maxPixels { cc.pointee.max_pixels = Int64(Self.decoderPixels(maxPixels)) }
        cc.pointee.thread_count = Int32(threads)
        cc.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        if exportMotionVectors {
            rstore_export_motion_vectors(cc)
            // With frame threads a frame's vectors can be exported before another thread has
            // finished writing them (measured: different scores from run to run); slice
            // threads finish every picture before it is output, so the scores are exact.
            cc.pointee.thread_type = FF_THREAD_SLICE
        }
        r = avcodec_open2(cc, decoder, nil)
        if r < 0 {
            throw VideoError.unsupportedCodec(
                path: path, codec: LibAV.codecName(par.pointee.codec_id) + " (\(LibAV.errorString(r)))")
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
            guard let p = av_packet_alloc() else {
                av_packet_unref(packet)
                break
            }
            av_packet_move_ref(p, packet)
            lookahead.append(p)
        }
        if lookaheadHead > 64 {
            lookahead.removeFirst(lookaheadHead)
            lookaheadHead = 0
        }
    }

    var startForMessages: Int64 { streamStart != LibAV.nopts ? streamStart : 0 }

    /// `deblockTargetsOnly` and a packet on the way to the targets (not one of them).
    private func deblockSkippable(_ pts: Int64) -> Bool {
        guard deblockTargetsOnly, pts != LibAV.nopts, case .targets(let set) = skipPolicy else { return false }
        return !set.contains(pts)
    }

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
            let b = clock.ceilIndex(next)  // frame covers samples a..<b
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
            if let e = demuxError {
                demuxError = nil
                pendingError = e
            }
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
        codec.pointee.skip_loop_filter = deblockSkippable(pts) ? AVDISCARD_ALL : AVDISCARD_DEFAULT
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
                    ts =
                        lastFrameTS == LibAV.nopts
                        ? startForMessages : lastFrameTS.addingReportingOverflow(defaultFrameStep).partialValue
                }
                if f.decode_error_flags != 0 || f.flags & AV_FRAME_FLAG_CORRUPT != 0, let damage {
                    // Concealed picture: kept (it is what a player shows), counted with its time.
                    damage.record(.damagedFrame, at: seconds(ts, from: startForMessages))
                } else if f.decode_error_flags != 0 || f.flags & AV_FRAME_FLAG_CORRUPT != 0 {
                    av_frame_unref(frame)
                    throw VideoError.decodeFailed(
                        path: path, time: seconds(ts, from: startForMessages),
                        reason: "damaged picture (decode error flags \(f.decode_error_flags))")
                }
                lastFrameTS = ts
                framesOutput += 1
                consecutiveErrors = 0
                return ts
            }
            if r == LibAV.eof {
                if let e = pendingError {
                    pendingError = nil
                    throw e
                }
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
                if let e = pendingError {
                    pendingError = nil
                    throw e
                }
                return nil
            }
        }
    }
}
