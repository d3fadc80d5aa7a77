import Tensor

/// CLIP's image encoder: patch embedding (as one GEMM), [CLS] + positional embeddings,
/// pre-LN, transformer, post-LN on [CLS], visual projection.
///
/// The forward pass takes, per image, an optional subset of patch positions and optional
/// extra input tokens placed right after [CLS]; the residual encoder uses both.
public struct VisionTower: Sendable {
    public let config: CLIPConfig
    public let patchWeight: [Float]  // [width, 3*P*P]
    public let classEmbedding: [Float]  // [width]
    public let positionEmbedding: [Float]  // [1 + patches, width]
    public let preLN: LayerNorm
    public let transformer: Transformer
    public let postLN: LayerNorm
    public let projection: Linear  // [embedDim, width], no bias

    public var width: Int { config.vision.width }
    public var patchDim: Int { 3 * config.patchSize * config.patchSize }

    static func load(_ w: SafeTensorsFile, config c: CLIPConfig) throws -> VisionTower {
        let d = c.vision.width
        let p = c.patchSize
        let layers = try (0..<c.vision.layers).map {
            try EncoderLayer.load(w, prefix: "vision_model.encoder.layers.\($0)", config: c.vision)
        }
        func ln(_ name: String) throws -> LayerNorm {
            LayerNorm(
                weight: try w.floats("vision_model.\(name).weight", shape: [d]),
                bias: try w.floats("vision_model.\(name).bias", shape: [d]), eps: c.vision.layerNormEps)
        }
        return VisionTower(
            config: c,
            patchWeight: try w.floats("vision_model.embeddings.patch_embedding.weight", shape: [d, 3, p, p]),
            classEmbedding: try w.floats("vision_model.embeddings.class_embedding", shape: [d]),
            positionEmbedding: try w.floats(
                "vision_model.embeddings.position_embedding.weight", shape: [c.patchCount + 1, d]),
            preLN: try ln("pre_layrnorm"),
            transformer: Transformer(config: c.vision, layers: layers),
            postLN: try ln("post_layernorm"),
            projection: Linear(
                weight: try w.floats("visual_projection.weight", shape: [c.embedDim, d]), bias: nil,
                inFeatures: d, outFeatures: c.embedDim))
    }

    static func random(config c: CLIPConfig, seed: UInt64) -> VisionTower {
        var rng = SplitMix(seed: seed)
        let d = c.vision.width
        func r(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in rng.normal() * s } }
        let layers = (0..<c.vision.layers).map { _ in EncoderLayer.random(c.vision, rng: &rng) }
        let ln = LayerNorm(weight: [Float](repeating: 1, count: d), bias: [Float](repeating: 0, count: d))
        return VisionTower(
            config: c, patchWeight: r(d * 3 * c.patchSize * c.patchSize, 0.02),
            classEmbedding: r(d, 0.02), positionEmbedding: r((c.patchCount + 1) * d, 0.01),
            preLN: ln, transformer: Transformer(config: c.vision, layers: layers), postLN: ln,
            projection: Linear(weight: r(c.embedDim * d, 0.02), bias: nil, inFeatures: d, outFeatures: c.embedDim))
    }

    /// What to feed the tower for one image.
    public struct Request {
        /// Normalized pixels, CHW [3, imageSize, imageSize] (CLIP mean/std applied).
        public var pixels: UnsafePointer<Float>
        /// Patch positions to keep (row-major grid indices, any order); nil keeps all.
        public var keep: [Int]?
        /// Extra input tokens (count x width, no positional embedding) inserted after [CLS].
        public var extraTokens: [Float]

        public init(pixels: UnsafePointer<Float>, keep: [Int]? = nil, extraTokens: [Float] = []) {
            self.pixels = pixels
            self.keep = keep
            self.extraTokens = extraTokens
        }
    }

    /// Token count of one image's sequence.
    public func sequenceLength(keep: Int? = nil, extra: Int = 0) -> Int { 1 + extra + (keep ?? config.patchCount) }

    /// Projected (unnormalized) embeddings [requests.count, embedDim], all images in one pass.
    /// `observer` sees the residual stream after pre-LN (index 0) and after each block.
    public func encode(_ requests: [Request], observer: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil) -> [Float] {
        let d = width
        let n = config.patchCount
        let lengths = requests.map { 1 + $0.extraTokens.count / d + ($0.keep?.count ?? n) }
        let packing = Attention.Packing(lengths: lengths)
        let rows = packing.totalRows
        let h = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        defer { h.deallocate() }

        embed(requests, packing: packing, into: h)
        preLN(h, rows: rows, into: h)
        observer?(0, UnsafeBufferPointer(start: h, count: rows * d))
        transformer.forward(h, packing: packing, causal: false, observer: observer)

        // Only [CLS] rows are pooled: gather, post-LN, project.
        var cls = [Float](repeating: 0, count: requests.count * d)
        cls.withUnsafeMutableBufferPointer { c in
            for (i, o) in packing.offsets.enumerated() { (c.baseAddress! + i * d).update(from: h + o * d, count: d) }
            postLN(c.baseAddress!, rows: requests.count, into: c.baseAddress!)
        }
        var out = [Float](repeating: 0, count: requests.count * config.embedDim)
        cls.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer { o in
                projection(c.baseAddress!, rows: requests.count, into: o.baseAddress!)
            }
        }
        return out
    }

    /// Writes [CLS]+pos0, the extra tokens, and the kept patches (each + its own positional
    /// embedding) for every image into the packed stream. `package`: the training target's
    /// recorded forward pass (CLIPTraining) embeds exactly as inference does.
    package func embed(_ requests: [Request], packing: Attention.Packing, into h: UnsafeMutablePointer<Float>) {
        let d = width
        let p = config.patchSize
        let s = config.imageSize
        let g = config.gridSize
        let k = patchDim
        let totalPatches = requests.reduce(0) { $0 + ($1.keep?.count ?? config.patchCount) }
        // im2col: one row per kept patch, (channel, ky, kx) order to match the conv weight.
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: max(1, totalPatches * k))
        let patchOut = UnsafeMutablePointer<Float>.allocate(capacity: max(1, totalPatches * d))
        defer {
            cols.deallocate()
            patchOut.deallocate()
        }
        var row = 0
        for r in requests {
            for idx in r.keep ?? Array(0..<config.patchCount) {
                precondition(idx >= 0 && idx < config.patchCount, "patch index \(idx) outside 0..<\(config.patchCount)")
                let py = idx / g
                let px = idx % g
                var dst = cols + row * k
                for c in 0..<3 {
                    for ky in 0..<p {
                        let src = r.pixels + c * s * s + (py * p + ky) * s + px * p
                        dst.update(from: src, count: p)
                        dst += p
                    }
                }
                row += 1
            }
        }
        patchWeight.withUnsafeBufferPointer { w in
            BLAS.gemmNT(m: totalPatches, n: d, k: k, a: cols, lda: k, b: w.baseAddress!, ldb: k, c: patchOut, ldc: d)
        }
        positionEmbedding.withUnsafeBufferPointer { pos in
            classEmbedding.withUnsafeBufferPointer { cls in
                var patchRow = 0
                for (i, r) in requests.enumerated() {
                    var t = h + packing.offsets[i] * d
                    for j in 0..<d { t[j] = cls[j] + pos[j] }
                    t += d
                    let extra = r.extraTokens.count
                    precondition(extra % d == 0, "extra tokens must be a multiple of width \(d)")
                    r.extraTokens.withUnsafeBufferPointer { e in
                        if extra > 0 { t.update(from: e.baseAddress!, count: extra) }
                    }
                    t += extra
                    for idx in r.keep ?? Array(0..<config.patchCount) {
                        let src = patchOut + patchRow * d
                        let pe = pos.baseAddress! + (1 + idx) * d
                        for j in 0..<d { t[j] = src[j] + pe[j] }
                        t += d
                        patchRow += 1
                    }
                }
            }
        }
    }

    /// FLOPs (2 x MACs) of one image with the given sequence makeup.
    public func flops(keep: Int? = nil, extra: Int = 0) -> Double {
        let kept = Double(keep ?? config.patchCount)
        let t = sequenceLength(keep: keep, extra: extra)
        return 2 * kept * Double(patchDim * width) + transformer.flops(tokens: t) + 2 * Double(width * config.embedDim)
    }
}
