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
        let d = c.width, m = c.mlpWidth
        func vec(_ name: String, _ n: Int) throws -> [Float] { try w.floats("\(p).\(name)", shape: [n]) }
        func mat(_ name: String, _ r: Int, _ cols: Int) throws -> [Float] { try w.floats("\(p).\(name)", shape: [r, cols]) }
        let qkvW = try mat("self_attn.q_proj.weight", d, d) + mat("self_attn.k_proj.weight", d, d) + mat("self_attn.v_proj.weight", d, d)
        let qkvB = try vec("self_attn.q_proj.bias", d) + vec("self_attn.k_proj.bias", d) + vec("self_attn.v_proj.bias", d)
        return EncoderLayer(
            ln1: LayerNorm(weight: try vec("layer_norm1.weight", d), bias: try vec("layer_norm1.bias", d), eps: c.layerNormEps),
            qkv: Linear(weight: qkvW, bias: qkvB, inFeatures: d, outFeatures: 3 * d),
            out: Linear(weight: try mat("self_attn.out_proj.weight", d, d), bias: try vec("self_attn.out_proj.bias", d), inFeatures: d, outFeatures: d),
            ln2: LayerNorm(weight: try vec("layer_norm2.weight", d), bias: try vec("layer_norm2.bias", d), eps: c.layerNormEps),
            fc1: Linear(weight: try mat("mlp.fc1.weight", m, d), bias: try vec("mlp.fc1.bias", m), inFeatures: d, outFeatures: m),
            fc2: Linear(weight: try mat("mlp.fc2.weight", d, m), bias: try vec("mlp.fc2.bias", d), inFeatures: m, outFeatures: d))
    }

    /// Random weights with CLIP-like scales, for benchmarks.
    static func random(_ c: TowerConfig, rng: inout SplitMix) -> EncoderLayer {
        let d = c.width, m = c.mlpWidth
        func r(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in rng.normal() * s } }
        let ones = [Float](repeating: 1, count: d), zeros = [Float](repeating: 0, count: d)
        return EncoderLayer(
            ln1: LayerNorm(weight: ones, bias: zeros, eps: c.layerNormEps),
            qkv: Linear(weight: r(3 * d * d, 0.02), bias: r(3 * d, 0.02), inFeatures: d, outFeatures: 3 * d),
            out: Linear(weight: r(d * d, 0.02), bias: r(d, 0.02), inFeatures: d, outFeatures: d),
            ln2: LayerNorm(weight: ones, bias: zeros, eps: c.layerNormEps),
            fc1: Linear(weight: r(m * d, 0.02), bias: r(m, 0.02), inFeatures: d, outFeatures: m),
            fc2: Linear(weight: r(d * m, 0.02), bias: r(d, 0.02), inFeatures: m, outFeatures: d))
    }
}

/// Scratch buffers for one forward pass over `rows` tokens.
final class Workspace {
    let norm: UnsafeMutablePointer<Float>
    let qkv: UnsafeMutablePointer<Float>
    let attn: UnsafeMutablePointer<Float>
    let mlp: UnsafeMutablePointer<Float>

    init(rows: Int, config c: TowerConfig) {
        norm = .allocate(capacity: rows * c.width)
        qkv = .allocate(capacity: rows * 3 * c.width)
        attn = .allocate(capacity: rows * c.width)
        mlp = .allocate(capacity: rows * c.mlpWidth)
    }

    deinit {
        norm.deallocate(); qkv.deallocate(); attn.deallocate(); mlp.deallocate()
    }
}

/// The stack of blocks shared by both towers.
public struct Transformer: Sendable {
    public let config: TowerConfig
    public let layers: [EncoderLayer]

    /// Runs every block over the packed residual stream `h` ([packing.totalRows, width]) in place.
    /// `observer` sees the stream after each block (layer index from 1), for parity tests.
    public func forward(_ h: UnsafeMutablePointer<Float>, packing: Attention.Packing, causal: Bool,
                        observer: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil) {
        let rows = packing.totalRows
        let ws = Workspace(rows: rows, config: config)
        for (i, layer) in layers.enumerated() {
            layer.ln1(h, rows: rows, into: ws.norm)
            layer.qkv(ws.norm, rows: rows, into: ws.qkv)
            Attention.forward(qkv: ws.qkv, packing: packing, heads: config.heads, width: config.width,
                              causal: causal, into: ws.attn)
            layer.out(ws.attn, rows: rows, into: h, accumulate: true)
            layer.ln2(h, rows: rows, into: ws.norm)
            layer.fc1(ws.norm, rows: rows, into: ws.mlp)
            config.activation.apply(ws.mlp, count: rows * config.mlpWidth)
            layer.fc2(ws.mlp, rows: rows, into: h, accumulate: true)
            observer?(i + 1, UnsafeBufferPointer(start: h, count: rows * config.width))
        }
    }

    /// Multiply-accumulate count x 2 for one sequence of `tokens` tokens.
    public func flops(tokens t: Int) -> Double {
        let d = Double(config.width), m = Double(config.mlpWidth), t = Double(t)
        let perLayer = 2 * t * d * 3 * d + 2 * 2 * t * t * d + 2 * t * d * d + 2 * 2 * t * d * m
        return perLayer * Double(layers.count)
    }
}

/// A small deterministic RNG (SplitMix64) for random weights and seeded sampling.
public struct SplitMix: Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
}

import Foundation
