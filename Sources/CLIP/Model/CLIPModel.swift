import Foundation
import Tensor

/// A CLIP checkpoint in the Hugging Face repository layout: `model.safetensors`,
/// optional `config.json`, and `vocab.json` + `merges.txt` for the text tower.
public final class CLIPModel: @unchecked Sendable {
    public let directory: URL
    public let config: CLIPConfig
    public let vision: VisionTower
    public let text: TextTower?
    public let tokenizer: CLIPTokenizer?
    public let logitScale: Float
    /// SHA-256 of model.safetensors: ties stores and residual tokenizers to these weights.
    public let weightsSHA256: String

    public static let weightsFileName = "model.safetensors"

    /// Loads the model folder; fails with a `WeightsError` naming the file and tensor. The
    /// weights' SHA-256 comes from `WeightsHashCache` when the file is unchanged since it was
    /// last hashed (`rehash` forces hashing, as `rstore verify` does).
    public init(directory: URL, rehash: Bool = false) throws {
        self.directory = directory
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw WeightsError.missingFile(path: directory.path)
        }
        let weightsURL = directory.appendingPathComponent(Self.weightsFileName)
        let weights = try SafeTensorsFile(url: weightsURL)
        let config = try CLIPConfig.infer(weights: weights, configJSON: directory.appendingPathComponent("config.json"))
        self.config = config
        vision = try VisionTower.load(weights, config: config)
        if let t = config.text {
            text = try TextTower.load(weights, config: config, tower: t)
            let hasVocab = FileManager.default.fileExists(atPath: directory.appendingPathComponent("vocab.json").path)
            tokenizer = hasVocab ? try CLIPTokenizer(directory: directory) : nil
            if let tokenizer, tokenizer.vocabularySize != config.vocabSize {
                throw WeightsError.badConfig(
                    path: directory.appendingPathComponent("vocab.json").path,
                    reason:
                        "tokenizer has \(tokenizer.vocabularySize) tokens but the text tower embeds \(config.vocabSize)"
                )
            }
        } else {
            text = nil
            tokenizer = nil
        }
        logitScale = weights.contains("logit_scale") ? (try weights.floats("logit_scale").first ?? 4.6052) : 4.6052
        if !rehash, let cached = WeightsHashCache.lookup(weightsURL) {
            weightsSHA256 = cached
        } else {
            weightsSHA256 = weights.sha256()
            WeightsHashCache.store(weightsSHA256, for: weightsURL)
        }
    }

    /// Hashes the weights file again and compares with the hash this model was loaded with
    /// (which may have come from the cache); refreshes the cache. Throws when they differ.
    public func verifyWeightsHash() throws {
        let url = directory.appendingPathComponent(Self.weightsFileName)
        let fresh = try SafeTensorsFile(url: url).sha256()
        guard fresh == weightsSHA256 else {
            throw WeightsError.badConfig(
                path: url.path,
                reason:
                    """
                    weights hash \(fresh.prefix(16))… differs from the hash in use \(weightsSHA256.prefix(16))… (the \
                    file changed while loaded, or the hash cache was wrong)
                    """
            )
        }
        WeightsHashCache.store(fresh, for: url)
    }

    /// A model with random weights (no text tokenizer), for benchmarks.
    public init(randomWith config: CLIPConfig, seed: UInt64 = 0) {
        directory = URL(fileURLWithPath: "/dev/null")
        self.config = config
        vision = VisionTower.random(config: config, seed: seed)
        text = nil
        tokenizer = nil
        logitScale = 4.6052
        weightsSHA256 = "random-\(config.archName)-\(seed)"
    }

    /// Projected embeddings of preprocessed images ([count, 3, S, S] normalized floats).
    public func encodeImages(pixels: [Float], count: Int) -> [Float] {
        let stride = config.imageFloats
        precondition(pixels.count == count * stride, "expected \(count) images of \(stride) floats")
        return pixels.withUnsafeBufferPointer { p in
            vision.encode((0..<count).map { VisionTower.Request(pixels: p.baseAddress! + $0 * stride) })
        }
    }

    /// Projected embeddings of texts, and which of them were truncated to the context.
    public func encodeTexts(_ texts: [String]) throws -> (embeddings: [Float], truncated: [Bool]) {
        guard let text, let tokenizer else { throw CLIPError.noTextTower(directory.path) }
        let tokens = texts.map { tokenizer.tokenize($0) }
        return (text.encode(tokens.map(\.ids), endToken: tokenizer.endToken), tokens.map(\.truncated))
    }
}

/// Errors of using a model (as opposed to loading its weights).
public enum CLIPError: Error, CustomStringConvertible {
    case noTextTower(String)

    public var description: String {
        switch self {
        case .noTextTower(let p): return "\(p): the model has no text tower or no tokenizer (vocab.json + merges.txt)"
        }
    }
}
