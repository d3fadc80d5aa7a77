import Foundation

/// Writes a randomly initialised CLIP checkpoint in the Hugging Face layout.
///
/// No pretrained weights can be downloaded on the build machines, so the demo and the
/// benchmarks run on random weights of the real shapes: every code path is exercised, but
/// similarities carry no meaning until real weights are imported (see README).
public enum RandomCheckpoint {
    public static func write(config c: CLIPConfig, to directory: URL, seed: UInt64 = 0, float16: Bool = true) throws {
        guard let t = c.text else {
            throw WeightsError.badConfig(path: directory.path, reason: "a text tower is required")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var rng = SplitMix(seed: seed)
        var w = SafeTensorsWriter()
        w.metadata = ["format": "pt", "note": "random weights (rstore model init-random), not a trained model"]
        func normal(_ n: Int, _ std: Float) -> [Float] { (0..<n).map { _ in rng.normal() * std } }
        func add(_ name: String, _ shape: [Int], _ values: [Float]) {
            w.add(name, shape: shape, values: values, asFloat16: float16)
        }
        func tower(_ prefix: String, _ tc: TowerConfig) {
            let d = tc.width
            let m = tc.mlpWidth
            for l in 0..<tc.layers {
                let p = "\(prefix).encoder.layers.\(l)"
                for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    add("\(p).self_attn.\(proj).weight", [d, d], normal(d * d, 1 / Float(d).squareRoot()))
                    add("\(p).self_attn.\(proj).bias", [d], [Float](repeating: 0, count: d))
                }
                for ln in ["layer_norm1", "layer_norm2"] {
                    add("\(p).\(ln).weight", [d], [Float](repeating: 1, count: d))
                    add("\(p).\(ln).bias", [d], [Float](repeating: 0, count: d))
                }
                add("\(p).mlp.fc1.weight", [m, d], normal(m * d, 1 / Float(d).squareRoot()))
                add("\(p).mlp.fc1.bias", [m], [Float](repeating: 0, count: m))
                add(
                    "\(p).mlp.fc2.weight", [d, m],
                    normal(d * m, 1 / Float(m).squareRoot() / Float(2 * tc.layers).squareRoot()))
                add("\(p).mlp.fc2.bias", [d], [Float](repeating: 0, count: d))
            }
        }
        let d = c.vision.width
        let p = c.patchSize
        add("vision_model.embeddings.class_embedding", [d], normal(d, 1 / Float(d).squareRoot()))
        add(
            "vision_model.embeddings.patch_embedding.weight", [d, 3, p, p],
            normal(d * 3 * p * p, 1 / Float(3 * p * p).squareRoot()))
        add(
            "vision_model.embeddings.position_embedding.weight", [c.patchCount + 1, d],
            normal((c.patchCount + 1) * d, 0.02))
        for ln in ["pre_layrnorm", "post_layernorm"] {
            add("vision_model.\(ln).weight", [d], [Float](repeating: 1, count: d))
            add("vision_model.\(ln).bias", [d], [Float](repeating: 0, count: d))
        }
        tower("vision_model", c.vision)
        add("visual_projection.weight", [c.embedDim, d], normal(c.embedDim * d, 1 / Float(d).squareRoot()))
        add(
            "text_model.embeddings.token_embedding.weight", [c.vocabSize, t.width], normal(c.vocabSize * t.width, 0.02))
        add(
            "text_model.embeddings.position_embedding.weight", [c.contextLength, t.width],
            normal(c.contextLength * t.width, 0.01))
        tower("text_model", t)
        add("text_model.final_layer_norm.weight", [t.width], [Float](repeating: 1, count: t.width))
        add("text_model.final_layer_norm.bias", [t.width], [Float](repeating: 0, count: t.width))
        add(
            "text_projection.weight", [c.embedDim, t.width],
            normal(c.embedDim * t.width, 1 / Float(t.width).squareRoot()))
        w.add("logit_scale", shape: [], values: [4.6052])
        try w.write(to: directory.appendingPathComponent(CLIPModel.weightsFileName))

        func towerJSON(_ tc: TowerConfig) -> [String: Any] {
            [
                "hidden_size": tc.width, "intermediate_size": tc.mlpWidth, "num_hidden_layers": tc.layers,
                "num_attention_heads": tc.heads, "hidden_act": tc.activation.rawValue,
                "layer_norm_eps": Double(tc.layerNormEps),
            ]
        }
        var text = towerJSON(t)
        text["vocab_size"] = c.vocabSize
        text["max_position_embeddings"] = c.contextLength
        var vision = towerJSON(c.vision)
        vision["image_size"] = c.imageSize
        vision["patch_size"] = c.patchSize
        let config: [String: Any] = [
            "model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": c.embedDim,
            "text_config": text, "vision_config": vision,
            "rstore_note": "random weights, not a trained model",
        ]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("config.json"))
    }
}
