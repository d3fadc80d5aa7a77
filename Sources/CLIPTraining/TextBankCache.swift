import CLIP
import Foundation
import Tensor

/// Text embeddings of a text set for one model, computed once and kept on disk: embedding
/// 4096 prompts with B/32's text tower takes a minute or two on a laptop CPU, and every
/// training run on the same weights needs the same ones.
///
/// One safetensors file per (weights, text set): `<folder>/text-bank-<weights sha 16>-<texts
/// sha 16>.safetensors`, holding the raw projected embeddings [count, embedDim] and both full
/// hashes. A file that does not parse or does not match (hashes, shape) is computed again and
/// replaced; a folder that cannot be written only means computing again next time.
public enum TextBankCache {
    /// `$RSTORE_TEXT_CACHE`, else `$XDG_CACHE_HOME/rstore/text-bank`, else `~/.cache/rstore/text-bank`.
    public static var defaultLocation: URL {
        let env = ProcessInfo.processInfo.environment
        if let p = env["RSTORE_TEXT_CACHE"], !p.isEmpty { return URL(fileURLWithPath: p) }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("rstore/text-bank")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/rstore/text-bank")
    }

    public static func url(model: CLIPModel, set: PromptSet, folder: URL) -> URL {
        folder.appendingPathComponent(
            "text-bank-\(model.weightsSHA256.prefix(16))-\(set.sha256.prefix(16)).safetensors")
    }

    /// The embeddings [count, embedDim] of `set` under `model`, from the cache when it holds
    /// them, else computed (256 texts a pass) and stored. `computed` says which happened.
    public static func embeddings(model: CLIPModel, set: PromptSet, folder: URL? = nil) throws -> (
        embeddings: [Float], computed: Bool
    ) {
        let b = model.config.embedDim
        let file = url(model: model, set: set, folder: folder ?? defaultLocation)
        if let f = try? SafeTensorsFile(url: file), f.metadata["clip_sha256"] == model.weightsSHA256,
            f.metadata["texts_sha256"] == set.sha256, let e = try? f.floats("embeddings", shape: [set.texts.count, b])
        {
            return (e, false)
        }
        guard model.text != nil else { throw CLIPError.noTextTower(model.directory.path) }
        var out = [Float]()
        out.reserveCapacity(set.texts.count * b)
        for start in stride(from: 0, to: set.texts.count, by: 256) {
            out += try model.encodeTexts(Array(set.texts[start..<min(set.texts.count, start + 256)])).embeddings
        }
        var w = SafeTensorsWriter()
        w.metadata = ["clip_sha256": model.weightsSHA256, "texts_sha256": set.sha256, "source": set.source]
        w.add("embeddings", shape: [set.texts.count, b], values: out)
        try? FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? w.write(to: file)
        return (out, true)
    }
}
