import Foundation
import Tensor

/// The residual tokenizer A of ResidualViT: a linear map from the anchor I-feature to one
/// extra input token of the image tower.
///
/// Input: the anchor's projected CLIP embedding scaled to unit length (as the authors'
/// released code does). Output: a `width`-dim token placed at sequence index 1, right after
/// [CLS]+pos0, with no positional embedding. An all-zero A contributes no token at all,
/// which is exactly the token-reduction-only baseline.
public struct ResidualTokenizer: Sendable, Equatable {
    /// [width, embedDim], PyTorch [out, in] layout.
    public var weight: [Float]
    public var bias: [Float]
    public let embedDim: Int
    public let width: Int
    /// SHA-256 of the CLIP weights A was trained for.
    public let clipSHA256: String
    /// The store codec whose round trip the training anchors went through (nil: not recorded).
    public var anchorCodec: String?
    /// How A was trained (loss, masks, optimiser...), saved as `training.<key>` metadata so a
    /// user can tell which recipe an A file came from; empty for files written before.
    public var training: [String: String] = [:]

    public init(weight: [Float], bias: [Float], embedDim: Int, width: Int, clipSHA256: String) {
        precondition(weight.count == width * embedDim && bias.count == width)
        self.weight = weight
        self.bias = bias
        self.embedDim = embedDim
        self.width = width
        self.clipSHA256 = clipSHA256
    }

    /// A = 0: the baseline without a residual token.
    public static func zero(for model: CLIPModel) -> ResidualTokenizer {
        let d = model.config.vision.width
        let b = model.config.embedDim
        return ResidualTokenizer(
            weight: [Float](repeating: 0, count: d * b), bias: [Float](repeating: 0, count: d),
            embedDim: b, width: d, clipSHA256: model.weightsSHA256)
    }

    public var isZero: Bool { weight.allSatisfy { $0 == 0 } && bias.allSatisfy { $0 == 0 } }

    /// Tokens for a batch of anchor features ([count, embedDim], any scale) -> [count, width].
    public func tokens(anchors: [Float], count: Int) -> [Float] {
        precondition(anchors.count == count * embedDim)
        var unit = anchors
        for i in 0..<count {
            var n: Float = 0
            for j in 0..<embedDim { n += unit[i * embedDim + j] * unit[i * embedDim + j] }
            let inv = n > 0 ? 1 / n.squareRoot() : 0
            for j in 0..<embedDim { unit[i * embedDim + j] *= inv }
        }
        var out = [Float](repeating: 0, count: count * width)
        let linear = Linear(weight: weight, bias: bias, inFeatures: embedDim, outFeatures: width)
        unit.withUnsafeBufferPointer { u in
            out.withUnsafeMutableBufferPointer { linear(u.baseAddress!, rows: count, into: $0.baseAddress!) }
        }
        return out
    }

    // MARK: File format

    static let weightName = "residual_tokenizer.weight"
    static let biasName = "residual_tokenizer.bias"

    /// Saves as safetensors with the CLIP weights' SHA-256 in the metadata.
    public func save(to url: URL) throws {
        var w = SafeTensorsWriter()
        w.metadata = ["clip_sha256": clipSHA256, "input": "unit-normalized projected I-feature", "position": "1"]
        if let anchorCodec { w.metadata["anchor_codec"] = anchorCodec }
        for (k, v) in training { w.metadata["training.\(k)"] = v }
        w.add(Self.weightName, shape: [width, embedDim], values: weight)
        w.add(Self.biasName, shape: [width], values: bias)
        try w.write(to: url)
    }

    /// Loads A and checks it was trained for `model`'s weights and dimensions.
    public init(contentsOf url: URL, for model: CLIPModel) throws {
        let f = try SafeTensorsFile(url: url)
        guard let sha = f.metadata["clip_sha256"] else {
            throw ResidualError.notAResidualTokenizer(path: url.path, reason: "no clip_sha256 in its metadata")
        }
        guard sha == model.weightsSHA256 else {
            throw ResidualError.wrongWeights(path: url.path, trainedFor: sha, loaded: model.weightsSHA256)
        }
        let d = model.config.vision.width
        let b = model.config.embedDim
        self.init(
            weight: try f.floats(Self.weightName, shape: [d, b]), bias: try f.floats(Self.biasName, shape: [d]),
            embedDim: b, width: d, clipSHA256: sha)
        anchorCodec = f.metadata["anchor_codec"]
        for (k, v) in f.metadata where k.hasPrefix("training.") { training[String(k.dropFirst("training.".count))] = v }
    }
}

/// Misuse of the residual encoder: wrong A file, bad parameters.
public enum ResidualError: Error, CustomStringConvertible, Equatable {
    case notAResidualTokenizer(path: String, reason: String)
    case wrongWeights(path: String, trainedFor: String, loaded: String)
    case badParameter(String)

    public var description: String {
        switch self {
        case .notAResidualTokenizer(let p, let r): return "\(p): not a residual tokenizer file: \(r)"
        case .wrongWeights(let p, let t, let l):
            return
                """
                \(p): residual tokenizer was trained for CLIP weights \(t.prefix(16))…, but the loaded model is \
                \(l.prefix(16))…
                """
        case .badParameter(let m): return m
        }
    }
}
