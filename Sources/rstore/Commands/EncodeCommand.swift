import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Tensor
import Video

/// `rstore encode`: CLIP embeddings of texts or image files, one JSON object per input.
struct EncodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Print CLIP embeddings of texts or images (PNG, JPEG, anything libav reads).")

    @OptionGroup var model: ModelOption

    @Option(name: .customLong("text"), help: "A text to encode (repeatable).")
    var texts: [String] = []

    @Option(name: .customLong("image"), help: "An image file to encode (repeatable).")
    var images: [String] = []

    @Flag(help: "Scale each embedding to unit length.")
    var normalize = false

    @Flag(help: "One JSON object per input: {\"input\": ..., \"embedding\": [...]}.")
    var json = false

    func validate() throws {
        if texts.isEmpty && images.isEmpty { throw ValidationError("give at least one --text or --image") }
    }

    func run() async throws {
        let clip = try model.load()
        let dim = clip.config.embedDim
        var rows: [(String, ArraySlice<Float>, Bool)] = []
        if !texts.isEmpty {
            let (emb, truncated) = try clip.encodeTexts(texts)
            for (i, t) in texts.enumerated() { rows.append((t, emb[i * dim..<(i + 1) * dim], truncated[i])) }
        }
        if !images.isEmpty {
            let crops = try images.map { clip.crop(try ImageFile.load(URL(fileURLWithPath: $0))) }
            for (p, e) in zip(images, clip.embed(crops: crops)) { rows.append((p, e[...], false)) }
        }
        for (input, e, truncated) in rows {
            let v = normalize ? VectorMath.normalized(e) : Array(e)
            if truncated {
                FileHandle.standardError.write(
                    Data("warning: text truncated to \(CLIPTokenizer.contextLength) tokens: \(input)\n".utf8))
            }
            if json {
                var obj: [String: Any] = ["input": input, "embedding": v.map(Double.init)]
                if truncated { obj["truncated"] = true }
                let data = try JSONSerialization.data(
                    withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let head = v.prefix(6).map { String(format: "%.4f", $0) }.joined(separator: " ")
                print("\(input)\t[\(head) ...] (\(v.count) dims)")
            }
        }
    }
}
