import CFFmpeg
import Foundation

/// Encodes packed RGB24 pictures as baseline JPEG with libavcodec's MJPEG encoder:
/// RGB24 -> YUVJ420P or YUVJ444P (full range, BT.601, as JFIF expects) through swscale,
/// optionally downscaled (bicubic) so the longer side fits `maxDimension`, then one MJPEG packet.
///
/// Each call opens its own codec context (a few hundred microseconds), so an encoder can be
/// shared between threads; `JPEGEncoderSession` keeps one open for many pictures.
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
        var w = width
        var h = height
        if let m = maxDimension, m > 0, max(w, h) > m {
            let s = Double(m) / Double(max(w, h))
            w = Int((Double(w) * s).rounded())
            h = Int((Double(h) * s).rounded())
        }
        // 4:2:0 chroma wants even sizes.
        guard chroma == .subsampled420 else { return (max(1, w), max(1, h)) }
        return (max(2, w & ~1), max(2, h & ~1))
    }

    /// The JPEG file bytes of `image` (a session of one picture: for many pictures of one
    /// size, keep a `JPEGEncoderSession`).
    public func encode(_ image: RGBImage) throws -> Data {
        try JPEGEncoderSession(self).encode(image)
    }
}

/// Why a picture could not be encoded as JPEG.
public struct JPEGEncodingError: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "JPEG encoding failed: \(reason)" }
}
