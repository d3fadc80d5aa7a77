import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Tensor
import Video

/// `rstore scan`: the store-less path — sample videos, encode every sampled frame with the
/// full CLIP, and rank frames by similarity to a text. Useful to check a model end to end.
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Encode videos' sampled frames (full CLIP, nothing stored) and rank them against a text.")

    @OptionGroup var model: ModelOption
    @Argument(help: "Video files.") var videos: [String]
    @Option(name: .customLong("text"), help: "The query text.") var text: String
    @Option(help: "Sampling rate in frames per second.") var fps = 2.0
    @Option(name: .short, help: "How many frames to print.") var k = 5
    @Option(help: "Images per forward pass.") var batch = 16

    func validate() throws {
        try checkSampling(SamplingLimits.problem(fps: fps))
        guard k >= 1 else { throw ValidationError("-k must be at least 1") }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("--text is empty")
        }
    }

    func run() async throws {
        let clip = try model.load()
        let query = VectorMath.normalized(try clip.encodeTexts([text]).embeddings)
        var hits: [(path: String, time: Double, score: Float)] = []
        for path in videos {
            let reader = try VideoReader(url: URL(fileURLWithPath: path))
            var crops: [RGBImage] = []
            var times: [Double] = []
            func flush() {
                for (t, e) in zip(times, clip.embed(crops: crops)) {
                    hits.append((path, t, VectorMath.cosine(e, query)))
                }
                crops.removeAll(keepingCapacity: true)
                times.removeAll(keepingCapacity: true)
            }
            let start = Date()
            var count = 0
            for try await frame in reader.frames(fps: fps) {
                crops.append(clip.crop(frame.image))
                times.append(frame.offset.time)
                count += 1
                if times.count == batch { flush() }
            }
            flush()
            let secs = Date().timeIntervalSince(start)
            FileHandle.standardError.write(
                Data(
                    String(format: "%@: %d frames in %.1f s (%.1f frames/s)\n", path, count, secs, Double(count) / secs)
                        .utf8))
        }
        for h in hits.sorted(by: { $0.score > $1.score }).prefix(k) {
            print(String(format: "%.4f  %@  t=%.2fs", h.score, h.path, h.time))
        }
    }
}
