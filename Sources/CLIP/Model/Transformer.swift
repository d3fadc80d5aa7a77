import Tensor

/// The stack of blocks shared by both towers.
public struct Transformer: Sendable {
    public let config: TowerConfig
    public let layers: [EncoderLayer]

    /// Runs every block over the packed residual stream `h` ([packing.totalRows, width]) in place.
    /// `observer` sees the stream after each block (layer index from 1), for parity tests.
    public func forward(
        _ h: UnsafeMutablePointer<Float>, packing: Attention.Packing, causal: Bool,
        observer: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil
    ) {
        let rows = packing.totalRows
        let ws = Workspace(rows: rows, config: config)
        for (i, layer) in layers.enumerated() {
            layer.ln1(h, rows: rows, into: ws.norm)
            layer.qkv(ws.norm, rows: rows, into: ws.qkv)
            Attention.forward(
                qkv: ws.qkv, packing: packing, heads: config.heads, width: config.width,
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
        let d = Double(config.width)
        let m = Double(config.mlpWidth)
        let t = Double(t)
        let perLayer = 2 * t * d * 3 * d + 2 * 2 * t * t * d + 2 * t * d * d + 2 * 2 * t * d * m
        return perLayer * Double(layers.count)
    }
}
