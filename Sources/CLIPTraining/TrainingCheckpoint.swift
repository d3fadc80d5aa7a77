import CLIP
import Foundation
import Timeline

/// The resumable state of a training run, saved beside A after every epoch as
/// `<A name>.state.safetensors`: A's parameters, AdamW's moments and step, the epochs done,
/// and the settings that define the data (a resumed run must use the same ones).
struct TrainingCheckpoint {
    var tokenizer: ResidualTokenizer
    var optimizer: AdamW
    var epochsDone: Int

    static func url(for output: URL) -> URL {
        output.deletingPathExtension().appendingPathExtension("state.safetensors")
    }

    /// Settings that must match for a resume (name -> value as text).
    static func dataSettings(_ c: TokenizerTrainingConfig, loss: String) -> [String: String] {
        var s = [
            "n": String(c.n), "p": String(c.p), "strategy": c.strategy.rawValue, "seed": String(c.seed),
            "holdout": String(c.holdout), "split": c.split.rawValue, "loss": loss, "anchor_codec": c.anchor.name,
            "iframes": c.iframes.rawValue, "masks": c.masks.rawValue,
        ]
        if c.masks == .fresh && c.strategy == .motion { s["motion_random_share"] = String(c.motionRandomShare) }
        if c.loss == .text { s["texts_per_step"] = String(c.textsPerStep) }
        return s
    }

    /// What state files written before a setting existed were trained with: fixed I-frames
    /// and one mask per P-frame for all epochs.
    static let legacyDefaults = ["iframes": IFramePlacement.fixed.rawValue, "masks": MaskSchedule.fixed.rawValue]

    /// `recipe`: how A was trained (the loss, optimiser and mask settings), recorded as
    /// `recipe.<key>` for people and tools; only `dataSettings` are checked on resume.
    func save(to url: URL, config: TokenizerTrainingConfig, loss: String, recipe: [String: String] = [:]) throws {
        var w = SafeTensorsWriter()
        w.metadata = Self.dataSettings(config, loss: loss)
        for (k, v) in recipe { w.metadata["recipe.\(k)"] = v }
        w.metadata["clip_sha256"] = tokenizer.clipSHA256
        w.metadata["epochs_done"] = String(epochsDone)
        w.add("residual_tokenizer.weight", shape: [tokenizer.width, tokenizer.embedDim], values: tokenizer.weight)
        w.add("residual_tokenizer.bias", shape: [tokenizer.width], values: tokenizer.bias)
        optimizer.save(into: &w)
        try w.write(to: url)
    }

    /// Loads a state file for `model` and checks it matches the run being resumed.
    static func load(
        from url: URL, model: CLIPModel, config: TokenizerTrainingConfig, loss: String,
        optimizer: AdamW
    ) throws -> TrainingCheckpoint {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.cannotResume(
                path: url.path, reason: "no training state there (it is written after each epoch)")
        }
        let f: SafeTensorsFile
        do { f = try SafeTensorsFile(url: url) } catch {
            throw TrainingError.cannotResume(path: url.path, reason: "\(error)")
        }
        guard let sha = f.metadata["clip_sha256"], let done = f.metadata["epochs_done"].flatMap(Int.init) else {
            throw TrainingError.cannotResume(
                path: url.path, reason: "not a training state file (no clip_sha256 / epochs_done)")
        }
        guard sha == model.weightsSHA256 else {
            throw ResidualError.wrongWeights(path: url.path, trainedFor: sha, loaded: model.weightsSHA256)
        }
        // State files from before a setting existed were trained as `legacyDefaults` says.
        let recorded = f.metadata.merging(Self.legacyDefaults) { stored, _ in stored }
        for (k, v) in dataSettings(config, loss: loss).sorted(by: { $0.key < $1.key }) where recorded[k] != v {
            throw TrainingError.cannotResume(
                path: url.path,
                reason: "it was trained with \(k) = \(recorded[k] ?? "?"), this run has \(k) = \(v)")
        }
        let d = model.config.vision.width
        let b = model.config.embedDim
        do {
            let a = ResidualTokenizer(
                weight: try f.floats("residual_tokenizer.weight", shape: [d, b]),
                bias: try f.floats("residual_tokenizer.bias", shape: [d]),
                embedDim: b, width: d, clipSHA256: sha)
            var opt = optimizer
            try opt.restore(from: f)
            return TrainingCheckpoint(tokenizer: a, optimizer: opt, epochsDone: done)
        } catch let e as WeightsError {
            throw TrainingError.cannotResume(path: url.path, reason: "\(e)")
        }
    }
}
