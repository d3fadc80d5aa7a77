import Foundation
import Tensor

/// Architecture of one transformer tower.
public struct TowerConfig: Sendable, Codable, Equatable {
    public var width: Int
    public var layers: Int
    public var heads: Int
    public var mlpWidth: Int
    public var activation: Activation
    public var layerNormEps: Float

    public var headDim: Int { width / heads }

    public init(width: Int, layers: Int, heads: Int, mlpWidth: Int, activation: Activation, layerNormEps: Float) {
        self.width = width
        self.layers = layers
        self.heads = heads
        self.mlpWidth = mlpWidth
        self.activation = activation
        self.layerNormEps = layerNormEps
    }
}

/// Architecture of a CLIP checkpoint. Shapes come from the tensors themselves; what shapes
/// cannot tell (heads, activation, eps) comes from `config.json` when present, otherwise
/// from the OpenAI defaults (64-wide heads, QuickGELU, eps 1e-5).
public struct CLIPConfig: Sendable, Codable, Equatable {
    public var vision: TowerConfig
    public var text: TowerConfig?
    public var imageSize: Int
    public var patchSize: Int
    public var embedDim: Int
    public var contextLength: Int
    public var vocabSize: Int
    /// HF's legacy configs (eos_token_id == 2) pool the text at argmax(input id); newer ones
    /// at the first end-of-text token. With CLIP's vocabulary both pick the EOT position.
    public var eosTokenID: Int?

    public var gridSize: Int { imageSize / patchSize }
    public var patchCount: Int { gridSize * gridSize }
    /// Floats of one model input, a normalised [3, S, S] image: the stride between images in a batch.
    public var imageFloats: Int { 3 * imageSize * imageSize }

    /// A short name like "ViT-B/32" when the shape is a known one.
    public var archName: String {
        let size: String
        switch (vision.width, vision.layers) {
        case (768, 12): size = "B"
        case (1024, 24): size = "L"
        case (1280, 32): size = "H"
        default: size = "w\(vision.width)x\(vision.layers)"
        }
        return "ViT-\(size)/\(patchSize)" + (imageSize != 224 ? "@\(imageSize)" : "")
    }

    /// Random-weight architectures for benchmarks (OpenAI CLIP shapes).
    public static func standard(_ name: String) -> CLIPConfig? {
        func tower(_ w: Int, _ l: Int) -> TowerConfig {
            TowerConfig(width: w, layers: l, heads: w / 64, mlpWidth: 4 * w, activation: .quickGELU, layerNormEps: 1e-5)
        }
        switch name.uppercased().replacingOccurrences(of: "VIT-", with: "") {
        case "B/32":
            return CLIPConfig(
                vision: tower(768, 12), text: tower(512, 12), imageSize: 224, patchSize: 32, embedDim: 512,
                contextLength: 77, vocabSize: 49408, eosTokenID: nil)
        case "B/16":
            return CLIPConfig(
                vision: tower(768, 12), text: tower(512, 12), imageSize: 224, patchSize: 16, embedDim: 512,
                contextLength: 77, vocabSize: 49408, eosTokenID: nil)
        case "L/14":
            return CLIPConfig(
                vision: tower(1024, 24), text: tower(768, 12), imageSize: 224, patchSize: 14, embedDim: 768,
                contextLength: 77, vocabSize: 49408, eosTokenID: nil)
        default: return nil
        }
    }
}

extension CLIPConfig {
    /// Reads what shapes cannot say from a Hugging Face `config.json` and infers the rest
    /// from the checkpoint's tensor shapes.
    static func infer(weights: SafeTensorsFile, configJSON: URL?) throws -> CLIPConfig {
        var json: [String: Any] = [:]
        if let configJSON, FileManager.default.fileExists(atPath: configJSON.path) {
            guard let data = try? Data(contentsOf: configJSON),
                let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else {
                throw WeightsError.badConfig(path: configJSON.path, reason: "not a JSON object")
            }
            json = obj
        }
        let vjson = json["vision_config"] as? [String: Any] ?? [:]
        let tjson = json["text_config"] as? [String: Any] ?? [:]
        let path = weights.path

        func layerCount(_ prefix: String) -> Int {
            var n = 0
            while weights.contains("\(prefix).encoder.layers.\(n).self_attn.q_proj.weight") { n += 1 }
            return n
        }
        func tower(_ prefix: String, _ cfg: [String: Any]) throws -> TowerConfig {
            let layers = layerCount(prefix)
            guard layers > 0 else {
                throw WeightsError.missingTensor(
                    path: path, tensor: "\(prefix).encoder.layers.0.self_attn.q_proj.weight")
            }
            let q = try weights.shape("\(prefix).encoder.layers.0.self_attn.q_proj.weight")
            let fc1 = try weights.shape("\(prefix).encoder.layers.0.mlp.fc1.weight")
            guard q.count == 2, q[0] == q[1], fc1.count == 2, fc1[1] == q[0] else {
                throw WeightsError.shapeMismatch(
                    path: path, tensor: "\(prefix).encoder.layers.0.mlp.fc1.weight", expected: [-1, q.first ?? -1],
                    actual: fc1)
            }
            let width = q[0]
            // config.json stores only values that differ from HF's defaults (8 text / 12 vision
            // heads); without a config.json, assume OpenAI's 64-wide heads.
            let hfDefault = prefix == "text_model" ? 8 : 12
            let heads = (cfg["num_attention_heads"] as? Int) ?? (json.isEmpty ? max(1, width / 64) : hfDefault)
            guard heads > 0, width % heads == 0 else {
                throw WeightsError.badConfig(
                    path: configJSON?.path ?? path,
                    reason: "\(prefix): width \(width) is not divisible by \(heads) heads")
            }
            let actName = (cfg["hidden_act"] as? String) ?? (json["hidden_act"] as? String) ?? "quick_gelu"
            guard let act = Activation(rawValue: actName == "gelu_pytorch_tanh" ? "unsupported" : actName) else {
                throw WeightsError.badConfig(
                    path: configJSON?.path ?? path,
                    reason: "\(prefix): activation '\(actName)' is not supported (quick_gelu, gelu)")
            }
            let eps = (cfg["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-5
            return TowerConfig(
                width: width, layers: layers, heads: heads, mlpWidth: fc1[0], activation: act, layerNormEps: eps)
        }

        let vision = try tower("vision_model", vjson)
        let patch = try weights.shape("vision_model.embeddings.patch_embedding.weight")
        guard patch.count == 4, patch[0] == vision.width, patch[1] == 3, patch[2] == patch[3] else {
            throw WeightsError.shapeMismatch(
                path: path, tensor: "vision_model.embeddings.patch_embedding.weight",
                expected: [vision.width, 3, -1, -1], actual: patch)
        }
        let pos = try weights.shape("vision_model.embeddings.position_embedding.weight")
        let grid = Int(Double(max(0, (pos.first ?? 1) - 1)).squareRoot().rounded())
        guard pos.count == 2, pos[1] == vision.width, grid * grid + 1 == pos[0] else {
            throw WeightsError.shapeMismatch(
                path: path, tensor: "vision_model.embeddings.position_embedding.weight",
                expected: [grid * grid + 1, vision.width], actual: pos)
        }
        let vproj = try weights.shape("visual_projection.weight")
        guard vproj.count == 2, vproj[1] == vision.width else {
            throw WeightsError.shapeMismatch(
                path: path, tensor: "visual_projection.weight", expected: [-1, vision.width], actual: vproj)
        }
        var text: TowerConfig?
        var context = 77
        var vocab = 0
        if weights.contains("text_model.embeddings.token_embedding.weight") {
            let t = try tower("text_model", tjson)
            let tok = try weights.shape("text_model.embeddings.token_embedding.weight")
            let tpos = try weights.shape("text_model.embeddings.position_embedding.weight")
            let tproj = try weights.shape("text_projection.weight")
            guard tok.count == 2, tok[1] == t.width else {
                throw WeightsError.shapeMismatch(
                    path: path, tensor: "text_model.embeddings.token_embedding.weight", expected: [-1, t.width],
                    actual: tok)
            }
            guard tpos.count == 2, tpos[1] == t.width else {
                throw WeightsError.shapeMismatch(
                    path: path, tensor: "text_model.embeddings.position_embedding.weight", expected: [-1, t.width],
                    actual: tpos)
            }
            guard tproj == [vproj[0], t.width] else {
                throw WeightsError.shapeMismatch(
                    path: path, tensor: "text_projection.weight", expected: [vproj[0], t.width], actual: tproj)
            }
            text = t
            context = tpos[0]
            vocab = tok[0]
        }
        return CLIPConfig(
            vision: vision, text: text, imageSize: grid * patch[2], patchSize: patch[2],
            embedDim: vproj[0], contextLength: context, vocabSize: vocab,
            eosTokenID: tjson["eos_token_id"] as? Int)
    }
}
