import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Store
import Tensor

/// `rstore bench search`: the latency of new text queries on a generated library, in a warm
/// `rstore serve` process (over HTTP) and as fresh CLI processes, with the decoded-frame tier's size and
/// fidelity. The library (videos and index) is cached under `--cache` by its parameters, so a
/// rerun skips generation and ingest.
struct BenchSearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Time never-asked text queries on a generated 720p library (server warm, CLI cold).")

    @OptionGroup var model: ModelOption
    @Option(help: "Videos in the generated library (each a different scene).") var videos = 6
    @Option(help: "Seconds per video (720p H.264, 25 fps, keyframe every 10 s).") var videoSeconds = 210
    @Option(help: "Queries timed in the warm process.") var queries = 20
    @Option(help: "Queries timed as fresh CLI processes.") var cliQueries = 5
    @Option(name: .short, help: "Moments per query.") var k = 10
    @Option(
        help: """
            x264 preset of the generated videos: veryfast (B-frames, CABAC, deblocking: how archives are \
            encoded) or ultrafast (none of them: the costliest to decode a frame of, 15-22 Mbit/s here).
            """)
    var preset = "veryfast"
    @Option(help: "Where the generated library is kept between runs.") var cache = ".build/bench-search"
    @Option(help: "Video-hours of the synthetic stage-1 matrix of `bench store` to time these queries on (0: skip).")
    var syntheticHours = 1000.0
    @Option(
        help: """
            Never-asked queries timed in this process on a fresh library object with the frame tier off, \
            alternating with as many with it on (stage 2 decodes the originals: the first query of a video \
            the tier does not hold); the CLI queries alternate too.
            """)
    var tierOffQueries = 3
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Encodable {
        var library_minutes = 0.0, queries = 0, preset = ""
        /// The generated files' mean bitrate: what a decoded frame costs follows it.
        var source_mbit_per_second = 0.0
        var server_first_query_p50_ms = 0.0, server_first_query_p95_ms = 0.0, cli_cold_p50_ms = 0.0
        var p_frames_per_query = 0.0, decoded_frames_per_query = 0.0, frame_cache_hits_per_query = 0.0
        var stage1_p50_ms = 0.0, stage2_p50_ms = 0.0
        var frame_cache_bytes_per_hour = 0.0, cache_vs_source_mean_cos = 0.0, cache_vs_source_min_cos = 0.0
        var window60_cold_ms = 0.0, window60_compute_bound_ms = 0.0
        var ingest_seconds: Double?
        /// Stage 1 (text encoding + matrix scan) over the synthetic matrix, and that plus each
        /// query's stage 2 as measured by the server (stage 2 touches only the k best candidates'
        /// frames, so it does not grow with the library).
        var synthetic_hours = 0.0, synthetic_stage1_p50_ms = 0.0, synthetic_stage1_plus_stage2_p50_ms = 0.0
        var synthetic_stage1_plus_stage2_p95_ms = 0.0
        /// First queries with the tier off next to the tier on (`--tier-off-queries`): in this
        /// process on a fresh library object each (no memory cache), and as fresh CLI processes.
        var tier_off_first_query_p50_ms = 0.0, tier_on_first_query_p50_ms = 0.0
        var tier_off_first_query_ms: [Double] = [], tier_on_first_query_ms: [Double] = []
        /// Tier off with `deblockTargetsOnly` on (frames on the way not deblocked), and with no
        /// decoding budget (`refineDecodeBudget` infinite: every candidate refined).
        var tier_off_deblock_skipped_first_query_p50_ms = 0.0, tier_off_deblock_skipped_first_query_ms: [Double] = []
        var tier_off_unbounded_first_query_p50_ms = 0.0, tier_off_unbounded_first_query_ms: [Double] = []
        /// Tier off, defaults: the share of moments refined (the rest past the decoding budget).
        var tier_off_refined_share = 0.0
        /// P-features decoded as stage 2 decodes beyond the tier (the deblocking of frames on the
        /// way skipped) against a full decode: 1.5 s windows every 23 s.
        var fast_vs_full_decode_mean_cos = 0.0, fast_vs_full_decode_min_cos = 0.0
        var tier_off_cli_cold_p50_ms = 0.0
        /// Tier off: frames the decoder output (seek keyframes and skipped-over frames included)
        /// per refined P-frame, and sampled frames decoded per query.
        var tier_off_decoder_frames_per_p_frame = 0.0, tier_off_sampled_frames_decoded_per_query = 0.0
        var tier_off_p_frames_per_query = 0.0
        var blas_core = BLASCore.summary
    }

    /// lavfi sources, one per video: visibly different content, all moving.
    static let scenes = [
        "testsrc2=size=1280x720:rate=25",
        "mandelbrot=size=320x180:rate=25,scale=1280x720",  // the fractal at 720p costs minutes a scene here
        "life=size=1280x720:rate=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00",
        "cellauto=size=1280x720:rate=25:rule=110",
        "smptehdbars=size=1280x720:rate=25,hue=H=0.3*t",
        "gradients=size=1280x720:rate=25:speed=0.02",
        "rgbtestsrc=size=1280x720:rate=25,rotate=a=0.2*t",
        "testsrc=size=1280x720:rate=25,negate",
    ]

    static let adjectives = [
        "red", "quiet", "crowded", "sunlit", "blurry", "distant", "striped", "wet", "tiny", "golden", "broken",
        "spinning",
    ]
    static let nouns = [
        "harbour", "kitchen", "bicycle", "mountain road", "classroom", "dog", "violin", "market", "train", "garden",
        "factory", "beach",
    ]

    func run() async throws {
        guard (1...Self.scenes.count).contains(videos), videoSeconds >= 60, queries >= 1, cliQueries >= 0 else {
            throw ValidationError("need 1...\(Self.scenes.count) videos of >= 60 s and >= 1 query")
        }
        guard ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"].contains(preset) else {
            throw ValidationError("--preset: one of ultrafast, superfast, veryfast, faster, fast, medium")
        }
        let log = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }
        let clip = try model.load()
        guard clip.tokenizer != nil else {
            throw ValidationError(
                "the model has no tokenizer: make one with `rstore model init-random DIR --arch B/32 --vocab VOCAB`")
        }
        let dir = URL(fileURLWithPath: cache).appendingPathComponent(
            "\(videos)x\(videoSeconds)s-720p25-g250\(preset == "ultrafast" ? "" : "-" + preset)-\(clip.weightsSHA256.prefix(12))"
        )
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var r = Result()
        log("OpenBLAS kernels: \(r.blas_core)")

        // 1. The library: generated and indexed once, with defaults.
        var files: [URL] = []
        for i in 0..<videos {
            let url = dir.appendingPathComponent("scene-\(i).mp4")
            files.append(url)
            if FileManager.default.fileExists(atPath: url.path) { continue }
            log("generating \(url.lastPathComponent) (\(videoSeconds) s of 720p)…")
            let tmp = dir.appendingPathComponent(".scene-\(i).tmp.mp4")
            try BenchStoreCommand.ffmpeg([
                "-f", "lavfi", "-i", Self.scenes[i], "-t", "\(videoSeconds)", "-c:v", "libx264", "-preset", preset,
                "-g", "250", "-keyint_min", "250", "-sc_threshold", "0", "-pix_fmt", "yuv420p", tmp.path,
            ])
            try FileManager.default.moveItem(at: tmp, to: url)
        }
        let storeURL = dir.appendingPathComponent("library.rstore")
        let indexed = dir.appendingPathComponent("indexed")
        if !FileManager.default.fileExists(atPath: indexed.path) {
            log("indexing \(videos) videos…")
            let lib = try Library(store: storeURL, model: clip)
            let t0 = Date()
            let summary = try await lib.index(files)
            guard summary.failed == 0 else {
                throw ValidationError("bench ingest failed: \(summary.files.compactMap(\.error))")
            }
            r.ingest_seconds = Date().timeIntervalSince(t0)
            try Data().write(to: indexed)
        }
        let lib = try Library(store: storeURL, model: clip)
        let ready = try lib.videos(status: .ready)
        r.library_minutes = ready.reduce(0) { $0 + $1.duration } / 60
        r.preset = preset
        let fileBytes = try files.reduce(0) {
            $0 + ((try FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0)
        }
        r.source_mbit_per_second = Double(fileBytes) * 8 / 1e6 / max(1, r.library_minutes * 60)
        let tier = try lib.frameTier?.file.stats()
        r.frame_cache_bytes_per_hour = Double(tier?.bytes ?? 0) / max(1e-9, r.library_minutes / 60)
        log(
            String(
                format:
                    "library: %d videos, %.1f min, %.1f Mbit/s (x264 %@); frame tier %.1f MB (%.2f MB per video-hour)",
                ready.count,
                r.library_minutes,
                r.source_mbit_per_second, preset, Double(tier?.bytes ?? 0) / 1e6, r.frame_cache_bytes_per_hour / 1e6))

        // 2. A warm `rstore serve` process over HTTP: one query to load the matrix, then never-asked queries.
        let nonce = UInt32.random(in: 0...UInt32.max)
        let texts = (0..<(queries + 3 * cliQueries + 4 * tierOffQueries + 1)).map { i in
            """
            a \(Self.adjectives[i % Self.adjectives.count]) \
            \(Self.nouns[(i / Self.adjectives.count + i) % Self.nouns.count]) \(nonce)-\(i)
            """
        }
        let exe = try SiblingExecutable("rstore").require()  // `rstore serve` and `rstore search`, beside rstore-bench
        let served = try ServedQueries.run(
            exe: exe, model: model.resolvedURL, store: storeURL, texts: Array(texts[0...queries]), k: k, log: log)
        var latencies: [Double] = []
        var s1: [Double] = []
        var s2: [Double] = []
        var pSum = 0
        var decodedSum = 0
        var hitSum = 0
        for q in served.dropFirst() {
            latencies.append(q.ms)
            s1.append(q.body.stage1_ms)
            s2.append(q.body.stage2_ms)
            pSum += q.body.p_frames
            decodedSum += q.body.decoded_frames
            hitSum += q.body.frame_cache_hits
        }
        r.queries = queries
        r.server_first_query_p50_ms = Self.percentile(latencies, 0.5)
        r.server_first_query_p95_ms = Self.percentile(latencies, 0.95)
        r.stage1_p50_ms = Self.percentile(s1, 0.5)
        r.stage2_p50_ms = Self.percentile(s2, 0.5)
        r.p_frames_per_query = Double(pSum) / Double(queries)
        r.decoded_frames_per_query = Double(decodedSum) / Double(queries)
        r.frame_cache_hits_per_query = Double(hitSum) / Double(queries)
        log(
            String(
                format:
                    """
                    warm `rstore serve` over HTTP: p50 %.0f ms, p95 %.0f ms (stage 1 p50 %.0f ms, stage 2 p50 %.0f \
                    ms); per query %.0f P-frames, %.0f decoded, %.0f tier hits
                    """,
                r.server_first_query_p50_ms, r.server_first_query_p95_ms, r.stage1_p50_ms, r.stage2_p50_ms,
                r.p_frames_per_query, r.decoded_frames_per_query, r.frame_cache_hits_per_query))

        // 3. Fresh CLI processes.
        var cli: [Double] = []
        var cliTierOff: [Double] = []
        let cliTexts = Array(texts[(queries + 1)...].prefix(2 * cliQueries))
        for (i, text) in cliTexts.enumerated() {
            // Alternating: tier on, then tier off (stage 2 from the originals).
            let tierOff = i % 2 == 1
            let p = Process()
            p.executableURL = exe
            p.arguments =
                [
                    "search", "--model", model.resolvedURL.path, "--store", storeURL.path, text, "-k", "\(k)", "--json",
                ] + (tierOff ? ["--frame-tier-mb", "0"] : [])
            p.standardOutput = FileHandle.nullDevice
            let t0 = Date()
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw ValidationError("`rstore search` failed (status \(p.terminationStatus))")
            }
            let ms = Date().timeIntervalSince(t0) * 1000
            if tierOff { cliTierOff.append(ms) } else { cli.append(ms) }
        }
        r.cli_cold_p50_ms = Self.percentile(cli, 0.5)
        r.tier_off_cli_cold_p50_ms = Self.percentile(cliTierOff, 0.5)
        log(
            String(
                format: "fresh CLI processes: p50 %.0f ms (%@); tier off: p50 %.0f ms (%@)", r.cli_cold_p50_ms,
                cli.map { String(format: "%.0f", $0) }.joined(separator: ", "), r.tier_off_cli_cold_p50_ms,
                cliTierOff.map { String(format: "%.0f", $0) }.joined(separator: ", ")))

        // 3b. First queries in this process, alternating: tier off (defaults), tier on, tier off
        // with the deblocking of frames on the way skipped, tier off with every candidate
        // refined (no decoding budget).
        if tierOffQueries > 0 {
            var offConfig = Library.Configuration()
            offConfig.frameTierBytes = 0
            var fastConfig = offConfig
            fastConfig.deblockTargetsOnly = true
            var unboundedConfig = offConfig
            unboundedConfig.refineDecodeBudget = .infinity
            let configs = [offConfig, .init(), fastConfig, unboundedConfig]
            var decoderFrames = 0
            var pFrames = 0
            var sampled = 0
            var refinedShare: [Double] = []
            for (i, text) in texts.suffix(configs.count * tierOffQueries).enumerated() {
                let mode = i % configs.count
                let lib = try Library(store: storeURL, model: clip, configuration: configs[mode])
                // The matrix and text encoder loaded, no stage 2 (nothing decoded, nothing cached).
                _ = try lib.searchReport("warm-up \(nonce)", k: 1, control: QueryControl(limits: .init(maxPFrames: 0)))
                let control = QueryControl()
                let before = control.usage
                let t0 = Date()
                let report = try lib.searchReport(text, k: k, control: control)
                let ms = Date().timeIntervalSince(t0) * 1000
                switch mode {
                case 0:
                    r.tier_off_first_query_ms.append(ms)
                    decoderFrames += control.usage.decodedFrames - before.decodedFrames
                    pFrames += report.pFrames
                    sampled += report.decodedFrames
                    refinedShare.append(
                        Double(report.moments.filter(\.refined).count) / Double(max(1, report.moments.count)))
                case 1: r.tier_on_first_query_ms.append(ms)
                case 2: r.tier_off_deblock_skipped_first_query_ms.append(ms)
                default: r.tier_off_unbounded_first_query_ms.append(ms)
                }
            }
            r.tier_off_first_query_p50_ms = Self.percentile(r.tier_off_first_query_ms, 0.5)
            r.tier_on_first_query_p50_ms = Self.percentile(r.tier_on_first_query_ms, 0.5)
            r.tier_off_deblock_skipped_first_query_p50_ms = Self.percentile(
                r.tier_off_deblock_skipped_first_query_ms, 0.5)
            r.tier_off_unbounded_first_query_p50_ms = Self.percentile(r.tier_off_unbounded_first_query_ms, 0.5)
            r.tier_off_refined_share = refinedShare.reduce(0, +) / Double(max(1, refinedShare.count))
            r.tier_off_decoder_frames_per_p_frame = Double(decoderFrames) / Double(max(1, pFrames))
            r.tier_off_sampled_frames_decoded_per_query = Double(sampled) / Double(tierOffQueries)
            r.tier_off_p_frames_per_query = Double(pFrames) / Double(tierOffQueries)
            let list = { (xs: [Double]) in xs.map { String(format: "%.0f", $0) }.joined(separator: ", ") }
            log(
                String(
                    format:
                        """
                        first query in process: tier off p50 %.0f ms (%@; %.0f%% of moments refined, the rest within \
                        the decoding budget), tier on p50 %.0f ms (%@), tier off skipping the deblocking on the way \
                        p50 %.0f ms (%@), tier off refining every candidate p50 %.0f ms (%@); tier off: %.1f \
                        P-frames, %.1f sampled frames decoded per query, %.2f decoder frames per P-frame
                        """,
                    r.tier_off_first_query_p50_ms, list(r.tier_off_first_query_ms), r.tier_off_refined_share * 100,
                    r.tier_on_first_query_p50_ms, list(r.tier_on_first_query_ms),
                    r.tier_off_deblock_skipped_first_query_p50_ms, list(r.tier_off_deblock_skipped_first_query_ms),
                    r.tier_off_unbounded_first_query_p50_ms, list(r.tier_off_unbounded_first_query_ms),
                    r.tier_off_p_frames_per_query, r.tier_off_sampled_frames_decoded_per_query,
                    r.tier_off_decoder_frames_per_p_frame))
        }

        // 4. Fidelity: P-features from the tier vs from decoding the originals (60 s of each video).
        var plainConfig = Library.Configuration()
        plainConfig.frameTierBytes = 0
        plainConfig.deblockTargetsOnly = false
        let plain = try Library(store: storeURL, model: clip, configuration: plainConfig)
        var cosines: [Float] = []
        var fromTier = 0
        for v in ready {
            // A first read refills whatever the tier lacks (e.g. after a recipe change), so the
            // comparison is always tier vs source, never source vs source.
            _ = try Library(store: storeURL, model: clip).embeddings(v, from: 0, to: 60)
            let control = QueryControl()
            let a = try Library(store: storeURL, model: clip).embeddings(v, from: 0, to: 60, control: control)
            fromTier += control.frameSources.tierHits
            let b = try plain.embeddings(v, from: 0, to: 60)
            for (x, y) in zip(a, b) where x.kind == .p { cosines.append(VectorMath.cosine(x.vector, y.vector)) }
        }
        r.cache_vs_source_mean_cos = Double(cosines.reduce(0, +) / Float(max(1, cosines.count)))
        r.cache_vs_source_min_cos = Double(cosines.min() ?? 0)
        log(
            String(
                format: "tier vs source over %d P-frames (%d read from the tier): mean cos %.4f, min %.4f",
                cosines.count, fromTier,
                r.cache_vs_source_mean_cos, r.cache_vs_source_min_cos))

        // 4b. Stage 2's decode beyond the tier (deblocking skipped on the way to the wanted
        // frames) vs a full decode: sparse windows, so the way from the keyframe is long.
        var skipConfig = plainConfig
        skipConfig.deblockTargetsOnly = true
        let fast = try Library(store: storeURL, model: clip, configuration: skipConfig)
        var drift: [Float] = []
        for v in ready {
            for t in stride(from: 7.0, to: v.duration - 2, by: 23) {
                let a = try fast.embeddings(v, from: t, to: t + 1.5)
                let b = try plain.embeddings(v, from: t, to: t + 1.5)
                for (x, y) in zip(a, b) where x.kind == .p { drift.append(VectorMath.cosine(x.vector, y.vector)) }
            }
        }
        r.fast_vs_full_decode_mean_cos = Double(drift.reduce(0, +) / Float(max(1, drift.count)))
        r.fast_vs_full_decode_min_cos = Double(drift.min() ?? 0)
        log(
            String(
                format:
                    """
                    source decoded as stage 2 does (deblocking skipped on the way) vs in full, %d P-frames: mean cos \
                    %.4f, min %.4f
                    """,
                drift.count, r.fast_vs_full_decode_mean_cos, r.fast_vs_full_decode_min_cos))

        // 5. A cold 60 s window (fresh process state, tier filled) vs its compute lower bound.
        let v = ready[ready.count / 2]
        let fresh = try Library(store: storeURL, model: clip)
        var t0 = Date()
        let frames = try fresh.embeddings(v, from: 0, to: 60)
        r.window60_cold_ms = Date().timeIntervalSince(t0) * 1000
        let pCount = frames.filter { $0.kind == .p }.count
        let enc = try fresh.reconstructor(for: v).encoder
        let stride = clip.config.imageFloats
        let pixels = [Float](repeating: 0.1, count: pCount * stride)
        let anchor = [Float](repeating: 0.05, count: clip.config.embedDim)
        let keep = Array(0..<enc.reduction.keepCount(patches: clip.config.patchCount))
        r.window60_compute_bound_ms = pixels.withUnsafeBufferPointer { px in
            let pf = (0..<pCount).map {
                ResidualEncoder.PFrame(
                    index: $0 + 1, pixels: px.baseAddress! + $0 * stride, anchorPixels: nil,
                    anchorFeature: anchor[...], keep: keep)
            }
            _ = enc.encodePFrames(pf)
            t0 = Date()
            _ = enc.encodePFrames(pf)
            return Date().timeIntervalSince(t0) * 1000
        }
        log(
            String(
                format: "60 s window (%d frames, %d P): cold %.0f ms, compute bound %.0f ms (%.2fx)", frames.count,
                pCount,
                r.window60_cold_ms, r.window60_compute_bound_ms,
                r.window60_cold_ms / max(1e-9, r.window60_compute_bound_ms)))

        // 6. The same queries' stage 1 over the synthetic matrix of `bench store`, plus their stage 2.
        if syntheticHours > 0 {
            var rng = SplitMix(seed: 3)
            let (matrix, shape) = BenchStoreCommand.syntheticMatrix(
                hours: syntheticHours, dim: clip.config.embedDim, rng: &rng)
            var stage1: [Double] = []
            var total: [Double] = []
            for (text, stage2) in zip(texts[1...queries], s2) {
                let t = Date()
                let e = try clip.encodeTexts([text]).embeddings
                let norm = max(1e-12, e.reduce(0) { $0 + $1 * $1 }.squareRoot())
                _ = MomentSearch().coarse(matrix: matrix, query: e.map { $0 / norm }, shape: shape)
                let ms = Date().timeIntervalSince(t) * 1000
                stage1.append(ms)
                total.append(ms + stage2)
            }
            r.synthetic_hours = syntheticHours
            r.synthetic_stage1_p50_ms = Self.percentile(stage1, 0.5)
            r.synthetic_stage1_plus_stage2_p50_ms = Self.percentile(total, 0.5)
            r.synthetic_stage1_plus_stage2_p95_ms = Self.percentile(total, 0.95)
            log(
                String(
                    format:
                        """
                        synthetic %.0f video-hours (%d I-features): stage 1 p50 %.0f ms; stage 1 + stage 2 p50 %.0f \
                        ms, p95 %.0f ms
                        """,
                    syntheticHours, matrix.rows.count, r.synthetic_stage1_p50_ms, r.synthetic_stage1_plus_stage2_p50_ms,
                    r.synthetic_stage1_plus_stage2_p95_ms))
        }
        if json { try printJSON(r) }
    }

    static func percentile(_ xs: [Double], _ q: Double) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        return s[min(s.count - 1, Int((Double(s.count - 1) * q).rounded()))]
    }
}
