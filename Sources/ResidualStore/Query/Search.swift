import Foundation
import Store
import Video

// A search, top to bottom: the query as one unit vector -> stage 1 (coarse proposals on the
// stored I-features) -> the videos of the best candidates -> stage 2's plan of the P-frames
// to compute (a `RefinePlan`, a value) -> their features -> ranked moments. Each step takes
// values and returns values; the scoring (`MomentSearch`) reads nothing of the library.

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
    /// `progress` (called on this thread) hears stage 1's coarse moments before stage 2
    /// starts, then each batch's refined ones (`SearchProgress`); the report is the same
    /// with or without it.
    public func searchReport(
        _ input: QueryInput, k: Int, filter: SearchFilter = SearchFilter(),
        limits: QueryInput.Limits = .init(), control: QueryControl = QueryControl(),
        progress: (@Sendable (SearchProgress) -> Void)? = nil
    ) throws -> SearchReport {
        guard (1...1000).contains(k) else { throw LibraryError.badK(k) }
        try filter.validate()
        let t0 = DispatchTime.now().uptimeNanoseconds
        // 1. The query: text, image, stored frame or vector, as one unit vector.
        let query = try queryVector(input, limits: limits, control: control)
        // 2. Stage 1: coarse candidates from the stored I-features.
        let stage1 = try stage1Plan(query: query, k: k, filter: filter)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let before = control.usage
        let hitsBefore = control.frameSources
        // 3. The videos of the candidates stage 2 looks at, read once.
        let search = MomentSearch()
        let videos = try stage2Videos(
            search.chosen(stage1.candidates, k: k), ready: stage1.ready, allowed: stage1.allowed)
        let contexts = videos.mapValues(\.context)
        //    Stage 1's answer, to a caller that streams it: the same plan with no P-frame.
        if let progress {
            progress(.coarse(try coarseReport(stage1, k: k, query: query, videos: videos, control: control, since: t0)))
        }
        // 4. The plan of the frames to compute, within the query's P-frame budget, and their
        //    features. Decoding past the request's budget (long GOPs, large pictures): the
        //    moments keep their coarse boundaries, flagged, as past the P-frame budget.
        var plan = search.plan(
            stage1.candidates, k: k, videos: contexts, pFrameBudget: control.remainingPFrames,
            decode: try refineDecodeBudget(stage1.candidates, k: k, videos: videos))
        let features: [[[Float]]]
        do {
            // Each batched pass's moments, to a caller that streams them.
            features = try stage2Features(
                plan, videos: videos, control: control,
                passDone: progress.map { progress in
                    { [plan] (done: [Int], features: [[[Float]]]) in
                        let part = plan.part(done)
                        guard part.refinements.contains(where: \.refined) else { return }  // nothing new to show
                        let moments = search.rank(part, features: done.map { features[$0] }, query: query, k: k)
                        progress(.refined(moments, videos: part.requests.map(\.video)))
                    }
                })
        } catch QueryError.overBudget(.decoding, _, _) {
            plan = search.plan(stage1.candidates, k: k, videos: contexts, pFrameBudget: 0)
            features = try stage2Features(plan, videos: videos, control: control)
        }
        // 5. Ranked moments on the refined curves.
        let moments = search.rank(plan, features: features, query: query, k: k)
        let t2 = DispatchTime.now().uptimeNanoseconds
        let after = control.usage
        let hitsAfter = control.frameSources
        return SearchReport(
            moments: moments, stage1Ms: Double(t1 - t0) / 1e6, stage2Ms: Double(t2 - t1) / 1e6,
            pFrames: after.pFrames - before.pFrames, decodedFrames: hitsAfter.decoded - hitsBefore.decoded,
            frameCacheHits: hitsAfter.tierHits - hitsBefore.tierHits, refined: moments.allSatisfy(\.refined),
            stage1Videos: stage1.videosScored, stage1Rows: stage1.rowsScored,
            stage2Videos: plan.requests.map(\.video).sorted(), stage1: stage1.mode)
    }

    /// Stage 1's answer as a report: the moments of the plan with no P-frame (what a search
    /// with no P-frame budget returns), ranked on the stored I-features of `videos`.
    private func coarseReport(
        _ stage1: Stage1Plan, k: Int, query: [Float], videos: [Int64: Stage2Video], control: QueryControl,
        since t0: UInt64
    ) throws -> SearchReport {
        let search = MomentSearch()
        let plan = search.plan(stage1.candidates, k: k, videos: videos.mapValues(\.context), pFrameBudget: 0)
        let features = try stage2Features(plan, videos: videos, control: control)
        let moments = search.rank(plan, features: features, query: query, k: k)
        return SearchReport(
            moments: moments, stage1Ms: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6, stage2Ms: 0,
            pFrames: 0, decodedFrames: 0, frameCacheHits: 0, refined: moments.allSatisfy(\.refined),
            stage1Videos: stage1.videosScored, stage1Rows: stage1.rowsScored, stage1: stage1.mode)
    }

    /// Stage 1: the coarse candidates of `query`, best first, and the ready videos they come
    /// from. Above the size threshold the approximate index answers (`Stage1ANN.swift`,
    /// filter included); else the int8 scan over the matrix (`Stage1Build.swift`) of the rows
    /// `filter` admits (`Stage1Selection`).
    func stage1Plan(query: [Float], k: Int, filter: SearchFilter = SearchFilter()) throws -> Stage1Plan {
        if let indexed = try stage1IndexPlan(query: query, k: k, filter: filter) { return indexed }
        let snapshot = try stage1Snapshot()
        let selection =
            filter.isEmpty
            ? nil
            : snapshot.select(
                filter, localPaths: filter.pathPrefix == nil ? [:] : snapshot.ready.compactMapValues(localPath(of:)))
        let candidates = MomentSearch().coarse(
            matrix: snapshot.matrix, query: query, shape: snapshot.shape(within: selection),
            rows: selection?.ranges)
        return Stage1Plan(
            candidates: candidates, ready: snapshot.ready, mode: .exact,
            videosScored: selection?.frames.count ?? snapshot.segments.filter { $0.rows > 0 }.count,
            rowsScored: selection?.rowCount ?? snapshot.matrix.rows.count, allowed: selection?.frames)
    }

    /// Stage 2's decoding budget (`Configuration.refineDecodeBudget`) over the frames the plan
    /// of `candidates` with no budget asks for: what each P-frame would cost to decode from its
    /// original, known before any decode (one tier lookup a video), in 720p frames (seconds
    /// from each needed keyframe x the file's frame rate x (its pixels against 720p + its
    /// bytes a frame / 15.5 KB)). nil when unbounded.
    func refineDecodeBudget(_ candidates: [MomentSearch.Candidate], k: Int, videos: [Int64: Stage2Video]) throws
        -> MomentSearch.DecodeBudget?
    {
        let budget = configuration.refineDecodeBudget
        guard budget.isFinite else { return nil }
        let full = MomentSearch().plan(candidates, k: k, videos: videos.mapValues(\.context))
        var need: [Int64: [Int: [Int]]] = [:]
        var perSecond: [Int64: Double] = [:]
        for r in full.requests {
            guard let v = videos[r.video] else { continue }
            need[r.video] = try reconstructor(for: v.record).framesToDecode(v.source, frames: r.frameIndices)
            let info = try? JSONDecoder().decode(VideoInfo.self, from: Data(v.record.info.utf8))
            let rate = info.map { $0.frameRate > 0 && $0.frameRate.isFinite ? $0.frameRate : 30 } ?? 30
            let pixels = DecodeCost.pixels(width: info?.codedWidth ?? 0, height: info?.codedHeight ?? 0)
            // Entropy decoding follows the bits: a frame's share of the file, 15.5 KB counting
            // as one more 720p frame (x264 720p here: 1.2 ms a frame at 0.1 Mbit/s, 6.6 ms at 14).
            let bytesPerFrame = Double(v.record.size) / max(1, v.record.duration * rate)
            perSecond[r.video] = rate * (DecodeCost.frames(pixels: pixels) + bytesPerFrame / 15_500)
        }
        return MomentSearch.DecodeBudget(budget: budget) { id, frames in
            guard let v = videos[id], let n = need[id], !n.isEmpty else { return 0 }
            let decoded = Set(frames.flatMap { n[$0] ?? [] })
            return Reconstructor.decodeSeconds(v.source, frames: decoded) * (perSecond[id] ?? 0)
        }
    }

    /// One video stage 2 may refine: its row, its stored frames, and what the scoring needs.
    struct Stage2Video {
        var record: VideoRecord
        var source: Reconstructor.Source
        var context: MomentSearch.VideoContext
    }

    /// The videos of `candidates` (stage 1's `ready` rows), read from the store once each. A
    /// video re-indexed or removed since stage 1 is left out (its candidates are dropped), as is one whose stored bytes are
    /// damaged (named in `stage1Counters.skipped`: the others still answer). A file not mounted
    /// here, or changed since it was indexed (and not yet re-indexed), keeps its coarse moments
    /// (`refinable` false): one stale file must not fail every search. `allowed`: the frames
    /// a filter admits of each video (stage 2 looks at no frame outside them).
    func stage2Videos(
        _ candidates: ArraySlice<MomentSearch.Candidate>, ready: [Int64: VideoRecord],
        allowed: [Int64: Range<Int>]?
    ) throws -> [Int64: Stage2Video] {
        var out: [Int64: Stage2Video] = [:]
        var seen = Set<Int64>()
        for id in candidates.map(\.videoID) where seen.insert(id).inserted {
            let v = ready[id]!
            let source: Reconstructor.Source
            do {
                source = try self.source(v)
            } catch StoreError.notReady, StoreError.unknownVideo {
                continue
            } catch let e as StoreError {
                guard case .corruptBlob = e else { throw e }
                stage1.noteSkipped(e.description)
                continue
            }
            var context = MomentSearch.VideoContext(
                id: id, path: v.path, times: source.offsets.map(\.time), fps: v.fps, layout: v.layout)
            context.refinable = isMounted(v) && staleness(v) == nil
            context.allowed = allowed?[id]
            out[id] = Stage2Video(record: v, source: source, context: context)
        }
        return out
    }

    /// The features `plan` asks for, one list per request in its order: stored I-features and
    /// P-features reconstructed, one batched pass per reconstructor (videos indexed with the
    /// same N, p and strategy share one), charged to `control`. `passDone` hears each pass's
    /// request indices and every feature so far (those requests' are filled).
    func stage2Features(
        _ plan: RefinePlan, videos: [Int64: Stage2Video], control: QueryControl,
        passDone: (([Int], [[[Float]]]) -> Void)? = nil
    ) throws -> [[[Float]]] {
        var out = [[[Float]]](repeating: [], count: plan.requests.count)
        var groups: [(reconstructor: Reconstructor, members: [Int])] = []
        for (i, request) in plan.requests.enumerated() {
            let rec = try reconstructor(for: videos[request.video]!.record)
            if let g = groups.firstIndex(where: { $0.reconstructor === rec }) {
                groups[g].members.append(i)
            } else {
                groups.append((rec, [i]))
            }
        }
        for (rec, members) in groups {
            let parts = members.map {
                (source: videos[plan.requests[$0].video]!.source, frames: plan.requests[$0].frameIndices)
            }
            for (i, f) in zip(members, try rec.features(of: parts, control: control)) { out[i] = f }
            passDone?(members, out)
        }
        return out
    }
}
