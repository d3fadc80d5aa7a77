import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Timeline
import Video

/// `rstore bench cuts`: how well shot cuts are found from sampled frames, on a generated edited
/// video with known cut times, and how many false cuts a video without any produces.
struct BenchCutsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuts", abstract: "Precision and recall of shot-cut detection on a generated edited video.")

    @Option(help: "Seconds of edited video (clips of 2-7 s).") var seconds = 300.0
    @Option(help: "Seed of the clip sequence.") var seed: UInt64 = 1
    @Option(help: "Sampling rate, frames per second.") var fps = 2.0
    @Option(help: "Where generated videos are kept between runs.") var cache = ".build/bench-cuts"
    @OptionGroup var model: ModelOption
    @Option(
        help:
            """
            A trained residual tokenizer A (safetensors): also measure the P-features' cosine to full CLIP after each \
            cut, fixed vs adaptive I-frames, with this A and with A = 0 (N = 2, p = 0.85).
            """
    )
    var tokenizer: String?
    @Option(help: "Patch selection of the fidelity rows (with --tokenizer).") var strategy = ReductionStrategy.motion
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Encodable {
        var seconds = 0.0, fps = 0.0, cuts = 0, detected = 0, matched = 0
        var precision = 0.0, recall = 0.0
        /// Detections no true cut explains, and cuts no detection found (seconds): what to look at.
        var false_cut_times: [Double] = [], missed_cut_times: [Double] = []
        /// Mean distance at true cuts and within shots: the margin the thresholds work in.
        var mean_distance_at_cuts = 0.0, mean_distance_within_shots = 0.0
        var uncut_seconds = 0.0, false_cuts_per_hour_uncut = 0.0
        var extra_iframes_per_hour = 0.0
        var detector_us_per_frame = 0.0
        /// With --tokenizer: mean cosine of the P-frames within N after a cut to full CLIP, per
        /// A and placement, and the gain adaptive placement brings with the trained A.
        var after_cuts_fixed_a0: Double?, after_cuts_adaptive_a0: Double?
        var after_cuts_fixed_trained: Double?, after_cuts_adaptive_trained: Double?
        var after_cut_gain_trained: Double?, after_cut_gain_a0: Double?
        var all_p_fixed_trained: Double?, all_p_adaptive_trained: Double?
    }

    func run() async throws {
        guard seconds >= 10, fps > 0, fps <= 30 else { throw ValidationError("need >= 10 s and fps in (0, 30]") }
        let dir = URL(fileURLWithPath: cache)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let edited = EditedVideo(seconds: seconds, seed: seed)
        let uncut = EditedVideo(uncut: [1, 2, 3, 6], secondsEach: 30)
        let editedURL = dir.appendingPathComponent("edited-\(Int(seconds))s-seed\(seed).mp4")
        let uncutURL = dir.appendingPathComponent("uncut-4x30s.mp4")
        for (video, url) in [(edited, editedURL), (uncut, uncutURL)]
        where !FileManager.default.fileExists(atPath: url.path) {
            FileHandle.standardError.write(Data("generating \(url.lastPathComponent)…\n".utf8))
            let tmp = url.deletingLastPathComponent().appendingPathComponent(".tmp-" + url.lastPathComponent)
            try video.write(to: tmp)
            try FileManager.default.moveItem(at: tmp, to: url)
        }

        var r = Result()
        r.seconds = edited.duration
        r.fps = fps
        let run = try await Self.detect(url: editedURL, fps: fps)
        let cuts = edited.cuts
        r.cuts = cuts.count
        r.detected = run.cuts.count
        let (match, usedDetections, usedCuts) = Self.pairs(detected: run.cuts, truth: cuts, tolerance: 1 / fps)
        r.matched = match
        r.false_cut_times = run.cuts.indices.filter { !usedDetections.contains($0) }.map { run.cuts[$0] }
        r.missed_cut_times = cuts.indices.filter { !usedCuts.contains($0) }.map { cuts[$0] }
        r.precision = run.cuts.isEmpty ? 1 : Double(match) / Double(run.cuts.count)
        r.recall = cuts.isEmpty ? 1 : Double(match) / Double(cuts.count)
        // A sampled frame at time t compares with the one before it: it straddles a cut c when t - 1/fps < c <= t.
        var atCut: [Double] = []
        var within: [Double] = []
        for (t, d) in run.distances {
            if cuts.contains(where: { $0 > t - 1 / fps && $0 <= t }) { atCut.append(d) } else { within.append(d) }
        }
        r.mean_distance_at_cuts = atCut.isEmpty ? 0 : atCut.reduce(0, +) / Double(atCut.count)
        r.mean_distance_within_shots = within.isEmpty ? 0 : within.reduce(0, +) / Double(within.count)
        r.extra_iframes_per_hour = Double(run.cuts.count) / edited.duration * 3600
        r.detector_us_per_frame = run.detectorSeconds / Double(max(1, run.frames)) * 1e6

        let control = try await Self.detect(url: uncutURL, fps: fps)
        r.uncut_seconds = uncut.duration
        // The three joins between the control's scenes are cuts too: only detections away from them are false.
        let falseCuts =
            control.cuts.count - Self.pairs(detected: control.cuts, truth: uncut.cuts, tolerance: 1 / fps).matched
        r.false_cuts_per_hour_uncut = Double(falseCuts) / uncut.duration * 3600

        if let tokenizer { try await afterCutFidelity(editedURL, tokenizer: tokenizer, into: &r) }

        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
        } else {
            print(String(format: "edited video: %.0f s, %d cuts, sampled at %.1f fps", r.seconds, r.cuts, fps))
            print(
                String(
                    format: "detected %d, matched %d: precision %.3f, recall %.3f", r.detected, r.matched, r.precision,
                    r.recall))
            if !r.false_cut_times.isEmpty { print("false cuts at (s): \(r.false_cut_times)") }
            if !r.missed_cut_times.isEmpty { print("missed cuts at (s): \(r.missed_cut_times)") }
            print(
                String(
                    format: "distance at cuts %.3f, within shots %.3f", r.mean_distance_at_cuts,
                    r.mean_distance_within_shots))
            print(
                String(
                    format: "uncut control (%.0f s, fast-changing scenes): %.1f false cuts per hour", r.uncut_seconds,
                    r.false_cuts_per_hour_uncut))
            print(
                String(
                    format: "extra I-frames: %.0f per hour of edited video; detector %.0f µs a frame",
                    r.extra_iframes_per_hour, r.detector_us_per_frame))
            if let f0 = r.after_cuts_fixed_a0, let a0 = r.after_cuts_adaptive_a0, let ft = r.after_cuts_fixed_trained,
                let at = r.after_cuts_adaptive_trained
            {
                print(
                    String(
                        format:
                            """
                            P-frames after cuts, cos to full CLIP (%@): A = 0 fixed %.4f adaptive %.4f; trained A \
                            fixed %.4f adaptive %.4f: gain %+.4f
                            """,
                        strategy.rawValue, f0, a0, ft, at, at - ft))
            }
        }
    }

    /// Fidelity after cuts on the edited video through the evaluation the library's `eval
    /// fidelity` runs: the same decoding, detector, layouts and stored-anchor rounding.
    func afterCutFidelity(_ url: URL, tokenizer path: String, into r: inout Result) async throws {
        let clip = try model.load()
        let a = try ResidualTokenizer(contentsOf: URL(fileURLWithPath: path), for: clip)
        var settings: [FidelityEvaluation.Setting] = []
        for (name, t) in [("A=0", ResidualTokenizer.zero(for: clip)), (path, a)] {
            for placement in [IFramePlacement.fixed, .adaptive] {
                settings.append(
                    .init(n: 2, p: 0.85, strategy: strategy, tokenizerName: name, tokenizer: t, iframes: placement))
            }
        }
        let eval = try FidelityEvaluation(model: clip, fps: fps, maxFrames: Int(seconds * fps) + 16)
        let rows = try await eval.run(videos: [url], settings: settings).dropFirst().map { $0 }  // the full-CLIP row first
        r.after_cuts_fixed_a0 = rows[0].mean_cosine_after_cuts
        r.after_cuts_adaptive_a0 = rows[1].mean_cosine_after_cuts
        r.after_cuts_fixed_trained = rows[2].mean_cosine_after_cuts
        r.after_cuts_adaptive_trained = rows[3].mean_cosine_after_cuts
        r.all_p_fixed_trained = rows[2].mean_cosine
        r.all_p_adaptive_trained = rows[3].mean_cosine
        if let f = r.after_cuts_fixed_trained, let ad = r.after_cuts_adaptive_trained {
            r.after_cut_gain_trained = ad - f
        }
        if let f = r.after_cuts_fixed_a0, let ad = r.after_cuts_adaptive_a0 { r.after_cut_gain_a0 = ad - f }
    }

    struct Run {
        var cuts: [Double] = []
        var distances: [(time: Double, distance: Double)] = []
        var frames = 0
        var detectorSeconds = 0.0
    }

    /// Decodes like ingest (sampled frames, 224 x 224 centre crop) and runs the detector.
    static func detect(url: URL, fps: Double) async throws -> Run {
        let reader = try VideoReader(url: url)
        var detector = ShotCutDetector()
        var run = Run()
        var times: [Double] = []
        var decisions: [Bool] = []
        for try await frame in reader.frames(fps: fps) {
            let crop = CLIPPreprocessor.resizeAndCrop(frame.image, size: 224)
            let t0 = DispatchTime.now().uptimeNanoseconds
            decisions += detector.push(crop)
            run.detectorSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            times.append(frame.offset.time)
        }
        decisions += detector.finish()
        run.frames = times.count
        for (k, t) in times.enumerated() {
            if let d = detector.distances[k] { run.distances.append((t, d)) }
            if decisions[k] { run.cuts.append(t) }
        }
        return run
    }

    /// Detections within `tolerance` of a true cut, each cut matched at most once (the nearest).
    static func pairs(detected: [Double], truth: [Double], tolerance: Double) -> (
        matched: Int, detections: Set<Int>, cuts: Set<Int>
    ) {
        var cuts = Set<Int>()
        var detections = Set<Int>()
        for (i, t) in detected.enumerated() {
            if let j = truth.indices.filter({ !cuts.contains($0) && abs(truth[$0] - t) <= tolerance + 1e-9 })
                .min(by: { abs(truth[$0] - t) < abs(truth[$1] - t) })
            {
                cuts.insert(j)
                detections.insert(i)
            }
        }
        return (cuts.count, detections, cuts)
    }
}
