import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Store

/// `rstore eval grounding --annotations FILE --videos DIR`: the paper's zero-shot grounding
/// protocol, full CLIP and ResidualViT settings in one run.
struct EvalGroundingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grounding",
        abstract: "Zero-shot temporal grounding (R@1, R@5 at IoU 0.3/0.5/0.7, mIoU) for full CLIP and ResidualViT.",
        discussion: """
            Annotations: Charades-STA lines (`VIDEO START END##SENTENCE`) or JSON Lines \
            ({"video", "start", "end", "text"}). VIDEO is looked up in --videos as given or with a \
            video extension (e.g. AO8RW.mp4); videos not found are listed and skipped. Per query: \
            cosine of every sampled frame with the sentence, moving average over --window frames, \
            runs above --threshold-shift x the curve's mean as proposals ranked by peak, the whole \
            video last; the ground truth is clamped to the video's duration and a proposal counts \
            when its IoU is strictly above 0.3/0.5/0.7. --preset charades-sta (3 fps, shift 1.0) and \
            activitynet (1 fps, shift 0.95) are the authors' settings; any value given overrides \
            the preset's. Without a preset: 2 fps (the library's), window 15, shift 1.0.
            """)

    @OptionGroup var model: ModelOption
    @Option(help: "Annotations file (Charades-STA format or JSON Lines).") var annotations: String
    @Option(help: "Folder holding the videos.") var videos: String
    @Option(help: "P-frames per I-frame, comma-separated.") var n = "2"
    @Option(help: "Token drop ratios, comma-separated, each in [0, 1).") var p = "0.85"
    @Option(help: "Strategies, comma-separated, or all.") var strategy = "all"
    @Option(help: "A trained residual tokenizer A (safetensors); rows with A = 0 are always included.") var tokenizer:
        String?
    @Option(help: "Scoring preset: charades-sta (3 fps, shift 1.0) or activitynet (1 fps, shift 0.95).") var preset:
        String?
    @Option(help: "Sampling rate in frames per second (default: the preset's, else 2).") var fps: Double?
    @Option(help: "Moving-average window in sampled frames (default: the preset's, else 15).") var window: Int?
    @Option(
        name: .customLong("threshold-shift"),
        help: "Proposals are runs above this x the smoothed curve's mean (default: the preset's, else 1.0).")
    var thresholdShift: Float?
    @Option(help: "Feature codec the anchors go through: f16+lz4, i8+lz4, f32+lz4.") var codec = FeatureCodec.f16
    @Option(name: .customLong("max-frames"), help: "Videos with more sampled frames are skipped (memory: 150 KB each).")
    var maxFrames = 7200
    @Option(help: "Frames per forward pass.") var batch = 64
    @Flag(help: "One JSON object per row.") var json = false

    /// The preset (or the library's settings) with the values given on the command line.
    func scoring() throws -> GroundingProtocol {
        var base = GroundingProtocol.library
        if let preset {
            guard let p = GroundingProtocol.preset(named: preset) else {
                throw ValidationError(
                    """
                    --preset: unknown \"\(preset)\"; valid: \
                    \(GroundingProtocol.presets.map(\.name).joined(separator: ", "))
                    """
                )
            }
            base = p
        }
        let s = base.overriding(fps: fps, window: window, thresholdShift: thresholdShift)
        if let problem = s.problem { throw ValidationError(problem) }
        return s
    }

    func validate() throws { _ = try scoring() }

    func run() async throws {
        let scoring = try scoring()
        let clip = try model.load()
        let settings = try FidelitySettings(n: n, p: p, strategy: strategy, tokenizer: tokenizer).settings(for: clip)
        let list = try GroundingAnnotations.load(URL(fileURLWithPath: annotations))
        let eval = try GroundingEvaluation(
            model: clip, scoring: scoring, codec: codec, maxFrames: maxFrames, batch: batch)
        let bar = ProgressBar()
        var frames = 0
        let report = try await eval.run(
            annotations: list, videos: URL(fileURLWithPath: videos), settings: settings,
            annotationsPath: annotations
        ) { event in
            switch event {
            case .video(let done, let of, let name, let count):
                frames += count
                bar.update(file: done, of: of, name: name, done: done, total: of, framesSoFar: frames)
            case .skipped(let name, let reason):
                bar.log("skipped \(name): \(reason)")
            }
        }
        bar.finish()
        if !report.missing.isEmpty {
            bar.log(
                """
                \(report.missing.count) video(s) not found in \(videos): \
                \(report.missing.prefix(20).joined(separator: ", "))
                """
                    + (report.missing.count > 20 ? ", ..." : ""))
        }
        for f in report.failed { bar.log("not evaluated: \(f.video): \(f.reason)") }
        if json { return try printJSONLines(report.rows) }
        print(
            "\(clip.config.archName), \(report.rows[0].videos) videos, \(report.rows[0].queries) of \(report.annotations) queries; "
                + "protocol \(scoring.name): fps \(scoring.fps), window \(scoring.window), threshold \(scoring.thresholdShift) x mean, "
                + "IoU strictly above; anchors as \(codec.rawValue)")
        print(
            """
            setting      strategy  N  p     A                 R1@0.3  R1@0.5  R1@0.7  R5@0.3  R5@0.5  R5@0.7   mIoU  \
            GFLOPs/frame
            """
        )
        for r in report.rows {
            let cells =
                [
                    pad(r.setting, 11), pad(r.strategy, 8), pad(r.n == 0 ? "-" : String(r.n), 1),
                    pad(r.strategy == "full" ? "-" : String(format: "%.2f", r.p), 4),
                    pad(String((r.tokenizer as NSString).lastPathComponent.suffix(16)), 16),
                ]
                + [r.r1_iou03, r.r1_iou05, r.r1_iou07, r.r5_iou03, r.r5_iou05, r.r5_iou07, r.miou].map {
                    pad(String(format: "%.2f", $0), 6, right: true)
                }
                + [pad(String(format: "%.3f", r.gflops_per_frame), 12, right: true)]
            print(cells.joined(separator: "  "))
        }
    }
}
