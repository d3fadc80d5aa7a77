import CFFmpeg
import Foundation

/// Decodes one baseline JPEG (as `JPEGEncoder` writes) to packed RGB24 with libavcodec's MJPEG
/// decoder, converting with the same colour rules as video frames (JFIF: full range, BT.601).
/// The bytes are untrusted: anything that is not one decodable picture within `maxDimension`
/// is a `JPEGDecodingError`, never a crash.
public struct JPEGDecoder: Sendable {
    /// The largest width or height accepted.
    public var maxDimension: Int

    public init(maxDimension: Int = 4096) { self.maxDimension = maxDimension }

    public func decode(_ bytes: Data) throws -> RGBImage {
        guard bytes.count >= 4, bytes.count <= 64 << 20 else {
            throw JPEGDecodingError(reason: "\(bytes.count) bytes is not a JPEG picture")
        }
        guard let codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG) else {
            throw JPEGDecodingError(reason: "libavcodec has no MJPEG decoder")
        }
        LibAV.configureLogging()
        var ctxBox = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&ctxBox) }
        guard let ctx = ctxBox else { throw JPEGDecodingError(reason: "out of memory") }
        ctx.pointee.thread_count = 1
        var ret = avcodec_open2(ctx, codec, nil)
        guard ret >= 0 else { throw JPEGDecodingError(reason: "avcodec_open2: \(LibAV.errorString(ret))") }
        var packetBox = av_packet_alloc()
        defer { av_packet_free(&packetBox) }
        var frameBox = av_frame_alloc()
        defer { av_frame_free(&frameBox) }
        guard let packet = packetBox, let frame = frameBox else { throw JPEGDecodingError(reason: "out of memory") }
        // The packet owns a padded copy (libavcodec reads up to AV_INPUT_BUFFER_PADDING_SIZE past the end).
        ret = av_new_packet(packet, Int32(bytes.count))
        guard ret >= 0 else { throw JPEGDecodingError(reason: "av_new_packet: \(LibAV.errorString(ret))") }
        bytes.withUnsafeBytes { src in
            packet.pointee.data.update(from: src.bindMemory(to: UInt8.self).baseAddress!, count: bytes.count)
        }
        ret = avcodec_send_packet(ctx, packet)
        guard ret >= 0 else { throw JPEGDecodingError(reason: "avcodec_send_packet: \(LibAV.errorString(ret))") }
        _ = avcodec_send_packet(ctx, nil)
        ret = avcodec_receive_frame(ctx, frame)
        guard ret >= 0 else { throw JPEGDecodingError(reason: "no picture decoded: \(LibAV.errorString(ret))") }
        let w = Int(frame.pointee.width)
        let h = Int(frame.pointee.height)
        guard w > 0, h > 0, w <= maxDimension, h <= maxDimension else {
            throw JPEGDecodingError(reason: "picture of \(w)x\(h)")
        }
        guard frame.pointee.decode_error_flags == 0, frame.pointee.flags & AV_FRAME_FLAG_CORRUPT == 0 else {
            throw JPEGDecodingError(reason: "corrupt picture data")
        }
        do {
            return try RGBConverter().convert(frame, rotation: 0, path: "JPEG")
        } catch {
            throw JPEGDecodingError(reason: "\(error)")
        }
    }
}

/// Why JPEG bytes could not be decoded.
public struct JPEGDecodingError: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "JPEG decoding failed: \(reason)" }
}
