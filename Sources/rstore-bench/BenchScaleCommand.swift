import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Store
import Tensor
import Timeline

/// `rstore bench scale`: stage 1 on the FAISS index against the exact int8 scan, on synthetic
/// archives of given sizes (`SyntheticArchive`: clustered topics, scenes, a random walk within
/// each scene), generated one video at a time so that no size needs its float32 vectors in memory.
struct BenchScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract:
            """
            Stage 1 at archive scale: index build time and bytes per hour, RSS, ANN vs exact p50/p95, recall@10 \
            against exact; 100,000 h extrapolated.
            """
    )

    @Option(help: "Video-hours to measure, comma separated (2,400 I-features of 512 an hour).") var hours = "100,300"
    @Option(help: "Queries per size.") var queries = 20
    @Option(help: "Moments per query (recall@k).") var k = 10
    @Option(help: "FAISS factory; default: the engine's choice by size (IVF~sqrt(rows),PQ32).") var factory: String?
    @Option(help: "Inverted lists probed; a comma list measures each (the first is the headline).") var nprobe =
        "\(Stage1Settings().nprobe)"
    @Option(help: "I-features asked of the index per query (at least); a comma list measures each.") var minHits =
        "\(Stage1Settings().minHits)"
    @Option(
        help:
            """
            Candidate videos whose curves are built (default: the engine's, max(minVideos, k x videosPerResult)); a \
            comma list measures each.
            """
    ) var candidateVideos = ""
    @Option(help: "Shared topics of the synthetic archive (fewer: more videos share each one).") var topics = 256
    @Option(
        help:
            """
            Largest size whose exact int8 matrix is built and timed (1.2 GB per 1,000 h); above it the scan is \
            extrapolated per row.
            """
    ) var exactMaxHours = 1000.0
    @Option(help: "Embedding width.") var dim = 512
    @Flag(help: "Print one JSON object.") var json = false

    struct Size: Encodable {
        var hours = 0.0, rows = 0, factory = "", code_bytes = 0, lists = 0
        var train_seconds = 0.0, add_seconds = 0.0, index_bytes = 0, index_bytes_per_hour = 0.0
        var rss_before_mb = 0.0, rss_after_index_mb = 0.0
        var ann_search_p50_ms = 0.0, ann_p50_ms = 0.0, ann_p95_ms = 0.0, ann_videos = 0.0
        var exact_measured = false, exact_p50_ms = 0.0, exact_p95_ms = 0.0
        var recall_moments_at_k = 0.0, recall_ifeatures_at_k = 0.0
        /// Every (nprobe, hits, videos) measured on the same index; the first is the headline above.
        var sweep: [Point] = []
    }

    /// Stage 1 on the index with one choice of its three levers.
    struct Point: Encodable {
        var nprobe = 0, hits = 0, videos = 0
        var ann_search_p50_ms = 0.0, ann_p50_ms = 0.0, ann_p95_ms = 0.0, ann_videos = 0.0
        var recall_moments_at_k = 0.0, recall_ifeatures_at_k = 0.0
    }

    struct Result: Encodable {
        var sizes: [Size] = []
        var store_read_ms_per_video_hour = 0.0
        var feature_cache_bytes = Stage1Settings().featureCacheBytes
        var extrapolated: [String: Double] = [:]
        var notes: [String] = []
    }

    func run() async throws {
        let sizes = hours.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }.filter {
            $0 >= 1
        }.sorted()
        guard !sizes.isEmpty, queries > 0, k > 0 else {
            throw ValidationError("--hours needs sizes of at least 1, --queries and -k positive")
        }
        guard [nprobe, minHits].allSatisfy({ !Self.list($0).isEmpty }),
            candidateVideos.isEmpty || !Self.list(candidateVideos).isEmpty
        else {
            throw ValidationError("--nprobe, --min-hits and --candidate-videos need positive integers, comma separated")
        }
        let log = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }
        let archive = SyntheticArchive(dim: dim, topics: max(1, topics))
        let settings = Stage1Settings()
        var r = Result()
        r.store_read_ms_per_video_hour = try Self.storeReadMs(dim: dim, archive: archive)
        log(
            String(
                format: "store read of one video-hour's I-features (f16, SQLite): %.1f ms",
                r.store_read_ms_per_video_hour))
        for h in sizes {
            let s = try measure(hours: h, archive: archive, settings: settings, log: log)
            r.sizes.append(s)
        }
        extrapolate(&r)
        if json {
            try printJSON(r)
            return
        }
        for s in r.sizes {
            print(
                String(
                    format:
                        """
                        %7.0f h  %@ (%d B codes): build %.1f s + %.1f s, index %.1f MB (%.1f KB/h), RSS %.0f -> %.0f \
                        MB
                        """,
                    s.hours, s.factory, s.code_bytes, s.train_seconds, s.add_seconds, Double(s.index_bytes) / 1e6,
                    s.index_bytes_per_hour / 1e3,
                    s.rss_before_mb, s.rss_after_index_mb))
            print(
                String(
                    format:
                        "          stage 1 ANN p50 %.1f ms p95 %.1f ms (search %.1f ms, %.0f videos' curves) vs exact %@ p50 %.1f ms p95 %.1f ms; recall@%d moments %.3f, I-features %.3f",
                    s.ann_p50_ms, s.ann_p95_ms, s.ann_search_p50_ms, s.ann_videos,
                    s.exact_measured ? "measured" : "extrapolated",
                    s.exact_p50_ms, s.exact_p95_ms, k, s.recall_moments_at_k, s.recall_ifeatures_at_k))
        }
        for (key, v) in r.extrapolated.sorted(by: { $0.key < $1.key }) {
            print(String(format: "extrapolated %@: %.1f", key, v))
        }
        for n in r.notes { print("note: \(n)") }
    }

    func measure(hours h: Double, archive: SyntheticArchive, settings: Stage1Settings, log: (String) -> Void) throws
        -> Size
    {
        var s = Size()
        let videos = Int(h)
        s.hours = Double(videos)
        s.rows = videos * SyntheticArchive.perVideo
        s.factory = factory ?? Stage1Settings.defaultFactory(rows: s.rows, dim: dim)
        s.rss_before_mb = Self.rssMB()
        let qs = archive.queries(queries, videos: videos)
        let frameOf = { (i: Int) in i * 3 }

        // Build: train on rows of evenly spaced videos, then add every video.
        let index = try FaissIndex(dim: dim, factory: s.factory)
        s.lists = index.lists
        s.code_bytes = index.codeSize
        var t = Date()
        let want = max(s.lists * 39, 65_536)
        let step = max(1, s.rows / want)
        var sample: [Float] = []
        for v in stride(from: 0, to: videos, by: step) where sample.count < want * dim { sample += archive.video(v) }
        try index.train(sample)
        sample = []
        s.train_seconds = Date().timeIntervalSince(t)
        t = Date()
        for first in stride(from: 0, to: videos, by: 8) {
            var flat: [Float] = []
            var ids: [Int64] = []
            for v in first..<min(videos, first + 8) {
                flat += archive.video(v)
                ids += (0..<SyntheticArchive.perVideo).map { Stage1ANNIDs.id(video: Int64(v + 1), frame: frameOf($0)) }
            }
            try index.add(flat, ids: ids)
        }
        s.add_seconds = Date().timeIntervalSince(t)
        s.rss_after_index_mb = Self.rssMB()
        s.index_bytes = try index.serialized().count
        s.index_bytes_per_hour = Double(s.index_bytes) / s.hours
        log(
            String(
                format: "%.0f h: %@ trained in %.1f s, %d rows added in %.1f s, %.1f MB", s.hours, s.factory,
                s.train_seconds, s.rows, s.add_seconds, Double(s.index_bytes) / 1e6))

        // Exact answers, one video at a time (the scan's int8 rows and proposals, per video).
        let search = MomentSearch()
        let shape = Self.shape
        let keepMatrix = s.hours <= exactMaxHours
        var full = IFeatureMatrix(dim: dim)
        if keepMatrix { full.reserve(rows: s.rows) }
        var exactMoments = [[MomentSearch.Candidate]](repeating: [], count: qs.count)
        var exactRows = [[(id: Int64, score: Float)]](repeating: [], count: qs.count)
        for v in 0..<videos {
            let m = Self.matrix(video: Int64(v + 1), archive.video(v), dim: dim)
            if keepMatrix { full.append(rowsOf: m) }
            for (qi, q) in qs.enumerated() {
                exactMoments[qi] = Array(
                    (exactMoments[qi] + search.coarse(matrix: m, query: q, shape: shape([Int64(v + 1)])))
                        .sorted(by: MomentSearch.Candidate.isBetter).prefix(k))
                let sc = m.scores(q)
                let top = sc.indices.sorted { sc[$0] > sc[$1] }.prefix(k).map {
                    (id: Stage1ANNIDs.id(video: Int64(v + 1), frame: frameOf($0)), score: sc[$0])
                }
                exactRows[qi] = Array((exactRows[qi] + top).sorted { $0.score > $1.score }.prefix(k))
            }
        }
        if keepMatrix {
            var times: [Double] = []
            let all = Array(Set(full.rows.map(\.video)))
            let sh = shape(all)
            for q in qs {
                let t0 = Date()
                _ = search.coarse(matrix: full, query: q, shape: sh)
                times.append(Date().timeIntervalSince(t0) * 1000)
            }
            (s.exact_p50_ms, s.exact_p95_ms) = Self.percentiles(times)
            s.exact_measured = true
            full = IFeatureMatrix(dim: dim)
        }

        // The index path for every choice of the levers, on the same index and exact answers.
        let key = Self.momentKey
        let exact = Exact(
            moments: exactMoments.map { Set($0.map(key)) }, rows: exactRows.map { Set($0.map(\.id)) })
        var points: [Point] = []
        for np in Self.list(nprobe) {
            for h in Self.list(minHits) {
                let engine = max(settings.minVideos, k * settings.videosPerResult)
                for v in candidateVideos.isEmpty ? [engine] : Self.list(candidateVideos) {
                    points.append(Point(nprobe: np, hits: max(h, k * settings.hitsPerResult), videos: v))
                }
            }
        }
        for var p in points {
            try measure(&p, index: index, queries: qs, exact: exact, archive: archive, settings: settings)
            s.sweep.append(p)
            log(
                String(
                    format:
                        "  nprobe %d, %d hits, %d videos: p50 %.1f ms (search %.1f); recall moments %.3f",
                    p.nprobe, p.hits, p.videos, p.ann_p50_ms, p.ann_search_p50_ms,
                    p.recall_moments_at_k))
        }
        let head = s.sweep[0]
        (s.ann_p50_ms, s.ann_p95_ms, s.ann_search_p50_ms) = (head.ann_p50_ms, head.ann_p95_ms, head.ann_search_p50_ms)
        s.ann_videos = head.ann_videos
        (s.recall_moments_at_k, s.recall_ifeatures_at_k) = (head.recall_moments_at_k, head.recall_ifeatures_at_k)
        log(
            String(
                format:
                    "%.0f h: ANN p50 %.1f ms p95 %.1f ms; exact p50 %.1f ms; recall@%d moments %.3f I-features %.3f",
                s.hours, s.ann_p50_ms, s.ann_p95_ms, s.exact_p50_ms, k, s.recall_moments_at_k, s.recall_ifeatures_at_k))
        return s
    }

    /// The exact answer of each query: its moments' keys and its best rows' ids.
    struct Exact {
        var moments: [Set<String>]
        var rows: [Set<Int64>]
    }

    /// Stage 1 on the index with `p`'s levers: search, the candidate videos, their curves and
    /// proposals. Their rows come from a warm cache here (generated outside the timed part); a
    /// cold read from the store is `store_read_ms_per_video_hour` each.
    func measure(
        _ p: inout Point, index: FaissIndex, queries qs: [[Float]], exact: Exact, archive: SyntheticArchive,
        settings: Stage1Settings
    ) throws {
        let search = MomentSearch()
        var times: [Double] = []
        var searches: [Double] = []
        var recallM = 0.0
        var recallI = 0.0
        var videosSum = 0
        for (qi, q) in qs.enumerated() {
            let t0 = Date()
            let hits = try index.search(q, k: p.hits, nprobe: p.nprobe)
            let cands = Stage1ANNIDs.candidateVideos(hits, limit: p.videos) { _ in true }
            let searchMs = Date().timeIntervalSince(t0) * 1000
            // The candidates' rows, generated outside the timed part (the store's or the cache's work).
            var whole: [Int64: IFeatureMatrix] = [:]
            for v in cands { whole[v] = Self.matrix(video: v, archive.video(Int(v) - 1), dim: dim) }
            let t1 = Date()
            let rows = cands.map { (matrix: whole[$0]!, rows: 0..<SyntheticArchive.perVideo) }
            let found = Array(search.coarse(videos: rows, query: q, shape: Self.shape(cands)).prefix(k))
            times.append(searchMs + Date().timeIntervalSince(t1) * 1000)
            searches.append(searchMs)
            videosSum += cands.count
            let key = Self.momentKey
            recallM +=
                Double(found.filter { exact.moments[qi].contains(key($0)) }.count)
                / Double(max(1, exact.moments[qi].count))
            recallI +=
                Double(hits.prefix(k).filter { exact.rows[qi].contains($0.id) }.count)
                / Double(max(1, exact.rows[qi].count))
        }
        (p.ann_p50_ms, p.ann_p95_ms) = Self.percentiles(times)
        p.ann_search_p50_ms = Self.percentiles(searches).0
        p.ann_videos = Double(videosSum) / Double(qs.count)
        p.recall_moments_at_k = recallM / Double(qs.count)
        p.recall_ifeatures_at_k = recallI / Double(qs.count)
    }

    /// The synthetic videos' shape for `MomentSearch.coarse`.
    static func shape(_ ids: [Int64]) -> [Int64: (layout: FrameLayout, frames: Int)] {
        Dictionary(
            uniqueKeysWithValues: ids.map { ($0, (layout: FrameLayout(n: 2), frames: SyntheticArchive.framesPerVideo)) }
        )
    }

    static func momentKey(_ c: MomentSearch.Candidate) -> String { "\(c.videoID)/\(c.firstFrame)/\(c.lastFrame)" }

    /// A comma list of positive integers.
    static func list(_ text: String) -> [Int] {
        text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
    }

    /// Straight lines through the measured sizes: the exact scan per row (it reads every row),
    /// the index path by a least-squares line in hours, bytes per hour from the largest size.
    func extrapolate(_ r: inout Result) {
        let measured = r.sizes.filter(\.exact_measured)
        let perRow = measured.map { $0.exact_p50_ms / Double($0.rows) }.max() ?? 0
        let perRow95 = measured.map { $0.exact_p95_ms / Double($0.rows) }.max() ?? 0
        for i in r.sizes.indices where !r.sizes[i].exact_measured {
            r.sizes[i].exact_p50_ms = perRow * Double(r.sizes[i].rows)
            r.sizes[i].exact_p95_ms = perRow95 * Double(r.sizes[i].rows)
        }
        guard let last = r.sizes.last else { return }
        // The index path = its search (grows with the lists it scans) + the curves of a capped
        // number of candidate videos (does not grow with the library): the search is fitted by a
        // least-squares line in hours, the curves kept at the largest size's figure.
        let xs = r.sizes.map(\.hours)
        let ys = r.sizes.map(\.ann_search_p50_ms)
        func line(_ ys: [Double]) -> (Double, Double) {
            guard xs.count > 1 else { return (0, ys[0] / xs[0]) }
            let mx = xs.reduce(0, +) / Double(xs.count)
            let my = ys.reduce(0, +) / Double(ys.count)
            let b = max(
                0,
                zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
                    / max(1e-12, xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }))
            return (my - b * mx, b)
        }
        let (a, b) = line(ys)
        let curves50 = last.ann_p50_ms - last.ann_search_p50_ms
        let curves95 = last.ann_p95_ms - last.ann_search_p50_ms
        let baseline = r.sizes.first!.rss_before_mb * 1e6
        for target in [10_000.0, 100_000.0] where target > last.hours {
            let name = "\(Int(target))h"
            r.extrapolated["\(name)_ann_search_p50_ms"] = a + b * target
            r.extrapolated["\(name)_ann_p50_ms"] = a + b * target + curves50
            r.extrapolated["\(name)_ann_p95_ms"] = a + b * target + curves95
            r.extrapolated["\(name)_exact_p50_ms"] = perRow * target * Double(SyntheticArchive.perVideo)
            r.extrapolated["\(name)_index_gb"] = last.index_bytes_per_hour * target / 1e9
            r.extrapolated["\(name)_stage1_rss_gb"] =
                (last.index_bytes_per_hour * target + Double(r.feature_cache_bytes) + baseline) / 1e9
        }
        r.extrapolated["exact_equals_ann_at_rows"] = perRow > 0 ? (r.sizes.first!.ann_p50_ms / perRow).rounded() : 0
        r.notes.append(
            """
            ANN latency counts the index search and the curves of the candidate videos from a warm cache; a cold \
            query adds the reads of ann_videos video-hours from the store (store_read_ms_per_video_hour each, two at \
            a time) and their int8 quantisation
            """
        )
        r.notes.append(
            """
            stage-1 RSS extrapolated = index bytes (codes + ids + centroids) + the candidate-feature cache budget + \
            the process before the index
            """
        )
        r.notes.append(
            """
            ANN extrapolation: index search on a line through the measured sizes (lists ~ sqrt(rows), so the codes \
            scanned grow ~ sqrt: the line is pessimistic) + the curves part of the largest size (the candidate videos \
            are capped)
            """
        )
    }

    static func matrix(video: Int64, _ flat: [Float], dim: Int) -> IFeatureMatrix {
        var m = IFeatureMatrix(dim: dim)
        m.reserve(rows: flat.count / dim)
        for i in 0..<(flat.count / dim) {
            m.append(.init(video: video, frame: i * 3), Array(flat[(i * dim)..<((i + 1) * dim)]))
        }
        return m
    }

    static func percentiles(_ xs: [Double]) -> (Double, Double) {
        let s = xs.sorted()
        guard !s.isEmpty else { return (0, 0) }
        return (s[s.count / 2], s[min(s.count - 1, Int(Double(s.count) * 0.95))])
    }

    /// Resident set size of this process, MB (Linux /proc).
    static func rssMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kb / 1e3
    }

    /// One video-hour's I-features read back from a real SQLite store (f16 + LZ4), warm page cache.
    static func storeReadMs(dim: Int, archive: SyntheticArchive) throws -> Double {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rstore-bench-scale-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try SQLiteStore(url: dir.appendingPathComponent("hour.rstore"))
        let m = try s.bindModel(name: "bench", config: "{}", weightsSha256: "bench", tokenizerSha256: "", embedDim: dim)
        let v = VideoRecord(
            path: "/bench/hour.mp4", contentHash: "h", size: 0, mtime: 0, duration: 3600, timeBaseNum: 1,
            timeBaseDen: 1000,
            fps: 2, n: 2, p: 0.85, strategy: "motion", codec: .f16, info: "{}")
        guard case .resume(let row) = try s.begin(v, model: m) else { throw ValidationError("bench store not empty") }
        let flat = archive.video(0)
        for first in stride(from: 0, to: SyntheticArchive.framesPerVideo, by: 240) {
            let offsets = (first..<(first + 240)).map {
                FrameOffsetRecord(index: $0, pts: Int64($0) * 500, time: Double($0) / 2, seekPTS: 0)
            }
            let feats = stride(from: first, to: first + 240, by: 3).map { k in
                (index: k, vector: Array(flat[((k / 3) * dim)..<((k / 3 + 1) * dim)]))
            }
            try s.append(video: row.id!, offsets: offsets, iFeatures: feats)
        }
        try s.finish(video: row.id!)
        let ready = try s.videos(status: .ready)[0]
        _ = try s.iFeatures(of: ready)
        var times: [Double] = []
        for _ in 0..<5 {
            let t = Date()
            _ = try s.iFeatures(of: ready)
            times.append(Date().timeIntervalSince(t) * 1000)
        }
        return percentiles(times).0
    }
}
