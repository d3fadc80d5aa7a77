import Tensor

/// One pre-norm transformer block: x += Attn(LN1(x)); x += MLP(LN2(x)).
/// Q, K and V are fused into one [3w, w] projection so the block runs three large GEMMs
/// over every token of the batch, plus per-sequence attention.
public struct EncoderLayer: Sendable {
    public let ln1: LayerNorm
    public let qkv: Linear
    public let out: Linear
    public let ln2: LayerNorm
    public let fc1: Linear
    public let fc2: Linear

    static func load(_ w: SafeTensorsFile, prefix p: String, config c: TowerConfig) throws -> EncoderLayer {
        let d = c.width
        let m = c.mlpWidth
        func vec(_ name: String, _ n: Int) throws -> [Float] { try w.floats("\(p).\(name)", shape: [n]) }
        func mat(_ name: String, _ r: Int, _ cols: Int) throws -> [Float] {
            try w.floats("\(p).\(name)", shape: [r, cols])
        }
        let qkvW =
            try mat("self_attn.q_proj.weight", d, d) + mat("self_attn.k_proj.weight", d, d)
            + mat("self_attn.v_proj.weight", d, d)
        let qkvB =
            try vec("self_attn.q_proj.bias", d) + vec("self_attn.k_proj.bias", d) + vec("self_attn.v_proj.bias", d)
        return EncoderLayer(
            ln1: LayerNorm(
                weight: try vec("layer_norm1.weight", d), bias: try vec("layer_norm1.bias", d), eps: c.layerNormEps),
            qkv: Linear(weight: qkvW, bias: qkvB, inFeatures: d, outFeatures: 3 * d),
            out: Linear(
                weight: try mat("self_attn.out_proj.weight", d, d), bias: try vec("self_attn.out_proj.bias", d),
                inFeatures: d, outFeatures: d),
            ln2: LayerNorm(
                weight: try vec("layer_norm2.weight", d), bias: try vec("layer_norm2.bias", d), eps: c.layerNormEps),
            fc1: Linear(
                weight: try mat("mlp.fc1.weight", m, d), bias: try vec("mlp.fc1.bias", m), inFeatures: d, outFeatures: m
            ),
            fc2: Linear(
                weight: try mat("mlp.fc2.weight", d, m), bias: try vec("mlp.fc2.bias", d), inFeatures: m, outFeatures: d
            ))
    }

    /// Random weights with CLIP-like scales, for benchmarks.
    static func random(_ c: TowerConfig, rng: inout SplitMix) -> EncoderLayer {
        let d = c.width
        let m = c.mlpWidth
        func r(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in rng.normal() * s } }
        let ones = [Float](repeating: 1, count: d)
        let zeros = [Float](repeating: 0, count: d)
        return EncoderLayer(
            ln1: LayerNorm(weight: ones, bias: zeros, eps: c.layerNormEps),
            qkv: Linear(weight: r(3 * d * d, 0.02), bias: r(3 * d, 0.02), inFeatures: d, outFeatures: 3 * d),
            out: Linear(weight: r(d * d, 0.02), bias: r(d, 0.02), inFeatures: d, outFeatures: d),
            ln2: LayerNorm(weight: ones, bias: zeros, eps: c.layerNormEps),
            fc1: Linear(weight: r(m * d, 0.02), bias: r(m, 0.02), inFeatures: d, outFeatures: m),
            fc2: Linear(weight: r(d * m, 0.02), bias: r(d, 0.02), inFeatures: m, outFeatures: d))
    }
}
