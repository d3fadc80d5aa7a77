import CFFmpeg
import Foundation

/// A `JPEGEncoder` kept open: the MJPEG codec context, its frame and the swscale context are
/// made once per picture size and reused, where `JPEGEncoder.encode` opens all three per
/// picture. For many pictures of one size (the decoded-frame tier's mosaics at ingest);
/// the bytes are the same as the one-shot encoder's (MJPEG pictures are independent).
///
/// Not thread-safe: one session per thread.
public final class JPEGEncoderSession {
    public let settings: JPEGEncoder
    private var size: (width: Int, height: Int, outWidth: Int, outHeight: Int)?
    private var ctx: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var sws: OpaquePointer?
    /// Pictures encoded, and codec contexts opened for them (tests, statistics).
    public private(set) var encoded = 0
    public private(set) var opened = 0

    public init(_ settings: JPEGEncoder) { self.settings = settings }

    deinit { close() }

    private func close() {
        avcodec_free_context(&ctx)
        av_frame_free(&frame)
        av_packet_free(&packet)
        if let sws { sws_freeContext(sws) }
        sws = nil
        size = nil
    }

    /// Opens codec, frame and scaler for pictures of `width` x `height`.
    private func open(width: Int, height: Int) throws {
        close()
        let (ow, oh) = settings.outputSize(width: width, height: height)
        let format = settings.chroma.pixelFormat
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
            throw JPEGEncodingError(reason: "libavcodec has no MJPEG encoder")
        }
        guard let ctx = avcodec_alloc_context3(codec), let frame = av_frame_alloc(), let packet = av_packet_alloc()
        else {
            throw JPEGEncodingError(reason: "out of memory")
        }
        (self.ctx, self.frame, self.packet) = (ctx, frame, packet)
        ctx.pointee.width = Int32(ow)
        ctx.pointee.height = Int32(oh)
        ctx.pointee.pix_fmt = format
        ctx.pointee.color_range = AVCOL_RANGE_JPEG
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
        ctx.pointee.global_quality = Int32(settings.quality) * FF_QP2LAMBDA
        ctx.pointee.thread_count = 1
        var ret = avcodec_open2(ctx, codec, nil)
        guard ret >= 0 else { throw JPEGEncodingError(reason: "avcodec_open2: \(LibAV.errorString(ret))") }
        frame.pointee.width = Int32(ow)
        frame.pointee.height = Int32(oh)
        frame.pointee.format = format.rawValue
        frame.pointee.color_range = AVCOL_RANGE_JPEG
        ret = av_frame_get_buffer(frame, 0)
        guard ret >= 0 else { throw JPEGEncodingError(reason: "av_frame_get_buffer: \(LibAV.errorString(ret))") }
        guard
            let sws = sws_getContext(
                Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(ow), Int32(oh), format,
                SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
        else { throw JPEGEncodingError(reason: "sws_getContext failed for \(width)x\(height) -> \(ow)x\(oh)") }
        self.sws = sws
        // Full-range output (JFIF), BT.601 coefficients on both sides.
        let coeffs = sws_getCoefficients(SWS_CS_ITU601)
        _ = sws_setColorspaceDetails(sws, coeffs, 1, coeffs, 1, 0, 1 << 16, 1 << 16)
        size = (width, height, ow, oh)
        opened += 1
    }

    /// The JPEG file bytes of `image`.
    public func encode(_ image: RGBImage) throws -> Data {
        guard image.width > 0, image.height > 0, image.pixels.count >= image.width * image.height * 3 else {
            throw JPEGEncodingError(reason: "empty image \(image.width)x\(image.height)")
        }
        if size?.width != image.width || size?.height != image.height {
            do { try open(width: image.width, height: image.height) } catch {
                close()
                throw error
            }
        }
        guard let ctx, let frame, let packet, let sws else { throw JPEGEncodingError(reason: "encoder not open") }
        // The encoder may still reference the last picture's buffer: write into a fresh one.
        var ret = av_frame_make_writable(frame)
        guard ret >= 0 else { throw JPEGEncodingError(reason: "av_frame_make_writable: \(LibAV.errorString(ret))") }
        frame.pointee.quality = Int32(settings.quality) * FF_QP2LAMBDA
        frame.pointee.pts = Int64(encoded)
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
        guard ret >= 0 else {
            close()
            throw JPEGEncodingError(reason: "avcodec_send_frame: \(LibAV.errorString(ret))")
        }
        // MJPEG has no delay: the packet of this picture is ready now.
        ret = avcodec_receive_packet(ctx, packet)
        guard ret >= 0, let data = packet.pointee.data, packet.pointee.size > 0 else {
            close()
            throw JPEGEncodingError(reason: "avcodec_receive_packet: \(LibAV.errorString(ret))")
        }
        let bytes = Data(bytes: data, count: Int(packet.pointee.size))
        av_packet_unref(packet)
        encoded += 1
        return bytes
    }
}
