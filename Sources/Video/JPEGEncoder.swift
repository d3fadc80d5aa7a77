import CFFmpeg
import Foundation

/// Encodes packed RGB24 pictures as baseline JPEG with libavcodec's MJPEG encoder:
/// RGB24 -> YUVJ420P or YUVJ444P (full range, BT.601, as JFIF expects) through swscale,
/// optionally downscaled (bicubic) so the longer side fits `maxDimension`, then one MJPEG packet.
///
/// Each call opens its own codec context (a few hundred microseconds), so an encoder can be
/// shared between threads.
public struct JPEGEncoder: Sendable {
    /// libavcodec's qscale, 2 (best) ... 31 (worst).
    public var quality: Int
    /// The longer side of the output, or nil for the picture's own size.
    public var maxDimension: Int?
    public var chroma: Chroma

    /// Colour resolution: half in both directions (4:2:0, the usual, for pictures people look
    /// at) or full (4:4:4, for pixels a model reads: fine coloured detail survives).
    public enum Chroma: Sendable, Equatable {
        case subsampled420, full444

        var pixelFormat: AVPixelFormat { self == .full444 ? AV_PIX_FMT_YUVJ444P : AV_PIX_FMT_YUVJ420P }
    }

    public init(quality: Int = 5, maxDimension: Int? = nil, chroma: Chroma = .subsampled420) {
        self.quality = min(31, max(2, quality))
        self.maxDimension = maxDimension
        self.chroma = chroma
    }

    /// Output size for an input of `width` x `height` (even sizes, at least 2x2, aspect kept).
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        var w = width, h = height
        if let m = maxDimension, m > 0, max(w, h) > m {
            let s = Double(m) / Double(max(w, h))
            w = Int((Double(w) * s).rounded())
            h = Int((Double(h) * s).rounded())
        }
        // 4:2:0 chroma wants even sizes.
        guard chroma == .subsampled420 else { return (max(1, w), max(1, h)) }
        return (max(2, w & ~1), max(2, h & ~1))
    }

    /// The JPEG file bytes of `image`.
    public func encode(_ image: RGBImage) throws -> Data {
        guard image.width > 0, image.height > 0 else { throw JPEGEncodingError(reason: "empty image \(image.width)x\(image.height)") }
        let (ow, oh) = outputSize(width: image.width, height: image.height)
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else { throw JPEGEncodingError(reason: "libavcodec has no MJPEG encoder") }
        var ctxBox = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&ctxBox) }
        guard let ctx = ctxBox else { throw JPEGEncodingError(reason: "out of memory") }
        ctx.pointee.width = Int32(ow)
        ctx.pointee.height = Int32(oh)
        ctx.pointee.pix_fmt = chroma.pixelFormat
        ctx.pointee.color_range = AVCOL_RANGE_JPEG
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
        ctx.pointee.global_quality = Int32(quality) * FF_QP2LAMBDA
        ctx.pointee.thread_count = 1
        var ret = avcodec_open2(ctx, codec, nil)
        guard ret >= 0 else { throw JPEGEncodingError(reason: "avcodec_open2: \(LibAV.errorString(ret))") }

        var frameBox = av_frame_alloc()
        defer { av_frame_free(&frameBox) }
        guard let frame = frameBox else { throw JPEGEncodingError(reason: "out of memory") }
        frame.pointee.width = Int32(ow)
        frame.pointee.height = Int32(oh)
        frame.pointee.format = chroma.pixelFormat.rawValue
        frame.pointee.color_range = AVCOL_RANGE_JPEG
        frame.pointee.quality = Int32(quality) * FF_QP2LAMBDA
        frame.pointee.pts = 0
        ret = av_frame_get_buffer(frame, 0)
        guard ret >= 0 else { throw JPEGEncodingError(reason: "av_frame_get_buffer: \(LibAV.errorString(ret))") }

        guard let sws = sws_getContext(Int32(image.width), Int32(image.height), AV_PIX_FMT_RGB24,
                                       Int32(ow), Int32(oh), chroma.pixelFormat,
                                       SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
        else { throw JPEGEncodingError(reason: "sws_getContext failed for \(image.width)x\(image.height) -> \(ow)x\(oh)") }
        defer { sws_freeContext(sws) }
        // Full-range output (JFIF), BT.601 coefficients on both sides.
        let coeffs = sws_getCoefficients(SWS_CS_ITU601)
        _ = sws_setColorspaceDetails(sws, coeffs, 1, coeffs, 1, 0, 1 << 16, 1 << 16)

        image.pixels.withUnsafeBufferPointer { src in
            var srcData: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
            var srcStride: [Int32] = [Int32(image.width * 3), 0, 0, 0]
            withUnsafeMutablePointer(to: &frame.pointee.data) { dataTuple in
                dataTuple.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { dst in
                    withUnsafeMutablePointer(to: &frame.pointee.linesize) { lsTuple in
                        lsTuple.withMemoryRebound(to: Int32.self, capacity: 8) { dstStride in
                            _ = sws_scale(sws, &srcData, &srcStride, 0, Int32(image.height), dst, dstStride)
                        }
                    }
                }
            }
        }

        ret = avcodec_send_frame(ctx, frame)
        guard ret >= 0 else { throw JPEGEncodingError(reason: "avcodec_send_frame: \(LibAV.errorString(ret))") }
        ret = avcodec_send_frame(ctx, nil)   // flush: one picture in, one packet out
        var packetBox = av_packet_alloc()
        defer { av_packet_free(&packetBox) }
        guard let packet = packetBox else { throw JPEGEncodingError(reason: "out of memory") }
        ret = avcodec_receive_packet(ctx, packet)
        guard ret >= 0, let data = packet.pointee.data, packet.pointee.size > 0 else {
            throw JPEGEncodingError(reason: "avcodec_receive_packet: \(LibAV.errorString(ret))")
        }
        let bytes = Data(bytes: data, count: Int(packet.pointee.size))
        av_packet_unref(packet)
        return bytes
    }
}

/// Why a picture could not be encoded as JPEG.
public struct JPEGEncodingError: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "JPEG encoding failed: \(reason)" }
}
