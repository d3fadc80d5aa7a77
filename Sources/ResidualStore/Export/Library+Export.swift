import Foundation
import Store
import Timeline

/// One frame of an export: where it is and its feature.
public struct ExportRow: Sendable {
    public var videoID: Int64
    /// The stored path (root-relative `NAME:...` on a shared library).
    public var path: String
    public var time: Double
    public var frame: Int
    /// I: the stored feature; P: reconstructed by the residual encoder (`dense` only).
    public var kind: FrameKind
    public var vector: [Float]
}

/// What an export wrote.
public struct ExportSummary: Sendable, Codable, Equatable {
    public var videos = 0
    public var rows = 0
    public var iRows = 0
    public var pRows = 0

    public init(videos: Int = 0, rows: Int = 0, iRows: Int = 0, pRows: Int = 0) {
        self.videos = videos
        self.rows = rows
        self.iRows = iRows
        self.pRows = pRows
    }

    enum CodingKeys: String, CodingKey {
        case videos, rows
        case iRows = "i_rows"
        case pRows = "p_rows"
    }
}

extension Library {
    /// Streams the features of every ready video `filter` admits (by id, then frame) to `sink`,
    /// at most `batchFrames` rows a call: stored I-features only, or with `dense` every sampled
    /// frame, P-features reconstructed batch by batch. Memory stays bounded by one video's
    /// stored features and one batch, whatever the library's size. A video removed or
    /// re-indexed while the export runs is left out.
    @discardableResult
    public func export(
        filter: SearchFilter = SearchFilter(), dense: Bool = false, batchFrames: Int = 256,
        control: QueryControl = QueryControl(), _ sink: ([ExportRow]) throws -> Void
    ) throws -> ExportSummary {
        try filter.validate()
        let batch = max(1, batchFrames)
        let videos = try store.videos(status: .ready).filter { filter.admits($0, localPath: localPath(of: $0)) }.sorted
        { ($0.id ?? 0) < ($1.id ?? 0) }
        var summary = ExportSummary()
        for v in videos {
            try control.checkCancelled()
            let allowed = filter.frames(count: v.frameCount, fps: v.fps)
            guard !allowed.isEmpty else { continue }
            let src: Reconstructor.Source
            do { src = try source(v) } catch StoreError.notReady, StoreError.unknownVideo { continue }
            let id = v.id ?? -1
            func row(_ k: Int, _ f: [Float]) -> ExportRow {
                ExportRow(
                    videoID: id, path: v.path, time: src.offsets[k].time, frame: k, kind: v.layout.kind(of: k),
                    vector: f)
            }
            var wrote = false
            if dense {
                var lo = allowed.lowerBound
                while lo < allowed.upperBound {
                    let hi = min(allowed.upperBound, lo + batch)
                    let feats = try reconstructor(for: v).features(of: src, range: lo..<hi, control: control)
                    let rows = (lo..<hi).map { row($0, feats[$0 - lo]) }
                    try sink(rows)
                    summary.rows += rows.count
                    summary.iRows += rows.filter { $0.kind == .i }.count
                    wrote = true
                    lo = hi
                }
            } else {
                let frames = v.layout.iFrames(in: allowed)
                for start in stride(from: 0, to: frames.count, by: batch) {
                    let rows = try frames[start..<min(frames.count, start + batch)].map {
                        row($0, try src.iFeature($0))
                    }
                    try sink(rows)
                    summary.rows += rows.count
                    summary.iRows += rows.count
                    wrote = true
                }
            }
            if wrote { summary.videos += 1 }
        }
        summary.pRows = summary.rows - summary.iRows
        return summary
    }
}
