import CLIP
import Foundation
import Video

extension Reconstructor {
    /// Features of arbitrary frames of several videos (I stored, P reconstructed), each list in
    /// the order given. The P-frames of all videos that are not cached go through the residual
    /// encoder together, `batch` at a time, so a search's stage 2 is one batched pass however
    /// many videos it touches. Charged to `control` before any work.
    package func features(of requests: [(source: Source, frames: [Int])], control: QueryControl = QueryControl()) throws
        -> [[[Float]]]
    {
        var out = requests.map { [[Float]?](repeating: nil, count: $0.frames.count) }
        var missing: [(request: Int, slot: Int, frame: Int)] = []
        for (r, req) in requests.enumerated() {
            for (i, k) in req.frames.enumerated() {
                if req.source.layout.isIFrame(k) {
                    out[r][i] = try req.source.iFeature(k)
                } else if let cached = pFeatures.get(req.source.featureKey(k)) {
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
            let pass = missing[start..<min(missing.count, start + batch)]
            // This pass's P-frames by request (requests in order, frames in the order asked).
            var frameIndices: [Int: [Int]] = [:]
            for m in pass { frameIndices[m.request, default: []].append(m.frame) }
            let order = frameIndices.keys.sorted()
            let computed = try reconstruct(order.map { (requests[$0].source, frameIndices[$0]!) }, control: control)
            var feature: [PartFrame: [Float]] = [:]  // keyed by (request, frame)
            for (j, r) in order.enumerated() {
                for (k, v) in zip(frameIndices[r]!, computed[j]) {
                    feature[PartFrame(part: r, frame: k)] = v
                    pFeatures.put(requests[r].source.featureKey(k), v, cost: v.count * 4 + 64)
                }
            }
            for m in pass { out[m.request][m.slot] = feature[PartFrame(part: m.request, frame: m.frame)] }
            start += batch
        }
        return out.map { $0.map { $0! } }
    }

    /// P-features of `frames` of each source, in one forward pass over all of them:
    /// gather -> select -> encode -> refill over one `PFrameBatch`. Returns [P_s][D] per part.
    func reconstruct(_ parts: [(source: Source, frames: [Int])], control: QueryControl? = nil) throws -> [[[Float]]] {
        var batch = try gather(parts, control: control)
        select(&batch)
        let flat = encode(batch)  // [P, D], parts in order
        refill(batch)
        let d = encoder.model.config.embedDim
        var row = 0
        return batch.parts.map { part in
            part.frameIndices.map { _ in
                defer { row += 1 }
                return Array(flat[row * d..<(row + 1) * d])
            }
        }
    }

    /// The pass's inputs: each P-frame's image from the decoded-frame tier when it holds it
    /// (with its kept patches), else from the memory cache or the original file (the motion
    /// strategy also needs the anchor's); codec motion where patches are still to choose; all
    /// images normalised; the anchors' stored I-features. The videos that need their original
    /// files are decoded in parallel (`sourceFrames`), each needed GOP once for pixels and motion.
    func gather(_ parts: [(source: Source, frames: [Int])], control: QueryControl?) throws -> PFrameBatch {
        let motion = encoder.reduction.strategy == .motion
        let control = control ?? QueryControl()
        var batch = PFrameBatch(
            parts: parts.map {
                .init(source: $0.source, frameIndices: $0.frames, encoder: encoder.withMaskSeed($0.source.maskSeed))
            })
        var hits: [[Int: FrameTier.Entry]] = []
        var jobs: [(source: Source, pixels: [Int], motionOf: [Int])] = []
        var jobOf: [Int: Int] = [:]  // part -> its job
        for (s, part) in batch.parts.enumerated() {
            let source = part.source
            // A changed file is refused whether or not its pixels are cached: its stored
            // features no longer describe it.
            try source.checkFile()
            let h = tier?.read(source, frames: part.frameIndices, encoder: part.encoder) ?? [:]
            hits.append(h)
            let missing = part.frameIndices.filter { h[$0] == nil }
            guard !missing.isEmpty else { continue }
            let wanted = missing + (motion ? missing.map { source.layout.anchor(of: $0) } : [])
            // The P-frames the tier did not hold are those whose patches are still to choose.
            let motionOf = motion && source.motionSource == .vectors ? missing : []
            jobOf[s] = jobs.count
            jobs.append((source, wanted, motionOf))
        }
        let fromSource = try sourceFrames(jobs, control: control)
        for s in batch.parts.indices {
            for (k, e) in hits[s].sorted(by: { $0.key < $1.key }) {
                batch.addImage(e.image, part: s, frame: k)
                batch.keep[PartFrame(part: s, frame: k)] = e.keep
            }
            let got = jobOf[s].map { fromSource[$0] } ?? SourceFrames()
            for k in got.pixels.keys.sorted() { batch.addImage(got.pixels[k]!, part: s, frame: k) }
            control.noteFrameSources(tierHits: hits[s].count, decoded: got.decoded)
            batch.parts[s].motion = got.motion
        }
        let stride = encoder.model.config.imageFloats
        var pixels = [Float](repeating: 0, count: batch.images.count * stride)
        pixels.withUnsafeMutableBufferPointer { buf in
            for (i, img) in batch.images.enumerated() {
                CLIPPreprocessor.normalize(img, into: buf.baseAddress! + i * stride)
            }
        }
        batch.pixels = pixels
        for s in batch.parts.indices {
            let source = batch.parts[s].source
            for a in Set(batch.parts[s].frameIndices.map { source.layout.anchor(of: $0) }) {
                batch.parts[s].anchorFeatures[a] = try source.iFeature(a)
            }
        }
        return batch
    }

    /// Kept patches of the P-frames the tier did not hold, chosen as the encoder would (so the
    /// tier can store them with the patches): by the reduction strategy, on the normalised
    /// pixels and the anchor's (motion), or the codec motion when there is some.
    func select(_ batch: inout PFrameBatch) {
        let c = encoder.model.config
        let motion = encoder.reduction.strategy == .motion
        let stride = c.imageFloats
        let pixels = batch.pixels
        pixels.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            for (s, part) in batch.parts.enumerated() {
                for k in part.frameIndices where batch.keep[PartFrame(part: s, frame: k)] == nil {
                    let a = part.source.layout.anchor(of: k)
                    let frame = base + batch.imageRow[PartFrame(part: s, frame: k)]! * stride
                    let anchor = motion ? base + batch.imageRow[PartFrame(part: s, frame: a)]! * stride : nil
                    batch.keep[PartFrame(part: s, frame: k)] = part.encoder.reduction.select(
                        grid: c.gridSize, patchSize: c.patchSize, frameIndex: k, frame: frame, anchor: anchor,
                        motion: part.motion[k])
                    batch.chosen.append(PartFrame(part: s, frame: k))
                }
            }
        }
    }

    /// One forward pass of the residual encoder over every P-frame of the batch: [P, D].
    func encode(_ batch: PFrameBatch) -> [Float] {
        let stride = encoder.model.config.imageFloats
        return batch.pixels.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            var pFrames: [ResidualEncoder.PFrame] = []
            for (s, part) in batch.parts.enumerated() {
                for k in part.frameIndices {
                    let key = PartFrame(part: s, frame: k)
                    pFrames.append(
                        ResidualEncoder.PFrame(
                            index: k, pixels: base + batch.imageRow[key]! * stride, anchorPixels: nil,
                            anchorFeature: part.anchorFeatures[part.source.layout.anchor(of: k)]![...],
                            keep: batch.keep[key]))
                }
            }
            return encoder.encodePFrames(pFrames)
        }
    }

    /// Writes the inputs whose patches were chosen here to the decoded-frame tier (the next
    /// query of these frames reads them instead of decoding); best effort.
    func refill(_ batch: PFrameBatch) {
        guard let tier else { return }
        let byPart = Dictionary(grouping: batch.chosen, by: \.part)
        for (s, part) in batch.parts.enumerated() {
            guard let chosen = byPart[s] else { continue }
            let source = part.source
            let inputs = chosen.map { key in
                FrameTier.Input(
                    index: key.frame, pts: source.offset(key.frame).pts,
                    anchorPTS: source.offset(source.layout.anchor(of: key.frame)).pts,
                    image: batch.images[batch.imageRow[key]!], keep: batch.keep[key]!)
            }
            tier.refill(video: source.contentHash, inputs, encoder: part.encoder, motionSource: source.motionSource)
        }
    }
}
