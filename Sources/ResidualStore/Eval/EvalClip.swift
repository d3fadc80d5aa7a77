import CLIP
import Foundation
import Store
import Timeline
import Video

/// One video as the evaluations use it: its sampled frames decoded once (uint8 model-sized
/// crops, bounded by a frame count) and full CLIP over every one of them, the reference.
/// Residual settings then encode from the same crops, so every setting sees the same frames.
struct EvalClip {
    let crops: [RGBImage]
    let times: [Double]
    /// The container's duration in seconds.
    let duration: Double
    /// Full-CLIP features [frames, embedDim].
    let reference: [Float]
    /// Seconds the reference encode took (encode only).
    let fullSeconds: Double
    /// Codec motion of every sample since the previous one, on the model's patch grid, and
    /// whether the codec exports vectors at all (the video's `MotionSource` in a library).
    let motion: [PatchMotion]
    let exportsVectors: Bool

    /// Frames that start a shot, as adaptive ingest's detector finds them in these crops for N.
    func shotStarts(n: Int) -> [Int] {
        ShotCutDetector.shotStarts(crops, settings: .adaptivePlacement(n: n))
    }

    /// The layout ingest would store for this clip with `placement`.
    func layout(n: Int, _ placement: IFramePlacement) throws -> FrameLayout {
        placement == .fixed ? FrameLayout(n: n) : FrameLayout(n: n, shotStarts: try ShotStarts(shotStarts(n: n)))
    }

    /// What the clip holds at most: the caller decides whether to cut or refuse.
    enum Limit {
        case cut(Int)
        case refuse(Int)
        var frames: Int {
            switch self {
            case .cut(let m), .refuse(let m): m
            }
        }
    }

    struct TooLong: Error, CustomStringConvertible {
        let path: String, limit: Int
        var description: String {
            "\(path): more than \(limit) sampled frames (raise --max-frames; each costs ~150 KB)"
        }
    }

    static func load(_ url: URL, model: CLIPModel, fps: Double, limit: Limit, batch: Int) async throws -> EvalClip {
        let size = model.config.imageSize
        var crops: [RGBImage] = []
        var times: [Double] = []
        var motion: [PatchMotion] = []
        let reader = try VideoReader(url: url)
        let exportsVectors = reader.exportsMotionVectors
        let grid = MotionGrid(imageSize: size, grid: model.config.gridSize)
        for try await frame in reader.frames(fps: fps, motion: exportsVectors ? grid : nil) {
            if crops.count == limit.frames {
                if case .refuse(let m) = limit { throw TooLong(path: url.path, limit: m) }
                break
            }
            crops.append(model.crop(frame.image))
            times.append(frame.offset.time)
            if let m = frame.motion { motion.append(m) }
        }
        guard !crops.isEmpty else { throw VideoError.noFrames(path: url.path) }
        let (reference, seconds) = encodeFull(crops, model: model, batch: batch)
        return EvalClip(
            crops: crops, times: times, duration: max(reader.info.duration, times.last! + 1 / fps),
            reference: reference, fullSeconds: seconds,
            motion: motion, exportsVectors: exportsVectors)
    }

    private static func encodeFull(_ crops: [RGBImage], model: CLIPModel, batch: Int) -> ([Float], Double) {
        var out: [Float] = []
        out.reserveCapacity(crops.count * model.config.embedDim)
        var seconds = 0.0
        for start in Swift.stride(from: 0, to: crops.count, by: batch) {
            let t0 = Date()
            for row in model.embed(crops: Array(crops[start..<min(crops.count, start + batch)])) { out += row }
            seconds += Date().timeIntervalSince(t0)
        }
        return (out, seconds)
    }

    /// Dense features as the library returns them for `encoder`'s N, p, strategy and A:
    /// I-frames the reference rounded by `codec`, P-frames encoded from the crops with that
    /// rounded anchor. P-frames run in batches of whole I/P groups (every anchor's pixels are at
    /// hand for the motion strategy); `pSeconds` is their encode time. The motion strategy
    /// ranks by codec motion from the anchor when `motionSource` is `.vectors` and the span
    /// has usable vectors, as the library does, else by the pixel difference;
    /// `pixelFallbacks` counts its P-frames ranked by pixels. `layout`: the clip's (adaptive
    /// placement adds I-frames at shot starts); nil: the encoder's fixed one.
    func dense(
        _ encoder: ResidualEncoder, layout: FrameLayout? = nil, codec: FeatureCodec, batch: Int,
        motionSource: MotionSource = .vectors
    )
        throws -> (features: [Float], pSeconds: Double, pixelFallbacks: Int)
    {
        let model = encoder.model
        let layout = layout ?? encoder.layout
        let b = model.config.embedDim
        let stride = model.config.imageFloats
        let anchors = layout.iFrames(in: 0..<crops.count)
        let rank = Dictionary(uniqueKeysWithValues: anchors.enumerated().map { ($1, $0) })
        let stored = try AnchorQuantizer.stored(codec)(anchors.flatMap { reference[$0 * b..<($0 + 1) * b] }, dim: b)
        var out = [Float](repeating: 0, count: crops.count * b)
        for (i, a) in anchors.enumerated() {
            out.replaceSubrange(a * b..<(a + 1) * b, with: stored[i * b..<(i + 1) * b])
        }
        var seconds = 0.0
        var pixelFallbacks = 0
        let byVectors = encoder.reduction.strategy == .motion && motionSource == .vectors && motion.count == crops.count
        let groupsPerBatch = max(1, batch / max(1, layout.maxSpacing - 1))
        let buffer = UnsafeMutablePointer<Float>.allocate(
            capacity: min(anchors.count, groupsPerBatch) * layout.maxSpacing * stride)
        defer { buffer.deallocate() }
        for firstGroup in Swift.stride(from: 0, to: anchors.count, by: groupsPerBatch) {
            let first = anchors[firstGroup]
            let end = firstGroup + groupsPerBatch < anchors.count ? anchors[firstGroup + groupsPerBatch] : crops.count
            for k in first..<end { CLIPPreprocessor.normalize(crops[k], into: buffer + (k - first) * stride) }
            let pFrames = (first..<end).filter { !layout.isIFrame($0) }.map { k in
                let a = layout.anchor(of: k)
                let i = rank[a]!
                let vectors = byVectors ? PatchMotion.span(motion[(a + 1)...k]) : nil
                if encoder.reduction.strategy == .motion && vectors == nil { pixelFallbacks += 1 }
                return ResidualEncoder.PFrame(
                    index: k, pixels: buffer + (k - first) * stride, anchorPixels: buffer + (a - first) * stride,
                    anchorFeature: stored[i * b..<(i + 1) * b], motion: vectors)
            }
            guard !pFrames.isEmpty else { continue }
            let t0 = Date()
            let features = encoder.encodePFrames(pFrames)
            seconds += Date().timeIntervalSince(t0)
            for (j, f) in pFrames.enumerated() {
                out.replaceSubrange(f.index * b..<(f.index + 1) * b, with: features[j * b..<(j + 1) * b])
            }
        }
        return (out, seconds, pixelFallbacks)
    }
}
