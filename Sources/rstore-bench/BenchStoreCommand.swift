import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Store
import Tensor
import Timeline
import Video

/// `rstore bench store`: the store's headline figures on generated data, in one run.
struct BenchStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract:
            "Bytes per video-hour, ingest speed-up, stage-1 search latency, lazy window latency vs its compute bound.")

    @Option(help: "Architecture for the ingest and window measurements (random weights).") var arch = "B/16"
    @Option(help: "Video-hours of synthetic I-features for the search latency.") var hours = 1000.0
    @Option(help: "Seconds of generated video for ingest and window measurements.") var videoSeconds = 90.0
    @Option(help: "Search queries to time.") var queries = 30
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Encodable {
        var bytes_per_hour_f16 = 0.0, bytes_per_hour_i8 = 0.0, bytes_per_hour_dense_f32 = 0.0
        var ingest_full_seconds = 0.0, ingest_interleaved_seconds = 0.0, ingest_speedup = 0.0
        var search_rows = 0, search_p50_ms = 0.0, search_p95_ms = 0.0, search_scan_p50_ms = 0.0
        var window_frames = 0, window_cold_ms = 0.0, window_warm_ms = 0.0, window_lower_bound_ms = 0.0
        var sgemm_gflops = 0.0, blas_core = BLASCore.summary
    }

    func run() async throws {
        guard let config = CLIPConfig.standard(arch) else { throw ValidationError("unknown --arch \(arch)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstore-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var r = Result()
        r.sgemm_gflops = Roofline.sgemmGFLOPs(seconds: 1)
        let log = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }
        log(String(format: "sgemm %.1f GFLOP/s, OpenBLAS kernels %@", r.sgemm_gflops, r.blas_core))

        // 1. Bytes per video-hour: one synthetic hour (2 fps, N = 2) per codec, whole file counted.
        for codec in [FeatureCodec.f16, .i8] {
            let s = try SQLiteStore(url: dir.appendingPathComponent("hour-\(codec.rawValue).rstore"))
            r.bytes_per_hour_dense_f32 = Double(7200 * config.embedDim * 4)
            let bph = try Self.syntheticHour(store: s, codec: codec, dim: config.embedDim)
            if codec == .f16 { r.bytes_per_hour_f16 = bph } else { r.bytes_per_hour_i8 = bph }
        }
        log(
            String(
                format: "bytes/hour: f16 %.2f MB, i8 %.2f MB, dense f32 %.2f MB", r.bytes_per_hour_f16 / 1e6,
                r.bytes_per_hour_i8 / 1e6, r.bytes_per_hour_dense_f32 / 1e6))

        // 2. Ingest: full CLIP on every frame (N = 0) vs interleaved (N = 2: I-frames only).
        let video = dir.appendingPathComponent("bench.mp4")
        try Self.ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "\(videoSeconds)", "-c:v", "libx264",
            "-preset", "veryfast", "-g", "60", "-pix_fmt", "yuv420p", video.path,
        ])
        let model = CLIPModel(randomWith: config)
        for n in [0, 2] {
            var c = Library.Configuration()
            c.recipe.n = n
            let lib = try Library(
                store: dir.appendingPathComponent("ingest-\(n).rstore"), model: model, configuration: c)
            let t0 = Date()
            let summary = try await lib.index([video])
            guard summary.failed == 0 else { throw ValidationError("bench ingest failed: \(summary.files)") }
            let dt = Date().timeIntervalSince(t0)
            if n == 0 { r.ingest_full_seconds = dt } else { r.ingest_interleaved_seconds = dt }
            log(String(format: "ingest N=%d: %.2f s (%d frames encoded)", n, dt, summary.framesEncoded))
        }
        r.ingest_speedup = r.ingest_full_seconds / r.ingest_interleaved_seconds

        // 3. Lazy 60 s window: cold (empty caches) and warm, against the P-frame compute bound.
        var c = Library.Configuration()
        c.recipe.n = 2
        let lib = try Library(store: dir.appendingPathComponent("ingest-2.rstore"), model: model, configuration: c)
        let v = try lib.video(video.path)
        let window = min(60, v.duration)
        var t0 = Date()
        let frames = try lib.embeddings(v, from: 0, to: window)
        r.window_cold_ms = Date().timeIntervalSince(t0) * 1000
        t0 = Date()
        _ = try lib.embeddings(v, from: 0, to: window)
        r.window_warm_ms = Date().timeIntervalSince(t0) * 1000
        r.window_frames = frames.count
        let pCount = frames.filter { $0.kind == .p }.count
        let reconstructor = try lib.reconstructor(for: v)
        let stride = config.imageFloats
        var rng = SplitMix(seed: 3)
        let pixels = (0..<(min(pCount, 64) * stride)).map { _ in rng.normal() }
        let anchor = (0..<config.embedDim).map { _ in rng.normal() }
        let bound = pixels.withUnsafeBufferPointer { px in
            let pf = (0..<min(pCount, 64)).map {
                ResidualEncoder.PFrame(
                    index: $0 + 1, pixels: px.baseAddress! + $0 * stride,
                    anchorPixels: px.baseAddress!, anchorFeature: anchor[...])
            }
            _ = reconstructor.encoder.encodePFrames(pf)
            let t = Date()
            _ = reconstructor.encoder.encodePFrames(pf)
            return Date().timeIntervalSince(t) / Double(max(1, pf.count))
        }
        r.window_lower_bound_ms = bound * Double(pCount) * 1000
        log(
            String(
                format: "window %.0f s: %d frames (%d P): cold %.0f ms, warm %.1f ms, compute bound %.0f ms", window,
                frames.count, pCount,
                r.window_cold_ms, r.window_warm_ms, r.window_lower_bound_ms))

        // 4. Stage-1 search over a synthetic library of `hours` video-hours of I-features.
        let dim = config.embedDim
        let (matrix, shape) = Self.syntheticMatrix(hours: hours, dim: dim, rng: &rng)
        let rows = matrix.rows.count
        let search = MomentSearch()
        var times: [Double] = []
        var scans: [Double] = []
        for _ in 0..<queries {
            let q = VectorMath.normalized((0..<dim).map { _ in rng.normal() })
            var t = Date()
            _ = search.coarse(matrix: matrix, query: q, shape: shape)
            times.append(Date().timeIntervalSince(t) * 1000)
            t = Date()
            _ = matrix.scores(q)
            scans.append(Date().timeIntervalSince(t) * 1000)
        }
        times.sort()
        r.search_scan_p50_ms = scans.sorted()[scans.count / 2]
        r.search_rows = rows
        r.search_p50_ms = times[times.count / 2]
        r.search_p95_ms = times[min(times.count - 1, Int(Double(times.count) * 0.95))]
        log(
            String(
                format: "stage-1 search over %.0f video-hours (%d I-features x %d): p50 %.1f ms, p95 %.1f ms", hours,
                rows, dim, r.search_p50_ms, r.search_p95_ms))

        if json {
            try printJSON(r)
        } else {
            print(
                String(
                    format:
                        "bytes per video-hour: f16 %.2f MB, i8 %.2f MB, dense f32 %.2f MB (i8 = 1/%.1f, f16 = 1/%.1f)",
                    r.bytes_per_hour_f16 / 1e6, r.bytes_per_hour_i8 / 1e6, r.bytes_per_hour_dense_f32 / 1e6,
                    r.bytes_per_hour_dense_f32 / r.bytes_per_hour_i8, r.bytes_per_hour_dense_f32 / r.bytes_per_hour_f16)
            )
            print(
                String(
                    format: "ingest %@ %.0f s video: full %.2f s, interleaved N=2 %.2f s, speed-up %.2fx",
                    config.archName, videoSeconds,
                    r.ingest_full_seconds, r.ingest_interleaved_seconds, r.ingest_speedup))
            print(
                String(
                    format:
                        """
                        stage-1 search, %d I-features (%.0f video-hours): p50 %.1f ms, p95 %.1f ms (matrix scan alone \
                        p50 %.1f ms)
                        """,
                    r.search_rows, hours, r.search_p50_ms, r.search_p95_ms, r.search_scan_p50_ms))
            print(
                String(
                    format:
                        """
                        60 s window (%d frames): cold %.0f ms, warm %.1f ms, compute lower bound %.0f ms (cold/bound \
                        %.2f)
                        """,
                    r.window_frames, r.window_cold_ms, r.window_warm_ms, r.window_lower_bound_ms,
                    r.window_cold_ms / max(1e-9, r.window_lower_bound_ms)))
        }
    }

    /// Stage 1's view of `hours` video-hours: one-hour videos at 2 fps with N = 2 (2,400
    /// I-features an hour), each a random scene drifting slowly.
    static func syntheticMatrix(hours: Double, dim: Int, rng: inout SplitMix) -> (
        matrix: ResidualStore.IFeatureMatrix, shape: [Int64: (layout: FrameLayout, frames: Int)]
    ) {
        let perHour = 7200 / 3
        let rows = Int(hours * Double(perHour))
        var matrix = ResidualStore.IFeatureMatrix(dim: dim)
        matrix.reserve(rows: rows)
        var shape: [Int64: (layout: FrameLayout, frames: Int)] = [:]
        var vec = [Float](repeating: 0, count: dim)
        for i in 0..<rows {
            let video = Int64(i / perHour)
            if i % perHour == 0 {
                shape[video] = (FrameLayout(n: 2), 7200)
                for j in 0..<dim { vec[j] = rng.normal() }
            }
            for _ in 0..<4 { vec[Int(rng.next() % UInt64(dim))] += rng.normal() * 0.3 }  // a slowly drifting scene
            matrix.append(.init(video: video, frame: (i % perHour) * 3), vec)
        }
        return (matrix, shape)
    }

    /// Writes one synthetic hour (7200 frames, N = 2) and returns the store's bytes per hour.
    static func syntheticHour(store s: SQLiteStore, codec: FeatureCodec, dim: Int) throws -> Double {
        let m = try s.bindModel(name: "bench", config: "{}", weightsSha256: "bench", tokenizerSha256: "", embedDim: dim)
        let v = VideoRecord(
            path: "/bench/hour.mp4", contentHash: "h", size: 0, mtime: 0, duration: 3600, timeBaseNum: 1,
            timeBaseDen: 15360,
            fps: 2, n: 2, p: 0.85, strategy: "motion", codec: codec, info: "{}")
        guard case .resume(let row) = try s.begin(v, model: m) else { throw ValidationError("bench store not empty") }
        var rng = SplitMix(seed: 9)
        for first in stride(from: 0, to: 7200, by: 240) {
            let offsets = (first..<(first + 240)).map {
                FrameOffsetRecord(
                    index: $0, pts: Int64($0) * 7680, time: Double($0) / 2, seekPTS: Int64($0 / 4) * 30720)
            }
            var feats: [(index: Int, vector: [Float])] = []
            for k in stride(from: first, to: first + 240, by: 3) {
                // Independent unit vectors: the worst case for compression (I-frames are
                // seconds apart, their features are far from identical).
                let vec = (0..<dim).map { _ in rng.normal() }
                let n = vec.reduce(0) { $0 + $1 * $1 }.squareRoot()
                feats.append((k, vec.map { $0 / n }))
            }
            try s.append(video: row.id!, offsets: offsets, iFeatures: feats)
        }
        try s.finish(video: row.id!)
        return try s.stats().bytesPerHour
    }

    static func ffmpeg(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-v", "error", "-y"] + args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("ffmpeg failed generating the bench video") }
    }
}
