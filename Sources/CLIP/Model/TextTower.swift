import Tensor

/// CLIP's text encoder: token + positional embeddings, causal transformer, final LN at the
/// pooled position, text projection.
///
/// Sequences are packed without padding: the causal mask makes anything after the
/// end-of-text token irrelevant to the pooled output, so it is never computed.
public struct TextTower: Sendable {
    public let config: CLIPConfig
    public let tower: TowerConfig
    public let tokenEmbedding: [Float]  // [vocab, width]
    public let positionEmbedding: [Float]  // [context, width]
    public let transformer: Transformer
    public let finalLN: LayerNorm
    public let projection: Linear  // [embedDim, width]

    static func load(_ w: SafeTensorsFile, config c: CLIPConfig, tower t: TowerConfig) throws -> TextTower {
        let d = t.width
        let layers = try (0..<t.layers).map {
            try EncoderLayer.load(w, prefix: "text_model.encoder.layers.\($0)", config: t)
        }
        return TextTower(
            config: c, tower: t,
            tokenEmbedding: try w.floats("text_model.embeddings.token_embedding.weight", shape: [c.vocabSize, d]),
            positionEmbedding: try w.floats(
                "text_model.embeddings.position_embedding.weight", shape: [c.contextLength, d]),
            transformer: Transformer(config: t, layers: layers),
            finalLN: LayerNorm(
                weight: try w.floats("text_model.final_layer_norm.weight", shape: [d]),
                bias: try w.floats("text_model.final_layer_norm.bias", shape: [d]), eps: t.layerNormEps),
            projection: Linear(
                weight: try w.floats("text_projection.weight", shape: [c.embedDim, d]), bias: nil,
                inFeatures: d, outFeatures: c.embedDim))
    }

    /// The position whose output is pooled: the first end-of-text token (what HF does for
    /// non-legacy configs and, with CLIP's vocabulary where EOT has the largest id, what the
    /// legacy argmax rule picks too); the last token if there is none.
    public static func poolIndex(_ ids: [Int32], endToken: Int32, legacyArgmax: Bool) -> Int {
        if legacyArgmax, let m = ids.indices.max(by: { ids[$0] < ids[$1] }) { return m }
        return ids.firstIndex(of: endToken) ?? (ids.count - 1)
    }

    /// Projected (unnormalized) embeddings [sequences.count, embedDim].
    /// Each sequence holds token ids including start and end tokens, at most contextLength.
    public func encode(
        _ sequences: [[Int32]], endToken: Int32,
        observer: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil
    ) -> [Float] {
        let d = tower.width
        let packing = Attention.Packing(lengths: sequences.map(\.count))
        let rows = packing.totalRows
        let h = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * d))
        defer { h.deallocate() }
        tokenEmbedding.withUnsafeBufferPointer { tok in
            positionEmbedding.withUnsafeBufferPointer { pos in
                for (s, ids) in sequences.enumerated() {
                    precondition(ids.count <= config.contextLength, "sequence longer than the context")
                    for (j, id) in ids.enumerated() {
                        precondition(id >= 0 && Int(id) < config.vocabSize, "token id \(id) outside the vocabulary")
                        let dst = h + (packing.offsets[s] + j) * d
                        let e = tok.baseAddress! + Int(id) * d
                        let p = pos.baseAddress! + j * d
                        for k in 0..<d { dst[k] = e[k] + p[k] }
                    }
                }
            }
        }
        observer?(0, UnsafeBufferPointer(start: h, count: rows * d))
        transformer.forward(h, packing: packing, causal: true, observer: observer)

        let legacy = config.eosTokenID == 2
        var pooled = [Float](repeating: 0, count: sequences.count * d)
        pooled.withUnsafeMutableBufferPointer { p in
            for (s, ids) in sequences.enumerated() {
                let row = packing.offsets[s] + Self.poolIndex(ids, endToken: endToken, legacyArgmax: legacy)
                (p.baseAddress! + s * d).update(from: h + row * d, count: d)
            }
            finalLN(p.baseAddress!, rows: sequences.count, into: p.baseAddress!)
        }
        var out = [Float](repeating: 0, count: sequences.count * config.embedDim)
        pooled.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                projection(p.baseAddress!, rows: sequences.count, into: o.baseAddress!)
            }
        }
        return out
    }
}
