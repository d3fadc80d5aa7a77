import CLIP
import Tensor

/// The activations of one recorded forward pass of the frozen image tower, kept so the
/// backward pass can run without recomputing anything.
///
/// Only what the activation gradients need is stored (no weight gradients are ever formed,
/// the ViT is frozen): per block the stream entering it (ln1's input), the stream after the
/// attention add (ln2's input), the fused QKV projection, the softmax probabilities and the
/// MLP's pre-activation; plus the pre-LN input and the pooled [CLS] rows before post-LN.
/// For B/32 P-frames (9 tokens) that is ~3 MB per frame over all 12 blocks.
public final class VisionTape: @unchecked Sendable {
    public let packing: Attention.Packing
    public let width: Int
    public let mlpWidth: Int
    public let layers: Int
    /// Projected (unnormalized) outputs [count, embedDim], identical to `VisionTower.encode`.
    public internal(set) var outputs: [Float] = []

    var rows: Int { packing.totalRows }
    var count: Int { packing.count }

    let embeddings: UnsafeMutablePointer<Float>  // [rows, w], pre-LN input
    let blockInputs: [UnsafeMutablePointer<Float>]  // [rows, w] per block
    let blockMids: [UnsafeMutablePointer<Float>]  // [rows, w] per block
    let qkv: [UnsafeMutablePointer<Float>]  // [rows, 3w] per block
    let preActivations: [UnsafeMutablePointer<Float>]  // [rows, m] per block
    let probabilities: [UnsafeMutablePointer<Float>]  // sum_s heads * T_s^2 per block
    let probabilityOffsets: [Int]
    let pooled: UnsafeMutablePointer<Float>  // [count, w], post-LN input

    init(packing: Attention.Packing, config c: TowerConfig) {
        self.packing = packing
        width = c.width
        mlpWidth = c.mlpWidth
        layers = c.layers
        let rows = packing.totalRows
        let w = c.width
        var offsets: [Int] = []
        var total = 0
        for t in packing.lengths {
            offsets.append(total)
            total += c.heads * t * t
        }
        probabilityOffsets = offsets
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(1, n)) }
        embeddings = alloc(rows * w)
        blockInputs = (0..<c.layers).map { _ in alloc(rows * w) }
        blockMids = (0..<c.layers).map { _ in alloc(rows * w) }
        qkv = (0..<c.layers).map { _ in alloc(rows * 3 * w) }
        preActivations = (0..<c.layers).map { _ in alloc(rows * c.mlpWidth) }
        probabilities = (0..<c.layers).map { _ in alloc(total) }
        pooled = alloc(packing.count * w)
    }

    deinit {
        embeddings.deallocate()
        pooled.deallocate()
        for p in blockInputs + blockMids + qkv + preActivations + probabilities { p.deallocate() }
    }
}

extension VisionTower {
    /// The same forward pass as `encode`, recording the activations the backward pass needs.
    public func recordForward(_ requests: [Request]) -> VisionTape {
        let c = config.vision
        let d = width
        let n = config.patchCount
        let lengths = requests.map { 1 + $0.extraTokens.count / d + ($0.keep?.count ?? n) }
        let packing = Attention.Packing(lengths: lengths)
        let tape = VisionTape(packing: packing, config: c)
        let rows = packing.totalRows
        let h = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        let norm = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        let attn = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        let act = UnsafeMutablePointer<Float>.allocate(capacity: rows * c.mlpWidth)
        defer {
            h.deallocate()
            norm.deallocate()
            attn.deallocate()
            act.deallocate()
        }

        embed(requests, packing: packing, into: tape.embeddings)
        preLN(tape.embeddings, rows: rows, into: h)
        for (l, layer) in transformer.layers.enumerated() {
            tape.blockInputs[l].update(from: h, count: rows * d)
            layer.ln1(h, rows: rows, into: norm)
            layer.qkv(norm, rows: rows, into: tape.qkv[l])
            Attention.forward(
                qkv: tape.qkv[l], packing: packing, heads: c.heads, width: d, causal: false,
                into: attn, probabilities: tape.probabilities[l],
                probabilityOffsets: tape.probabilityOffsets)
            layer.out(attn, rows: rows, into: h, accumulate: true)
            tape.blockMids[l].update(from: h, count: rows * d)
            layer.ln2(h, rows: rows, into: norm)
            layer.fc1(norm, rows: rows, into: tape.preActivations[l])
            act.update(from: tape.preActivations[l], count: rows * c.mlpWidth)
            c.activation.apply(act, count: rows * c.mlpWidth)
            layer.fc2(act, rows: rows, into: h, accumulate: true)
        }
        for (i, o) in packing.offsets.enumerated() { (tape.pooled + i * d).update(from: h + o * d, count: d) }
        let count = requests.count
        postLN(tape.pooled, rows: count, into: norm)
        var out = [Float](repeating: 0, count: count * config.embedDim)
        out.withUnsafeMutableBufferPointer { projection(norm, rows: count, into: $0.baseAddress!) }
        tape.outputs = out
        return tape
    }
}
