import CFFmpeg

/// Turns one decoded frame's motion vectors into per-patch motion on the model-input grid.
///
/// Geometry: a block covers `[dst - size/2, dst + size/2)` in the coded picture; the picture is
/// rotated for display, resized so its short side is `imageSize` and centre-cropped, exactly
/// as `CLIPPreprocessor.resizeAndCrop`. Rather than map every block forward, each patch's edges
/// are mapped back to display pixels once per picture size, and a block adds
/// `|motion| x (area of the block inside the patch)` to each patch it overlaps. Blocks outside
/// the crop add nothing.
///
/// B-frames: a bi-predicted block carries one vector to a past and one to a future reference;
/// it counts once, with the mean of their magnitudes, so every block of every decoded frame
/// weighs the same whatever its prediction. Forward-only and backward-only blocks count their
/// one vector. (libavcodec reports only the direction of a reference, not its distance, so
/// magnitudes are not rescaled by it.)
final class MotionField {
    let grid: MotionGrid
    let rotation: Int
    private var key: (w: Int32, h: Int32) = (0, 0)
    private var xEdges: [Double] = [], yEdges: [Double] = []

    init(grid: MotionGrid, rotation: Int) {
        self.grid = grid
        self.rotation = rotation
    }

    /// Patch edges in display pixels for a display picture of `w` x `h`.
    private func edges(displayWidth w: Int, height h: Int) {
        let s = grid.imageSize
        let ps = Double(s / grid.grid)
        let (rw, rh) = CLIPPreprocessor.resizedSize(width: w, height: h, shortestEdge: s)
        let left = Double((rw - s) / 2)
        let top = Double((rh - s) / 2)
        xEdges = (0...grid.grid).map { (Double($0) * ps + left) * Double(w) / Double(rw) }
        yEdges = (0...grid.grid).map { (Double($0) * ps + top) * Double(h) / Double(rh) }
    }

    /// The motion of one decoded frame (the decoder must have been opened exporting vectors).
    func motion(of frame: UnsafePointer<AVFrame>) -> PatchMotion {
        let f = frame.pointee
        var out = PatchMotion(grid: grid.grid)
        out.damaged = f.decode_error_flags != 0 || f.flags & AV_FRAME_FLAG_CORRUPT != 0
        var count: Int32 = 0
        guard let mvs = rstore_frame_motion_vectors(frame, &count), count > 0, f.width > 0, f.height > 0 else {
            return out
        }
        let swap = rotation == 90 || rotation == 270
        if key.w != f.width || key.h != f.height {
            key = (f.width, f.height)
            edges(displayWidth: Int(swap ? f.height : f.width), height: Int(swap ? f.width : f.height))
        }
        // Bi-predicted blocks: one magnitude per block, the mean of its vectors'.
        var blocks: [Int64: (sum: Double, n: Int)] = [:]
        var order: [Int64] = []
        for i in 0..<Int(count) {
            let v = mvs[i]
            guard v.motion_scale > 0, v.w > 0, v.h > 0 else { continue }
            let mx = Double(v.motion_x)
            let my = Double(v.motion_y)
            let magnitude = (mx * mx + my * my).squareRoot() / Double(v.motion_scale)
            let key =
                Int64(UInt16(bitPattern: v.dst_x)) | Int64(UInt16(bitPattern: v.dst_y)) << 16
                | Int64(v.w) << 32 | Int64(v.h) << 40
            if let b = blocks[key] {
                blocks[key] = (b.sum + magnitude, b.n + 1)
            } else {
                blocks[key] = (magnitude, 1)
                order.append(key)
            }
            out.vectors += 1
        }
        let w = Double(f.width)
        let h = Double(f.height)
        let g = grid.grid
        for key in order {
            let b = blocks[key]!
            let magnitude = b.sum / Double(b.n)
            let dx = Double(Int16(truncatingIfNeeded: key & 0xffff))
            let dy = Double(Int16(truncatingIfNeeded: (key >> 16) & 0xffff))
            let bw = Double((key >> 32) & 0xff)
            let bh = Double((key >> 40) & 0xff)
            // Block in coded pixels, then in display pixels.
            let x0 = dx - bw / 2
            let x1 = dx + bw / 2
            let y0 = dy - bh / 2
            let y1 = dy + bh / 2
            let (X0, X1, Y0, Y1): (Double, Double, Double, Double)
            switch rotation {
            case 90: (X0, X1, Y0, Y1) = (h - y1, h - y0, x0, x1)
            case 180: (X0, X1, Y0, Y1) = (w - x1, w - x0, h - y1, h - y0)
            case 270: (X0, X1, Y0, Y1) = (y0, y1, w - x1, w - x0)
            default: (X0, X1, Y0, Y1) = (x0, x1, y0, y1)
            }
            for r in 0..<g {
                let oy = min(Y1, yEdges[r + 1]) - max(Y0, yEdges[r])
                if oy <= 0 { continue }
                for c in 0..<g {
                    let ox = min(X1, xEdges[c + 1]) - max(X0, xEdges[c])
                    if ox > 0 { out.magnitude[r * g + c] += magnitude * ox * oy }
                }
            }
        }
        return out
    }

    /// Codecs whose libavcodec decoders export motion vectors (the MPEG-video family and H.264).
    static func exportsVectors(_ codec: AVCodecID) -> Bool {
        switch codec {
        case AV_CODEC_ID_H264, AV_CODEC_ID_MPEG1VIDEO, AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MPEG4,
            AV_CODEC_ID_H263, AV_CODEC_ID_H263P, AV_CODEC_ID_MSMPEG4V2, AV_CODEC_ID_MSMPEG4V3,
            AV_CODEC_ID_WMV1, AV_CODEC_ID_WMV2, AV_CODEC_ID_FLV1:
            return true
        default:
            return false
        }
    }
}
