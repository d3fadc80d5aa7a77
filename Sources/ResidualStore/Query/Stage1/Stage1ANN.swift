import Foundation
import Store
import Support
import Synchronization
import Tensor
import Timeline

/// Ids in the index: the video in the high bits, the frame in the low ones.
package enum Stage1ANNIDs {
    package static let shift = 26
    package static func id(video: Int64, frame: Int) -> Int64 { video << Int64(shift) | Int64(frame) }
    package static func video(_ id: Int64) -> Int64 { id >> Int64(shift) }
    package static func frame(_ id: Int64) -> Int { Int(id & ((1 << Int64(shift)) - 1)) }

    /// The videos stage 1 builds curves for: those of the best hits, best first, at most
    /// `limit`, only those `include` accepts (ready ones; a filter on videos applies here).
    package static func candidateVideos(_ hits: [(id: Int64, score: Float)], limit: Int, include: (Int64) -> Bool)
        -> [Int64]
    {
        var seen = Set<Int64>()
        var out: [Int64] = []
        for h in hits {
            let v = video(h.id)
            guard seen.insert(v).inserted, include(v) else { continue }
            out.append(v)
            if out.count == limit { break }
        }
        return out
    }

    /// The first of `videos` (best first) whose I-features total at most `max` rows, the first
    /// one whatever its size: what one query reads and holds for its curves is bounded, however
    /// long the candidate videos are.
    package static func withinRows(_ videos: [Int64], max: Int, rows: (Int64) -> Int) -> [Int64] {
        var total = 0
        var out: [Int64] = []
        for v in videos {
            total += rows(v)
            if total > max && !out.isEmpty { break }
            out.append(v)
        }
        return out
    }
}

/// The approximate index and what it was built from, kept by one library and followed by
/// store generation the way `Stage1Cache` follows it for the exact matrix.
///
/// Why: the exact scan holds every I-feature (int8: 1.2 GB per 1,000 video-hours) and reads
/// all of them per query. The index holds a compressed code per I-feature and reads only a few
/// inverted lists; stage 1 then builds the curves of the videos its best hits fall in, from
/// the store through a bounded cache, and proposes moments on them as the exact path does.
///
/// Every server keeps its own index file beside its local store path and brings it up to the
/// store's generation on its first query after a change (videos gone or re-indexed are
/// removed, new ones read from the store and added): for a shared PostgreSQL library, every
/// server follows the store the way it follows it for the matrix, no file is shared between
/// machines. One mutex serialises the index's updates and searches.
final class Stage1ANNCache: @unchecked Sendable {
    struct State {
        var index: FaissIndex?
        var factory: String
        var segments: [Int64: MatrixFile.Segment] = [:]
        var trainedOn = 0
        var generation: Int64 = -1
        var ready: [Int64: VideoRecord] = [:]
        var rows: Int { segments.values.reduce(0) { $0 + $1.rows } }
    }

    let lock = NSLock()
    var state: State?
    /// The ready listing as of one generation (what `.auto` counts I-features from).
    var listing: (generation: Int64, ready: [VideoRecord])?
    /// Warnings about the index file (damaged, stale, not written), the last 20.
    var warnings: [String] = []
    var features = FeatureLRU()

    func warn(_ message: String) {
        warnings = Array((warnings + [message]).suffix(20))
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    /// Candidate videos' I-features as int8 rows, least recently used evicted past a byte budget.
    struct FeatureLRU {
        var entries: [Int64: (generation: Double, matrix: IFeatureMatrix, used: UInt64)] = [:]
        var bytes = 0
        var clock: UInt64 = 0

        mutating func get(_ id: Int64, generation: Double) -> IFeatureMatrix? {
            guard let e = entries[id], e.generation == generation else { return nil }
            clock += 1
            entries[id]!.used = clock
            return e.matrix
        }

        mutating func put(_ id: Int64, generation: Double, _ m: IFeatureMatrix, budget: Int) {
            if let old = entries.removeValue(forKey: id) { bytes -= Self.cost(old.matrix) }
            clock += 1
            entries[id] = (generation, m, clock)
            bytes += Self.cost(m)
            while bytes > budget, entries.count > 1, let victim = entries.min(by: { $0.value.used < $1.value.used }) {
                entries.removeValue(forKey: victim.key)
                bytes -= Self.cost(victim.value.matrix)
            }
        }

        static func cost(_ m: IFeatureMatrix) -> Int { m.rows.count * (m.dim + 4 + 16) }
    }
}

/// The index's footprint, for `rstore stats`.
package struct Stage1IndexInfo: Sendable, Codable {
    package var path: String
    package var fileBytes: Int
    package var rows: Int
    package var videos: Int
    package var factory: String
}

extension Library {
    /// Stage 1 on the approximate index when the settings (mode, or the library's size against
    /// the threshold) call for it; nil: the exact scan answers. An index that cannot be built
    /// or searched (a library too small to train the configured quantisers, memory) is warned
    /// about and the scan answers: it must not take search down. A filter is applied here too,
    /// so a filtered query on an archive never loads the whole matrix.
    func stage1IndexPlan(query: [Float], k: Int, filter: SearchFilter = SearchFilter()) throws -> Stage1Plan? {
        let settings = configuration.stage1
        switch settings.mode {
        case .exact: return nil
        case .auto: guard try readyIFeatureCount() >= settings.annThreshold else { return nil }
        case .ann: break
        }
        do {
            return try annPlan(query: query, k: k, filter: filter)
        } catch let e as FaissIndex.FaissError {
            stage1ANN.lock.withLock { stage1ANN.warn("stage-1 index \(annFileURL.path): \(e); searching exactly") }
            return nil
        }
    }

    /// Stored I-features of the ready videos, from a listing kept per store generation.
    func readyIFeatureCount() throws -> Int {
        let g = try store.generation()
        return try stage1ANN.lock.withLock {
            if stage1ANN.listing?.generation != g { stage1ANN.listing = (g, try store.videos(status: .ready)) }
            return stage1ANN.listing!.ready.reduce(0) { $0 + $1.layout.iFrameCount(frames: $1.frameCount) }
        }
    }

    /// The approximate path: the index's best I-features, the videos they fall in, the exact
    /// coarse proposals of those videos only. With a filter: when it admits no more videos than
    /// the index path would read anyway, those videos are scored whole (exactly the scan's
    /// moments); else the index is asked for more hits (as many more as the filter is narrow,
    /// capped) and only admitted videos become candidates, each scored within its admitted span.
    func annPlan(query: [Float], k: Int, filter: SearchFilter = SearchFilter()) throws -> Stage1Plan {
        let settings = configuration.stage1
        let g = try store.generation()
        return try stage1ANN.lock.withLock {
            let state = try syncANN(generation: g)
            let admitted = filter.isEmpty ? nil : admittedFrames(filter, ready: state.ready)
            guard let index = state.index, index.count > 0, admitted?.isEmpty != true else {
                return Stage1Plan(
                    candidates: [], ready: state.ready, mode: .ann, videosScored: 0, rowsScored: 0, allowed: admitted)
            }
            let limit = max(settings.minVideos, k * settings.videosPerResult)
            let rows = { (id: Int64) in state.ready[id].map { $0.layout.iFrameCount(frames: $0.frameCount) } ?? 0 }
            let videos: [Int64]
            if let admitted, admitted.count <= limit {
                videos = admitted.keys.sorted()
            } else {
                var hits = max(settings.minHits, k * settings.hitsPerResult)
                if let admitted {
                    let all = state.ready.keys.reduce(0) { $0 + rows($1) }
                    let some = admitted.keys.reduce(0) { $0 + rows($1) }
                    let widen = Double(all) / Double(max(1, some))
                    hits = min(settings.maxFilteredHits, Int((Double(hits) * widen).rounded(.up)))
                }
                let found = try index.search(query, k: hits, nprobe: settings.nprobe)
                let named = Stage1ANNIDs.candidateVideos(found, limit: limit) {
                    state.ready[$0] != nil && (admitted == nil || admitted![$0] != nil)
                }
                videos = Stage1ANNIDs.withinRows(named, max: settings.maxCandidateRows, rows: rows)
            }
            var scored: [(matrix: IFeatureMatrix, rows: Range<Int>)] = []
            var shape: [Int64: (layout: FrameLayout, frames: Int)] = [:]
            let loaded = try candidateRows(videos.compactMap { state.ready[$0] })
            for id in videos {
                guard let v = state.ready[id], let rows = loaded[id] else { continue }
                let span = admitted?[id] ?? 0..<v.frameCount
                // Rows of a video are in frame order: the admitted ones are one run.
                let admittedRows = rows.rowRange(frames: span)
                guard !admittedRows.isEmpty else { continue }
                scored.append((rows, admittedRows))
                shape[id] = (v.layout, min(v.frameCount, span.upperBound))
            }
            let candidates = MomentSearch().coarse(videos: scored, query: query, shape: shape)
            return Stage1Plan(
                candidates: candidates, ready: state.ready, mode: .ann, videosScored: shape.count,
                rowsScored: scored.reduce(0) { $0 + $1.rows.count }, allowed: admitted)
        }
    }

    /// The frames `filter` admits of each ready video it admits (videos whose span is empty
    /// left out), decided from the listing alone: no I-feature is read.
    private func admittedFrames(_ filter: SearchFilter, ready: [Int64: VideoRecord]) -> [Int64: Range<Int>] {
        var out: [Int64: Range<Int>] = [:]
        for (id, v) in ready where v.frameCount > 0 {
            guard filter.admits(v, localPath: filter.pathPrefix == nil ? nil : localPath(of: v)) else { continue }
            let span = filter.frames(count: v.frameCount, fps: v.fps)
            if !span.isEmpty { out[id] = span }
        }
        return out
    }

    /// The candidate videos' I-features as int8 rows (the exact path's quantisation, so a
    /// curve is the one the scan would build), by id; a video whose bytes are damaged is left
    /// out and named. The ones the feature cache does not hold are read from the store on two
    /// threads (each read and its quantisation is one video's, independent of the others: a
    /// cold first query reads ~160), and cached. The first error, in `vs` order, is thrown.
    private func candidateRows(_ vs: [VideoRecord]) throws -> [Int64: IFeatureMatrix] {
        var out: [Int64: IFeatureMatrix] = [:]
        var missing: [VideoRecord] = []
        for v in vs {
            if let m = stage1ANN.features.get(v.id!, generation: v.updatedAt) {
                out[v.id!] = m
            } else {
                missing.append(v)
            }
        }
        let read = { (v: VideoRecord) throws -> IFeatureMatrix? in
            guard let features = try self.stage1IFeatures(v, skip: self.stage1.noteSkipped) else { return nil }
            var m = IFeatureMatrix(dim: self.model.config.embedDim)
            m.reserve(rows: features.count)
            for f in features { m.append(.init(video: v.id!, frame: f.index), f.vector) }
            return m
        }
        let results = Mutex([Result<IFeatureMatrix?, Error>?](repeating: nil, count: missing.count))
        let next = Mutex(0)
        parallelWorkers(min(2, BLAS.threads, missing.count)) { _ in
            while true {
                let i: Int? = next.withLock { n in
                    guard n < missing.count else { return nil }
                    defer { n += 1 }
                    return n
                }
                guard let i else { return }
                let r = Result { try read(missing[i]) }
                results.withLock { $0[i] = r }
            }
        }
        for (v, r) in zip(missing, results.withLock { $0 }) {
            guard let m = try r!.get() else { continue }
            out[v.id!] = m
            stage1ANN.features.put(v.id!, generation: v.updatedAt, m, budget: configuration.stage1.featureCacheBytes)
        }
        return out
    }

    /// Brings the index up to the store's generation `g` (caller holds the lock): loads the
    /// file on first use (rebuilt with a warning when it fails a check), removes videos gone or
    /// re-indexed, trains when there is no index yet, adds new videos, rewrites the file when
    /// anything changed.
    func syncANN(generation g: Int64) throws -> Stage1ANNCache.State {
        if let s = stage1ANN.state, s.generation == g { return s }
        let url = annFileURL
        let dim = model.config.embedDim
        let modelHash = model.weightsSHA256
        let settings = configuration.stage1
        var changed = false
        var state: Stage1ANNCache.State
        if let s = stage1ANN.state {
            state = s
        } else {
            do {
                if let c = try Stage1ANNFile.read(url, dim: dim, model: modelHash, factory: settings.factory) {
                    state = .init(
                        index: c.index, factory: c.factory,
                        segments: Dictionary(uniqueKeysWithValues: c.segments.map { ($0.video, $0) }),
                        trainedOn: c.trainedOn)
                } else {
                    state = .init(index: nil, factory: "")
                    changed = true
                }
            } catch {
                stage1ANN.warn("stage-1 index \(url.path) \(error); rebuilding it from the store")
                state = .init(index: nil, factory: "")
                changed = true
            }
        }
        if stage1ANN.listing?.generation != g { stage1ANN.listing = (g, try store.videos(status: .ready)) }
        let ready = stage1ANN.listing!.ready
        let byID = Dictionary(uniqueKeysWithValues: ready.map { ($0.id!, $0) })
        let total = ready.reduce(0) { $0 + $1.layout.iFrameCount(frames: $1.frameCount) }
        if state.index != nil, total > settings.retrainGrowth * max(1, state.trainedOn) {
            stage1ANN.warn(
                """
                stage-1 index \(url.path) trained on \(state.trainedOn) I-features, the library holds \(total): \
                training it again
                """
            )
            state = .init(index: nil, factory: "")
        }
        // Gone or re-indexed (a new row id, or a new `updatedAt`): their entries go.
        let stale = state.segments.values.filter { byID[$0.video]?.updatedAt != $0.generation }.map(\.video)
        if !stale.isEmpty, let index = state.index {
            try index.remove(groups: stale, shift: Stage1ANNIDs.shift)
            for v in stale { state.segments.removeValue(forKey: v) }
            changed = true
        }
        let toAdd = ready.filter { state.segments[$0.id!] == nil }
        if state.index == nil, !toAdd.isEmpty {
            state.factory = settings.factory ?? Stage1Settings.defaultFactory(rows: total, dim: dim)
            let index = try FaissIndex(dim: dim, factory: state.factory)
            try index.train(try trainingSample(toAdd, rows: Stage1Settings.trainingRows(lists: max(1, index.lists))))
            state.index = index
            state.trainedOn = total
            changed = true
        }
        for v in toAdd {
            guard let vectors = try annVectors(v) else { continue }
            try state.index!.add(vectors.flat, ids: vectors.ids)
            state.segments[v.id!] = .init(video: v.id!, generation: v.updatedAt, rows: vectors.ids.count)
            changed = true
        }
        state.generation = g
        state.ready = byID
        if changed, let index = state.index {
            let segments = state.segments.values.sorted { $0.video < $1.video }
            do {
                try Stage1ANNFile.write(
                    url,
                    .init(
                        index: index, segments: segments, trainedOn: state.trainedOn, generation: g,
                        factory: state.factory),
                    model: modelHash)
            } catch {
                stage1ANN.warn("stage-1 index \(url.path) not written (\(error)); serving it from memory")
            }
        }
        stage1ANN.state = state
        return state
    }

    var annFileURL: URL { URL(fileURLWithPath: store.localBase + ".ann") }

    /// The factory string recorded in an index file's header.
    static func factoryName(of url: URL) -> String? {
        guard let h = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? h.close() }
        guard let d = try? h.read(upToCount: Stage1ANNFile.headerSize), d.count == Stage1ANNFile.headerSize else {
            return nil
        }
        return String(decoding: d.suffix(64).prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Unit-length I-features of `v` with their ids; nil (and named) when its bytes are damaged.
    private func annVectors(_ v: VideoRecord) throws -> (flat: [Float], ids: [Int64])? {
        let inRange: ([(index: Int, vector: [Float])]) throws -> Void = { features in
            if let f = features.first(where: { $0.index >= 1 << Stage1ANNIDs.shift }) {
                throw StoreError.corruptBlob(
                    path: self.store.path, video: StoreRules.name(v), frame: f.index,
                    reason: "frame index past the index's id range")
            }
        }
        guard let features = try stage1IFeatures(v, check: inRange, skip: stage1.noteSkipped) else { return nil }
        var flat: [Float] = []
        flat.reserveCapacity(features.count * model.config.embedDim)
        for f in features { flat.append(contentsOf: VectorMath.normalized(f.vector)) }
        return (flat, features.map { Stage1ANNIDs.id(video: v.id!, frame: $0.index) })
    }

    /// About `rows` unit I-features from videos spread over `videos` (every few videos, whole).
    private func trainingSample(_ videos: [VideoRecord], rows: Int) throws -> [Float] {
        let total = videos.reduce(0) { $0 + $1.layout.iFrameCount(frames: $1.frameCount) }
        let step = max(1, Int((Double(total) / Double(max(1, rows))).rounded(.down)))
        var out: [Float] = []
        for (i, v) in videos.enumerated() where i % step == 0 {
            if let vectors = try annVectors(v) { out.append(contentsOf: vectors.flat) }
            if out.count >= rows * model.config.embedDim { break }
        }
        return out
    }

    /// The index file's footprint, nil when there is none (the library is searched exactly).
    package func stage1IndexInfo() -> Stage1IndexInfo? {
        let url = annFileURL
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: url.path), let size = attrs[.size] as? Int,
            let h = try? FileHandle(forReadingFrom: url), let d = try? h.read(upToCount: Stage1ANNFile.headerSize),
            d.count == Stage1ANNFile.headerSize, d.prefix(4) == Stage1ANNFile.magic
        else { return nil }
        try? h.close()
        var r = ByteReader(d)
        _ = r.bytes(12)
        let videos = Int(r.u32())
        let rows = Int(r.u64())
        return Stage1IndexInfo(
            path: url.path, fileBytes: size, rows: rows, videos: videos, factory: Self.factoryName(of: url) ?? "")
    }

    /// Warnings about the index file in this process (damaged, stale or not written).
    package var stage1IndexWarnings: [String] { stage1ANN.lock.withLock { stage1ANN.warnings } }
}
