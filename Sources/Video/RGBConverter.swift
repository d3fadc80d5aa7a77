import CFFmpeg
import Foundation

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
        let w = f.width
        let h = f.height
        guard w > 0, h > 0 else { throw VideoError.absurdDimensions(path: path, width: Int(w), height: Int(h)) }
        let (srcFmt, forcedFull) = Self.normalise(AVPixelFormat(rawValue: f.format))
        let full: Int32 = (forcedFull || f.color_range == AVCOL_RANGE_JPEG) ? 1 : 0
        let cs = Self.effectiveColorspace(f.colorspace, width: w, height: h)
        if ctx == nil || key.w != w || key.h != h || key.fmt != srcFmt.rawValue || key.cs != cs || key.range != full {
            sws_freeContext(ctx)
            ctx = sws_getContext(w, h, srcFmt, w, h, AV_PIX_FMT_RGB24, Self.flags, nil, nil, nil)
            guard let ctx else {
                let name = av_get_pix_fmt_name(srcFmt).map { String(cString: $0) } ?? "\(srcFmt.rawValue)"
                throw VideoError.decodeFailed(
                    path: path, time: nil, reason: "cannot convert pixel format \(name) to RGB24")
            }
            let isRGBSource = (av_pix_fmt_desc_get(srcFmt)?.pointee.flags ?? 0) & UInt64(AV_PIX_FMT_FLAG_RGB) != 0
            if !isRGBSource {
                _ = sws_setColorspaceDetails(
                    ctx, sws_getCoefficients(cs), full,
                    sws_getCoefficients(SWS_CS_DEFAULT), 1,
                    0, 1 << 16, 1 << 16)
            }
            key = (w, h, srcFmt.rawValue, cs, full)
        }
        let width = Int(w)
        let height = Int(h)
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
                let s = inp.baseAddress!
                let d = out.baseAddress!
                switch degrees {
                case 180:
                    for y in 0..<h {
                        let srow = s + y * w * 3
                        let drow = d + (h - 1 - y) * w * 3
                        for x in 0..<w {
                            let si = x * 3
                            let di = (w - 1 - x) * 3
                            drow[di] = srow[si]
                            drow[di + 1] = srow[si + 1]
                            drow[di + 2] = srow[si + 2]
                        }
                    }
                case 90:
                    // dst is h wide, w tall: dst(x', y') = src(y', h - 1 - x')
                    for y in 0..<h {
                        let srow = s + y * w * 3
                        let dx = h - 1 - y
                        for x in 0..<w {
                            let si = x * 3
                            let di = (x * h + dx) * 3
                            d[di] = srow[si]
                            d[di + 1] = srow[si + 1]
                            d[di + 2] = srow[si + 2]
                        }
                    }
                case 270:
                    // dst(x', y') = src(w - 1 - y', x')
                    for y in 0..<h {
                        let srow = s + y * w * 3
                        for x in 0..<w {
                            let si = x * 3
                            let di = ((w - 1 - x) * h + y) * 3
                            d[di] = srow[si]
                            d[di + 1] = srow[si + 1]
                            d[di + 2] = srow[si + 2]
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
