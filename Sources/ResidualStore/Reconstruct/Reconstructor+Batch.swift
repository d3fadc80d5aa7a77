import CLIP
import Foundation
import Video

extension Reconstructor {
    /// Features of arbitrary frames of several videos (I stored, P reconstructed), each list in
    /// the order given. The P-frames of all videos that are not cached go through the residual
    /// encoder together, `batch` at a time, so a search's stage 2 is one batched pass however
    /// many videos it touches. Charged to `control` before any work.
    public func features(of requests: [(source: Source, frames: [Int])], control: QueryControl = QueryControl()) throws -> [[[Float]]] {
        var out = requests.map { [[Float]?](repeating: nil, count: $0.frames.count) }
        var missing: [(request: Int, slot: Int, frame: Int)] = []
        for (r, req) in requests.enumerated() {
            for (i, k) in req.frames.enumerated() {
                if req.source.layout.isIFrame(k) {
                    out[r][i] = try req.source.iFeature(k)
                } else if let cached = features.get(req.source.featureKey(k)) {
                    out[r][i] = cached
                } else {
                    missing.append((r, i, k))
                }
            }
        }
        try control.charge(pFrames: missing.count)
        let batch = effectiveBatch
        var start = 0
        while start < missing.count {
            try control.checkCancelled()
            let part = missing[start..<min(missing.count, start + batch)]
            var perSource: [Int: [Int]] = [:]
            for m in part { perSource[m.request, default: []].append(m.frame) }
            let order = perSource.keys.sorted()
            let computed = try reconstruct(order.map { (requests[$0].source, perSource[$0]!) }, control: control)
            var byKey: [String: [Float]] = [:]
            for (j, r) in order.enumerated() {
                for (k, v) in zip(perSource[r]!, computed[j]) {
                    byKey["\(r)#\(k)"] = v
                    features.put(requests[r].source.featureKey(k), v, cost: v.count * 4 + 64)
                }
            }
            for m in part { out[m.request][m.slot] = byKey["\(m.request)#\(m.frame)"] }
            start += batch
        }
        return out.map { $0.map { $0! } }
    }

    /// P-features of `frames` of each source, in one forward pass over all of them. Inputs come
    /// from the decoded-frame tier when it holds them, else from `pixels` (memory cache, then
    /// the original file); what had to be decoded is written back to the tier.
    func reconstruct(_ parts: [(source: Source, frames: [Int])], control: QueryControl? = nil) throws -> [[[Float]]] {
        let c = encoder.model.config
        let motion = encoder.reduction.strategy == .motion
        let stride = 3 * c.imageSize * c.imageSize, b = c.embedDim
        // Every distinct (source, frame) image involved, and the kept patches already known.
        var images: [RGBImage] = []
        var slot: [[Int: Int]] = []
        var known: [[Int: [Int]]] = []
        var decodedFrames: [[Int]] = []
        var vectors: [[Int: [Float]]] = []
        // The random strategy's masks follow each video's stored seed.
        let encoders = parts.map { encoder.withMaskSeed($0.source.maskSeed) }
        for (s, part) in parts.enumerated() {
            // A changed file is refused whether or not its pixels are cached: its stored
            // features no longer describe it.
            try part.source.checkFile()
            let hits = tier?.read(part.source, frames: part.frames, encoder: encoders[s]) ?? [:]
            var map: [Int: Int] = [:], keep: [Int: [Int]] = [:]
            for (k, e) in hits.sorted(by: { $0.key < $1.key }) { map[k] = images.count; images.append(e.image); keep[k] = e.keep }
            let missing = part.frames.filter { hits[$0] == nil }
            if !missing.isEmpty {
                let wanted = missing + (motion ? missing.map { part.source.layout.anchor(of: $0) } : [])
                let fromSource = Set(wanted).filter { !frames.contains(part.source.frameKey($0)) }.count
                let px = try pixels(of: part.source, frames: wanted, control: control ?? QueryControl())
                for k in px.keys.sorted() where map[k] == nil { map[k] = images.count; images.append(px[k]!) }
                control?.noteFrameSources(tierHits: hits.count, decoded: fromSource)
            } else {
                control?.noteFrameSources(tierHits: hits.count, decoded: 0)
            }
            // Codec motion of the P-frames whose patches are still to choose.
            let unchosen = part.frames.filter { keep[$0] == nil }
            vectors.append(motion && part.source.motionSource == .vectors && !unchosen.isEmpty
                           ? try motionScores(of: part.source, frames: unchosen) : [:])
            slot.append(map)
            known.append(keep)
            decodedFrames.append(missing)
        }
        var buffer = [Float](repeating: 0, count: images.count * stride)
        buffer.withUnsafeMutableBufferPointer { buf in
            for (i, img) in images.enumerated() { CLIPPreprocessor.normalize(img, into: buf.baseAddress! + i * stride) }
        }
        var anchorFeature: [[Int: [Float]]] = []
        for part in parts {
            var m: [Int: [Float]] = [:]
            for a in Set(part.frames.map { part.source.layout.anchor(of: $0) }) { m[a] = try part.source.iFeature(a) }
            anchorFeature.append(m)
        }
        var refill: [[(Int, [Int])]] = parts.map { _ in [] }
        let flat = buffer.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            var pFrames: [ResidualEncoder.PFrame] = []
            for (s, part) in parts.enumerated() {
                for k in part.frames {
                    let a = part.source.layout.anchor(of: k)
                    let px = base + slot[s][k]! * stride
                    var keep = known[s][k]
                    if keep == nil {
                        // Chosen here as the encoder would, so the tier can store it with the patches.
                        keep = encoders[s].reduction.select(grid: c.gridSize, patchSize: c.patchSize, frameIndex: k, frame: px,
                                                        anchor: motion ? base + slot[s][a]! * stride : nil, motion: vectors[s][k])
                        refill[s].append((k, keep!))
                    }
                    pFrames.append(ResidualEncoder.PFrame(index: k, pixels: px, anchorPixels: nil, anchorFeature: anchorFeature[s][a]![...], keep: keep))
                }
            }
            return encoder.encodePFrames(pFrames)
        }
        if let tier {
            for (s, part) in parts.enumerated() where !refill[s].isEmpty {
                let source = part.source
                let inputs = refill[s].map { k, keep in
                    FrameTier.Input(index: k, pts: source.offset(k).pts, anchorPTS: source.offset(source.layout.anchor(of: k)).pts,
                                    image: images[slot[s][k]!], keep: keep)
                }
                tier.refill(video: part.source.contentHash, inputs, encoder: encoders[s], motionSource: part.source.motionSource)
            }
        }
        var out: [[[Float]]] = []
        var row = 0
        for part in parts {
            out.append(part.frames.map { _ in defer { row += 1 }; return Array(flat[row * b..<(row + 1) * b]) })
        }
        return out
    }
}
