import Foundation
import Store

// The stage-1 build: the snapshot of the store's generation now, and the matrix of its ready
// videos' I-features, from the previous snapshot, the persisted `<store>.matrix`, or the store.

extension Library {
    /// Stage 1's snapshot as of the store's generation now (see `Stage1Snapshot`): the one in
    /// memory while the generation holds; else the ready videos are listed and the matrix
    /// rebuilt, reusing the rows of videos that did not change.
    func stage1Snapshot() throws -> Stage1Snapshot {
        stage1.lock.lock()
        defer { stage1.lock.unlock() }
        // The generation is read before the listing: a video finished in between is in the
        // listing under the older number, and the next query refreshes again (never misses it).
        let g = try store.generation()
        stage1.counted.generationChecks += 1
        if let s = stage1.current, s.generation == g { return s }
        let ready = try store.videos(status: .ready)
        stage1.counted.listings += 1
        let built = try stage1Matrix(
            ready: ready, previous: stage1.current.map { ($0.segments, $0.matrix) }, counters: &stage1.counted)
        let s = Stage1Snapshot(
            generation: g, ready: Dictionary(uniqueKeysWithValues: ready.map { ($0.id!, $0) }),
            segments: built.segments, matrix: built.matrix)
        stage1.current = s
        return s
    }

    /// Stage-1 matrix of every ready I-feature (see `Stage1Snapshot`).
    func matrix() throws -> IFeatureMatrix { try stage1Snapshot().matrix }

    /// The stage-1 matrix of `ready`: each video's rows from `previous` (the last snapshot in
    /// memory; nil: the persisted file) when they are there at the video's current generation,
    /// else read from the store. The file is rewritten when it was the source and changed
    /// (a running server that follows a library keeps its matrix in memory; its next start
    /// reads the file and only what changed since).
    func stage1Matrix(
        ready: [VideoRecord], previous: (segments: [MatrixFile.Segment], matrix: IFeatureMatrix)?,
        counters: inout Stage1Counters
    ) throws -> (segments: [MatrixFile.Segment], matrix: IFeatureMatrix) {
        let url = URL(fileURLWithPath: store.localBase + ".matrix")
        let dim = model.config.embedDim
        let modelHash = model.weightsSHA256
        let fromFile = previous == nil
        let old = previous ?? MatrixFile.read(url, dim: dim, model: modelHash)
        var byVideo: [Int64: (MatrixFile.Segment, Int)] = [:]
        if let old {
            var start = 0
            for s in old.segments {
                byVideo[s.video] = (s, start)
                start += s.rows
            }
        }
        var m = IFeatureMatrix(dim: dim)
        m.reserve(rows: ready.reduce(0) { $0 + $1.layout.iFrameCount(frames: $1.frameCount) })
        var segments: [MatrixFile.Segment] = []
        var changed = old == nil || old!.segments.count != ready.count
        for v in ready {
            let id = v.id!
            let expectedRows = v.layout.iFrames(in: 0..<v.frameCount)
            if let old, let hit = byVideo[id], hit.0.generation == v.updatedAt,
                old.matrix.rows[hit.1..<(hit.1 + hit.0.rows)].map(\.frame) == expectedRows
            {
                m.append(rowsOf: old.matrix, range: hit.1..<(hit.1 + hit.0.rows))
                segments.append(hit.0)
                counters.videosReused += 1
                continue
            }
            changed = true
            guard let features = try stage1IFeatures(v, skip: { counters.skip($0) }) else { continue }
            let before = m.rows.count
            for f in features { m.append(.init(video: id, frame: f.index), f.vector) }
            segments.append(.init(video: id, generation: v.updatedAt, rows: m.rows.count - before))
            counters.videosLoaded += 1
        }
        if changed && fromFile { MatrixFile.write(url, segments: segments, matrix: m, model: modelHash) }
        return (segments, m)
    }
}
