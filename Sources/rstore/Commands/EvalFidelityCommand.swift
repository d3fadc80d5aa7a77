import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Store
import Video

/// `rstore eval fidelity VIDEO...`: mean and min cosine of P-features to full CLIP, GFLOPs and
/// measured ms per frame, for each strategy (and N, p), with A = 0 and with a trained A.
struct EvalFidelityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity",
        abstract: "Cosine of ResidualViT P-features to full-CLIP features of the same frames, GFLOPs and ms per frame.",
        discussion: """
            Each video is decoded once; full CLIP encodes every sampled frame (the reference). Each \
            setting encodes the P-frames as the library reconstructs them: the kept patches plus \
            A(anchor I-feature rounded by --codec, as the store returns it). GFLOPs count 2 x MAC \
            and are averaged over I- and P-frames; ms are measured (encode only).
            """)

    @OptionGroup var model: ModelOption
    @Argument(help: "Video files.") var videos: [String]
    @Option(help: "P-frames per I-frame, comma-separated.") var n = "2"
    @Option(help: "Token drop ratios, comma-separated, each in [0, 1).") var p = "0.85"
    @Option(help: "Strategies, comma-separated, or all.") var strategy = "all"
    @Option(help: "A trained residual tokenizer A (safetensors); rows with A = 0 are always included.") var tokenizer:
        String?
    @Option(help: "I-frame placements, comma-separated: fixed, adaptive (I-frames also at shot cuts).") var iframes =
        "fixed"
    @Option(help: "Sampling rate in frames per second.") var fps = 2.0
    @Option(help: "Feature codec the anchors go through: f16+lz4, i8+lz4, f32+lz4.") var codec = FeatureCodec.f16
    @Option(name: .customLong("max-frames"), help: "Sampled frames per video at most (memory: 150 KB each).")
    var maxFrames = 600
    @Option(help: "Frames per forward pass.") var batch = 64
    @Option(help: "Seed of the random strategy.") var seed: UInt64 = 0
    @Option(
        name: .customLong("motion-source"),
        help:
            """
            The motion strategy's signal: vectors (codec motion vectors where the codec has them, as the library) or \
            pixels (pixel difference, for comparison).
            """
    )
    var motionSource = MotionSource.vectors.rawValue
    @Flag(help: "One JSON object per row.") var json = false

    func run() async throws {
        let clip = try model.load()
        guard let source = MotionSource(rawValue: motionSource) else {
            throw ValidationError("--motion-source must be vectors or pixels")
        }
        let settings = try FidelitySettings(n: n, p: p, strategy: strategy, tokenizer: tokenizer, iframes: iframes)
            .settings(for: clip)
            .map {
                var s = $0
                s.motionSource = source
                return s
            }
        let eval = try FidelityEvaluation(
            model: clip, fps: fps, codec: codec, maxFrames: maxFrames, batch: batch, seed: seed)
        let bar = ProgressBar()
        var decoded = 0
        let rows = try await eval.run(videos: videos.map { URL(fileURLWithPath: $0) }, settings: settings) { event in
            switch event {
            case .decoded(let v, let of, let path, let frames):
                decoded += frames
                bar.log("\(path): \(frames) frames at \(fps) fps (video \(v)/\(of))")
            case .setting(let v, let done, let of):
                bar.update(file: v, of: videos.count, name: "settings", done: done, total: of, framesSoFar: decoded)
            }
        }
        bar.finish()
        if json { return try printJSONLines(rows) }
        print(
            """
            \(clip.config.archName), \(videos.count) video(s), \(rows[0].frames) frames; anchors as \
            \(codec.rawValue); GFLOPs = 2 x MAC
            """
        )
        print(
            """
            \(rows[0].cuts) shot cut(s) detected; \"after cuts\" = the frames within N after each (I-frames at their \
            stored feature)
            """
        )
        print(
            """
            strategy  motion          N  p     A                 iframes   P-frames  mean cos  min cos  after cuts  \
            extra I/h  GFLOPs/frame  ms/frame  ms/P-frame
            """
        )
        for r in rows {
            let cells = [
                pad(r.strategy, 8), pad(r.motion_source ?? "-", 14), pad(r.n == 0 ? "-" : String(r.n), 1),
                pad(r.strategy == "full" ? "-" : String(format: "%.2f", r.p), 4),
                pad(String((r.tokenizer as NSString).lastPathComponent.suffix(16)), 16), pad(r.iframes, 8),
                pad(String(r.p_frames), 8, right: true),
                pad(r.mean_cosine.map { String(format: "%.4f", $0) } ?? "-", 8, right: true),
                pad(r.min_cosine.map { String(format: "%.4f", $0) } ?? "-", 7, right: true),
                pad(r.mean_cosine_after_cuts.map { String(format: "%.4f", $0) } ?? "-", 10, right: true),
                pad(String(format: "%.0f", r.extra_iframes_per_hour), 9, right: true),
                pad(String(format: "%.3f", r.gflops_per_frame), 12, right: true),
                pad(String(format: "%.2f", r.ms_per_frame), 8, right: true),
                pad(r.ms_p_frame.map { String(format: "%.3f", $0) } ?? "-", 10, right: true),
            ]
            print(cells.joined(separator: "  "))
        }
    }
}
