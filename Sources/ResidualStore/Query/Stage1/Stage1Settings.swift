import Foundation

/// Which search stage 1 runs: the exact int8 scan over every stored I-feature, the
/// approximate index (`<store>.ann`), or the scan below `Stage1Settings.annThreshold` stored
/// I-features and the index from there on (the default).
public enum Stage1Mode: String, Sendable, CaseIterable, Codable {
    case exact, ann, auto
}

/// How stage 1 searches a large library (see `Stage1ANNCache`).
public struct Stage1Settings: Sendable {
    public var mode: Stage1Mode = .auto
    /// Stored I-features from which `.auto` uses the index; below it the exact scan (whose
    /// moments are exactly those of every earlier version). Measured by `rstore bench scale`:
    /// at 1.44 M I-features (600 video-hours) the scan took 57 ms a query and holds 0.8 GB, the
    /// index path 12 ms warm; a cold query reads its candidate videos from the store (up to 160
    /// at k = 10, ~5 ms a video-hour, two at a time), so small libraries keep the scan
    /// (docs/DESIGN.md, "Stage 1 at scale").
    public var annThreshold = 1_200_000
    /// FAISS factory string; nil: `defaultFactory(rows:dim:)` when the index is trained.
    public var factory: String? = nil
    /// Inverted lists probed per query: at 240 video-hours (1,024 lists) 32 gave recall@10 of
    /// moments 0.90 against the scan, 128 gave 1.00 for 3.6 ms of search (`rstore bench scale`).
    public var nprobe = 128
    /// I-features asked of the index per requested moment (at least `minHits`): enough to
    /// name `videosPerResult` x k videos.
    public var hitsPerResult = 200
    public var minHits = 2000
    /// Candidate videos whose full curves stage 1 builds, per requested moment (at least
    /// `minVideos`). In an archive many videos share a subject and their best moments differ by
    /// less than PQ32's scores err: on a synthetic 1,000 h library whose topics are shared by ~115
    /// videos each (as at 10,000 h), 40 candidates found 0.65 of the exact top 10, 80 found 0.91,
    /// 160 all of them (`rstore-bench scale --hours 1000 --topics 26 --min-videos 40,80,160`).
    public var videosPerResult = 16
    public var minVideos = 64
    /// Most I-features one query's candidates may hold (the best videos first, at least one):
    /// 160 one-hour videos are 384,000 (~200 MB as int8 rows); ten-hour ones would be ten times
    /// that without this bound.
    public var maxCandidateRows = 800_000
    /// Most I-features asked of the index for a filtered query (a narrow filter asks for more,
    /// in proportion, so that enough of them fall in the videos it admits).
    public var maxFilteredHits = 20_000
    /// Byte budget of the candidate videos' I-features kept in memory between queries.
    public var featureCacheBytes = 256 << 20
    /// The index is trained again from scratch when it holds this many times the rows it was
    /// trained on (its inverted lists would otherwise grow long and slow).
    public var retrainGrowth = 8

    public init() {}

    /// IVF with product-quantised codes (32 bytes a vector at 512-d, 40 with its id) and about
    /// sqrt(rows) lists; a scalar quantiser (1 byte a dimension) for libraries too small to
    /// train 256-centroid product quantisers on.
    public static func defaultFactory(rows: Int, dim: Int) -> String {
        let root = Double(max(1, rows)).squareRoot()
        var lists = 1
        while Double(lists * 2) <= root * 1.41 { lists *= 2 }
        lists = max(4, min(16384, min(lists, rows / 39)))
        guard rows >= 65_536 else { return "IVF\(lists),SQ8" }
        var m = 32
        while m > 1 && dim % m != 0 { m -= 1 }
        return "IVF\(lists),PQ\(m)"
    }

    /// Rows to train on: enough for the coarse k-means (39 a list) and the quantisers.
    static func trainingRows(lists: Int) -> Int { max(lists * 39, 65_536) }
}
