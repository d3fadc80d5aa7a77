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
    /// Which search stage 1 ran (exact scan or approximate index) and over how many videos'
    /// curves.
    public var stage1: Stage1Mode = .exact
    public var stage1Videos = 0

    enum CodingKeys: String, CodingKey {
        case moments, refined, stage1
        case stage1Videos = "stage1_videos"
        case stage1Ms = "stage1_ms", stage2Ms = "stage2_ms", pFrames = "p_frames"
        case decodedFrames = "decoded_frames", frameCacheHits = "frame_cache_hits"
    }
}

extension Library {
    /// Text-to-moment search with its timings. Stage 2 refines at most
    /// `control.remainingPFrames` P-frames; past that, moments keep coarse boundaries and are
    /// flagged instead of the query failing.
    public func searchReport(_ text: String, k: Int, control: QueryControl = QueryControl()) throws -> SearchReport {
        guard (1...1000).contains(k) else { throw LibraryError.badK(k) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let query = try textQuery(text)
        let plan = try stage1Plan(query: query, k: k)
        let (candidates, ready) = (plan.candidates, plan.ready)
        let search = MomentSearch()
        let t1 = DispatchTime.now().uptimeNanoseconds
        let before = control.usage, hitsBefore = control.frameSources
        var sources: [Int64: Reconstructor.Source] = [:]
        let moments = try search.refine(candidates, query: query, k: k, pFrameBudget: control.remainingPFrames, context: { id in
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
            return ctx
        }, dense: { requests in
            // One batched pass per reconstructor (videos indexed with the same N, p, strategy share one).
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
        let t2 = DispatchTime.now().uptimeNanoseconds
        let after = control.usage, hitsAfter = control.frameSources
        return SearchReport(moments: moments, stage1Ms: Double(t1 - t0) / 1e6, stage2Ms: Double(t2 - t1) / 1e6,
                            pFrames: after.pFrames - before.pFrames, decodedFrames: hitsAfter.decoded - hitsBefore.decoded,
                            frameCacheHits: hitsAfter.tierHits - hitsBefore.tierHits, refined: moments.allSatisfy(\.refined),
                            stage1: plan.mode, stage1Videos: plan.videosScored)
    }
}
