import CLIP
import Foundation
import Store
import Tensor
import Video

/// The paper's zero-shot grounding protocol over a dataset: for every annotation, the cosine of
/// each sampled frame's feature with the sentence's text embedding, the moving-average /
/// shifted-mean-threshold proposals of `Grounding` (settings from `GroundingProtocol`), the
/// ground truth clamped to the video's duration, and R@{1,5} at IoU {0.3, 0.5, 0.7} (strict)
/// plus mIoU.
/// Full CLIP and every ResidualViT setting run over the same decoded frames in one pass;
/// ResidualViT's features are the library's (stored, rounded anchors; P-frames encoded).
public struct GroundingEvaluation: Sendable {
    public struct Row: Sendable, Codable, Equatable {
        public var setting: String
        public var strategy: String
        public var n: Int
        public var p: Double
        public var tokenizer: String
        public var queries: Int
        public var videos: Int
        public var r1_iou03: Double, r1_iou05: Double, r1_iou07: Double
        public var r5_iou03: Double, r5_iou05: Double, r5_iou07: Double
        public var miou: Double
        /// 2 x MAC, averaged over the interleaved I- and P-frames.
        public var gflops_per_frame: Double
        /// The scoring protocol's name and values (`GroundingProtocol`).
        public var preset: String
        public var fps: Double
        public var window: Int
        public var threshold_shift: Double
    }

    public struct Report: Sendable {
        public var rows: [Row]
        /// Annotated videos with no file in the videos folder.
        public var missing: [String]
        /// Videos found but not evaluated, with the reason.
        public var failed: [(video: String, reason: String)]
        public var annotations: Int
    }

    public enum Event: Sendable {
        case video(done: Int, of: Int, name: String, frames: Int)
        case skipped(name: String, reason: String)
    }

    public let model: CLIPModel
    /// Sampling rate, smoothing window and threshold shift (a dataset preset or custom).
    public let scoring: GroundingProtocol
    public var fps: Double { scoring.fps }
    public let codec: FeatureCodec
    public let maxFrames: Int
    public let batch: Int

    public init(
        model: CLIPModel, scoring: GroundingProtocol = .library, codec: FeatureCodec = .f16, maxFrames: Int = 7200,
        batch: Int = 64
    ) throws {
        guard model.text != nil else { throw CLIPError.noTextTower(model.directory.path) }
        if let problem = scoring.problem { throw ResidualError.badParameter(problem) }
        guard maxFrames >= 1, batch >= 1 else { throw ResidualError.badParameter("max frames and batch must be >= 1") }
        self.model = model
        self.scoring = scoring
        self.codec = codec
        self.maxFrames = maxFrames
        self.batch = batch
    }

    /// The file of an annotated video inside `folder`: the name as given, else with one of the
    /// library's video extensions. Names that leave the folder are not looked up.
    public static func resolve(_ video: String, in folder: URL) -> URL? {
        let root = folder.standardizedFileURL.resolvingSymlinksInPath()
        var candidates = [root.appendingPathComponent(video)]
        candidates += Library.videoExtensions.sorted().map { root.appendingPathComponent("\(video).\($0)") }
        for c in candidates {
            let real = c.standardizedFileURL.resolvingSymlinksInPath()
            guard real.path.hasPrefix(root.path + "/") else { continue }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: real.path, isDirectory: &isDir), !isDir.boolValue { return real }
        }
        return nil
    }

    /// Runs full CLIP (first row) and every setting over the annotated videos found in `folder`.
    public func run(
        annotations: [GroundingAnnotation], videos folder: URL, settings: [FidelityEvaluation.Setting],
        annotationsPath: String = "annotations", progress: (Event) -> Void = { _ in }
    ) async throws -> Report {
        let encoders = try settings.map {
            try ResidualEncoder(
                model: model, tokenizer: $0.tokenizer, n: $0.n,
                reduction: TokenReduction(p: $0.p, strategy: $0.strategy))
        }
        var order: [String] = []
        var byVideo: [String: [GroundingAnnotation]] = [:]
        for a in annotations {
            if byVideo[a.video] == nil { order.append(a.video) }
            byVideo[a.video, default: []].append(a)
        }
        var metrics = [GroundingMetrics](repeating: GroundingMetrics(), count: settings.count + 1)
        var missing: [String] = []
        var failed: [(video: String, reason: String)] = []
        var evaluated = 0
        for (i, name) in order.enumerated() {
            guard let url = Self.resolve(name, in: folder) else {
                missing.append(name)
                progress(.skipped(name: name, reason: "not found"))
                continue
            }
            let clip: EvalClip
            do {
                clip = try await EvalClip.load(url, model: model, fps: fps, limit: .refuse(maxFrames), batch: batch)
            } catch {
                failed.append((name, "\(error)"))
                progress(.skipped(name: name, reason: "\(error)"))
                continue
            }
            let queries = byVideo[name]!
            let texts = try unitTexts(queries.map(\.text))
            let b = model.config.embedDim
            var featureSets = [clip.reference]
            for e in encoders { featureSets.append(try clip.dense(e, codec: codec, batch: batch).features) }
            for (s, features) in featureSets.enumerated() {
                for (q, a) in queries.enumerated() {
                    let text = Array(texts[q * b..<(q + 1) * b])
                    let curve = (0..<clip.crops.count).map { VectorMath.cosine(features[$0 * b..<($0 + 1) * b], text) }
                    let spans = scoring.rankedSpans(curve: curve, times: clip.times, duration: clip.duration)
                    metrics[s].add(
                        ranked: spans, truth: GroundingProtocol.clamped((a.start, a.end), duration: clip.duration))
                }
            }
            evaluated += 1
            progress(.video(done: i + 1, of: order.count, name: name, frames: clip.crops.count))
        }
        guard evaluated > 0 else { throw EvalError.noVideos(annotations: annotationsPath, videos: folder.path) }
        let full = row(
            setting: "full CLIP", strategy: "full", n: 0, p: 0, tokenizer: "-", metrics[0], videos: evaluated,
            gflops: model.vision.flops() / 1e9)
        let rest = settings.indices.map { s in
            row(
                setting: "ResidualViT", strategy: settings[s].strategy.rawValue, n: settings[s].n, p: settings[s].p,
                tokenizer: settings[s].tokenizerName, metrics[s + 1], videos: evaluated,
                gflops: encoders[s].flopsAverage / 1e9)
        }
        return Report(rows: [full] + rest, missing: missing, failed: failed, annotations: annotations.count)
    }

    /// Unit-length text embeddings [count, embedDim], 256 sentences per pass.
    private func unitTexts(_ texts: [String]) throws -> [Float] {
        var out: [Float] = []
        for start in stride(from: 0, to: texts.count, by: 256) {
            out += try model.encodeTexts(Array(texts[start..<min(texts.count, start + 256)])).embeddings
        }
        VectorMath.normalizeRows(&out, dim: model.config.embedDim)
        return out
    }

    private func row(
        setting: String, strategy: String, n: Int, p: Double, tokenizer: String, _ m: GroundingMetrics,
        videos: Int, gflops: Double
    ) -> Row {
        Row(
            setting: setting, strategy: strategy, n: n, p: p, tokenizer: tokenizer, queries: m.queries, videos: videos,
            r1_iou03: m.recall(at: 1, 0), r1_iou05: m.recall(at: 1, 1), r1_iou07: m.recall(at: 1, 2),
            r5_iou03: m.recall(at: 5, 0), r5_iou05: m.recall(at: 5, 1), r5_iou07: m.recall(at: 5, 2),
            miou: m.mIoU, gflops_per_frame: gflops, preset: scoring.name, fps: scoring.fps, window: scoring.window,
            threshold_shift: Double(scoring.thresholdShift))
    }
}
