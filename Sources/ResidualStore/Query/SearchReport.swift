import Foundation
import Store

/// A search's moments with where its time went, for `--json` and `GET /v1/search`.
public struct SearchReport: Sendable, Codable {
    public var moments: [Moment]
    /// Stage 1 (text encoding, matrix scan or index search, coarse proposals), milliseconds.
    public var stage1Ms: Double
    /// Stage 2 (P-frame reconstruction and refined proposals), milliseconds.
    public var stage2Ms: Double
    /// P-features computed by the residual encoder for this query.
    public var pFrames: Int
    /// Sampled frames decoded from the original video files.
    public var decodedFrames: Int
    /// P-frame inputs served by the decoded-frame tier.
    public var frameCacheHits: Int
    /// False when some moments kept coarse boundaries (the P-frame budget ran out).
    public var refined: Bool
    /// Videos and I-feature rows stage 1 scored (all of the library without a filter).
    public var stage1Videos = 0
    public var stage1Rows = 0
    /// Videos stage 2 read frames of (stored I-features, P-frames reconstructed), by id.
    public var stage2Videos: [Int64] = []
    /// Which search stage 1 ran: the exact scan, or the approximate index (`Stage1Settings`).
    public var stage1: Stage1Mode = .exact

    enum CodingKeys: String, CodingKey {
        case moments, refined, stage1
        case stage1Ms = "stage1_ms", stage2Ms = "stage2_ms", pFrames = "p_frames"
        case decodedFrames = "decoded_frames", frameCacheHits = "frame_cache_hits"
        case stage1Videos = "stage1_videos", stage1Rows = "stage1_rows", stage2Videos = "stage2_videos"
    }
}

extension Library {
    /// Text-to-moment search with its timings. Stage 2 refines at most
    /// `control.remainingPFrames` P-frames, and decodes within `control`'s decoding budget; past
    /// either, moments keep coarse boundaries and are flagged instead of the query failing.
    public func searchReport(_ text: String, k: Int, control: QueryControl = QueryControl()) throws -> SearchReport {
        try searchReport(.text(text), k: k, control: control)
    }

    /// Moment search for any kind of query (`QueryInput`): resolved to one unit vector, then
    /// the same two stages. `filter` chooses the rows stage 1 scores (`Stage1Selection`):
    /// nothing outside it is scored into a moment, and no P-frame outside it is computed.
    public func searchReport(_ input: QueryInput, k: Int, filter: SearchFilter = SearchFilter(),
                             limits: QueryInput.Limits = .init(), control: QueryControl = QueryControl()) throws -> SearchReport {
        guard (1...1000).contains(k) else { throw LibraryError.badK(k) }
        try filter.validate()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let query = try queryVector(input, limits: limits, control: control)
        let search = MomentSearch()
        // Above the size threshold (and without a filter, which the exact scan applies) stage 1
        // asks the approximate index; else the scan over the matrix.
        let indexed = filter.isEmpty ? try stage1IndexPlan(query: query, k: k) : nil
        let stage1 = indexed == nil ? try stage1Snapshot() : nil
        let ready = indexed?.ready ?? stage1!.ready
        let selection = filter.isEmpty ? nil : stage1!.select(filter, localPath: localPath(of:))
        var shape = ready.mapValues { ($0.layout, $0.frameCount) }
        if let selection {
            shape = shape.filter { selection.frames[$0.key] != nil }
            for (id, allowed) in selection.frames {
                if let s = shape[id] { shape[id] = (s.0, min(s.1, allowed.upperBound)) }
            }
        }
        let candidates = indexed?.candidates ?? search.coarse(matrix: stage1!.matrix, query: query, shape: shape, rows: selection?.ranges)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let before = control.usage, hitsBefore = control.frameSources
        var sources: [Int64: Reconstructor.Source] = [:]
        var stage2Videos: [Int64] = []
        func refine(pFrameBudget: Int) throws -> [Moment] {
            try search.refine(candidates, query: query, k: k, pFrameBudget: pFrameBudget, context: { id in
                let v = ready[id]!
                let src: Reconstructor.Source
                do {
                    src = try source(v)
                } catch StoreError.notReady, StoreError.unknownVideo {
                    return nil   // re-indexed or removed since stage 1: its candidates are dropped
                } catch let e as StoreError {
                    // Damaged stored bytes of one video: the others still answer; the video is named.
                    guard case .corruptBlob = e else { throw e }
                    self.stage1.noteSkipped(e.description)
                    return nil
                }
                sources[id] = src
                var ctx = MomentSearch.VideoContext(id: id, path: v.path, times: src.offsets.map(\.time), fps: v.fps, layout: v.layout)
                // A file not mounted here, or changed since it was indexed (and not yet re-indexed),
                // keeps its coarse moments: one stale file must not fail every search.
                ctx.refinable = isMounted(v) && staleness(v) == nil
                ctx.allowed = selection?.frames[id]
                return ctx
            }, dense: { requests in
                // One batched pass per reconstructor (videos indexed with the same N, p, strategy share one).
                stage2Videos = requests.map(\.video.id)
                var out = [[[Float]]](repeating: [], count: requests.count)
                var groups: [ObjectIdentifier: (Reconstructor, [Int])] = [:]
                for (i, r) in requests.enumerated() {
                    let rec = try reconstructor(for: ready[r.video.id]!)
                    groups[ObjectIdentifier(rec), default: (rec, [])].1.append(i)
                }
                for (rec, members) in groups.values {
                    let feats = try rec.features(of: members.map { (sources[requests[$0].video.id]!, requests[$0].frames) }, control: control)
                    for (i, f) in zip(members, feats) { out[i] = f }
                }
                return out
            })
        }
        // Stage 2 decoding past the request's budget (long GOPs, large pictures): the moments
        // keep their coarse boundaries, flagged, as past the P-frame budget.
        let moments: [Moment]
        do {
            moments = try refine(pFrameBudget: control.remainingPFrames)
        } catch QueryError.overBudget(.decoding, _, _) {
            moments = try refine(pFrameBudget: 0)
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        let after = control.usage, hitsAfter = control.frameSources
        return SearchReport(moments: moments, stage1Ms: Double(t1 - t0) / 1e6, stage2Ms: Double(t2 - t1) / 1e6,
                            pFrames: after.pFrames - before.pFrames, decodedFrames: hitsAfter.decoded - hitsBefore.decoded,
                            frameCacheHits: hitsAfter.tierHits - hitsBefore.tierHits, refined: moments.allSatisfy(\.refined),
                            stage1Videos: indexed?.videosScored ?? selection?.frames.count ?? stage1!.segments.filter { $0.rows > 0 }.count,
                            stage1Rows: indexed?.rowsScored ?? selection?.rowCount ?? stage1!.matrix.rows.count, stage2Videos: stage2Videos.sorted(),
                            stage1: indexed == nil ? .exact : .ann)
    }

    /// A rooted video's file on this machine, without touching the disk (path prefix filters).
    func localPath(of v: VideoRecord) -> String? {
        guard case .rooted(let root, let rel) = StoredPath(v.path), let folder = configuration.roots.folders[root] else { return nil }
        return folder.appendingPathComponent(rel).standardizedFileURL.path
    }
}
