import Foundation
import Timeline

/// The checks and blob rules a store backend applies outside SQLite (PostgreSQL), phrased
/// exactly as `SQLiteStore`'s so both backends refuse the same input with the same message.
/// `store` is the store's display path, `v` the video row concerned.
public enum StoreRules {
    public static func name(_ v: VideoRecord) -> String { "video \(v.id ?? -1) (\(v.path))" }

    /// `v` when its columns are sound (`VideoRecord.columnProblem`), else `corruptRow`: every
    /// row a store hands out for use passes here, so no reader computes with a damaged N or fps.
    public static func checked(_ v: VideoRecord, store: String) throws -> VideoRecord {
        if let problem = v.columnProblem { throw StoreError.corruptRow(path: store, video: name(v), reason: problem) }
        return v
    }

    /// The rows of a listing that can be used; damaged ones are left to `verify`, which names them,
    /// so one bad row does not take a whole library's search down.
    public static func usable(_ rows: [VideoRecord]) -> [VideoRecord] { rows.filter { $0.columnProblem == nil } }

    /// The model binding rule, the one copy both backends' `bindModel` apply in their
    /// transaction (see `SQLiteStore.bindModel` for what it means): returns the record to keep, and
    /// whether it must be inserted (no model yet) or updated (config hash filled in, tokenizer
    /// changed); throws when the store holds another model.
    public static func bind(
        store: String, existing: ModelRecord?, name: String, config: String, weightsSha256: String,
        tokenizerSha256: String, embedDim: Int
    ) throws -> (record: ModelRecord, insert: Bool, update: Bool) {
        guard embedDim > 0, embedDim <= Int(UInt16.max) else {
            throw StoreError.invalidArgument("embedding dimension \(embedDim) out of range")
        }
        guard let loaded = ModelConfig(config) else {
            throw StoreError.invalidArgument("model config is not JSON: \(config.prefix(200))")
        }
        guard var m = existing else {
            return (
                ModelRecord(
                    id: nil, name: name, config: loaded.json, weightsSha256: weightsSha256,
                    tokenizerSha256: tokenizerSha256,
                    embedDim: embedDim, createdAt: Date().timeIntervalSince1970, configSha256: loaded.sha256), true,
                false
            )
        }
        guard m.weightsSha256 == weightsSha256 else {
            throw StoreError.modelMismatch(path: store, expected: m.weightsSha256, found: weightsSha256)
        }
        guard m.embedDim == embedDim else {
            throw StoreError.invalidArgument(
                "\(store): model \(weightsSha256) was registered with dimension \(m.embedDim), not \(embedDim)")
        }
        var update = false
        if m.configSha256 != loaded.sha256 {
            let stored = ModelConfig(m.config)
            guard let stored, m.configSha256.isEmpty, stored == loaded else {
                throw StoreError.configMismatch(
                    path: store, weights: weightsSha256, stored: stored?.json ?? m.config, loaded: loaded.json,
                    differences: stored?.differences(to: loaded) ?? ["stored config is not JSON"])
            }
            m.config = loaded.json
            m.configSha256 = loaded.sha256
            update = true
        }
        if m.tokenizerSha256 != tokenizerSha256 {
            m.tokenizerSha256 = tokenizerSha256
            update = true
        }
        return (m, false, update)
    }

    /// What `begin` does with the stored versions of a path (see `SQLiteStore.begin`).
    public enum BeginStep {
        /// A ready version with these settings: nothing to do.
        case unchanged(VideoRecord)
        /// A resumable version under another live lease.
        case busy(VideoRecord)
        /// Resume this version; with a lease its lease columns are set here, for the backend to write.
        case resume(VideoRecord)
        /// Delete `dropping` (earlier attempts nobody holds) and insert `video` (already `startingIngest`).
        case start(VideoRecord, dropping: [VideoRecord])
    }

    /// The one decision both backends make in `begin`, from `video` (its `modelId` set) and
    /// every stored version of its path, at the store's `now`.
    public static func begin(_ video: VideoRecord, versions: [VideoRecord], lease: Lease?, now: Double) -> BeginStep {
        if let ready = versions.first(where: { $0.status == .ready && $0.sameIndexing(as: video) }) {
            return .unchanged(ready)
        }
        if var partial = versions.first(where: { $0.status == .indexing && $0.sameIndexing(as: video) }) {
            if partial.leasedByOther(than: lease?.owner, at: now) { return .busy(partial) }
            if let lease {
                partial.leaseOwner = lease.owner
                partial.leaseHeartbeatAt = now
                partial.leaseExpiresAt = now + lease.seconds
            }
            return .resume(partial)
        }
        return .start(
            video.startingIngest(lease: lease, now: now),
            dropping: versions.filter { $0.status != .ready && !$0.leasedByOther(than: lease?.owner, at: now) })
    }

    /// A new version's settings, checked before any row is written.
    public static func checkNew(_ video: VideoRecord) throws {
        guard FeatureCodec(rawValue: video.codec) != nil else {
            throw StoreError.invalidArgument("unknown feature codec \(video.codec)")
        }
        guard video.n >= 0, video.fps > 0, video.timeBaseNum > 0, video.timeBaseDen > 0 else {
            throw StoreError.invalidArgument(
                """
                \(video.path): invalid sampling (N \(video.n), fps \(video.fps), time base \
                \(video.timeBaseNum)/\(video.timeBaseDen))
                """
            )
        }
    }

    /// Checks a chunk against the row it extends (consecutive frames from `frameCount`, exactly
    /// the I-features the layout asks for, each of dimension `dim`) and encodes its two blobs.
    /// `v` with a chunk's shot starts joined to its layout: only for adaptive videos, only
    /// frames inside the chunk (its first one included: a chunk may begin on a cut), after
    /// the ones stored. Checked before the chunk's I-frames are, which they decide.
    public static func adding(shotStarts: [Int], to v: VideoRecord, chunk: Range<Int>, store: String) throws
        -> VideoRecord
    {
        guard !shotStarts.isEmpty else { return v }
        guard v.iframes == IFramePlacement.adaptive.rawValue else {
            throw StoreError.invalidArgument(
                "\(store): \(name(v)) has fixed I-frames; shot starts \(shotStarts.prefix(4)) are not accepted")
        }
        guard shotStarts.allSatisfy(chunk.contains), let grown = try? ShotStarts(v.shotStarts.frames + shotStarts)
        else {
            throw StoreError.invalidArgument(
                """
                \(store): \(name(v)): shot starts \(shotStarts.prefix(8)) must be ascending frames inside the chunk \
                \(chunk.lowerBound)..<\(chunk.upperBound)
                """
            )
        }
        var v = v
        v.shotStarts = grown
        return v
    }

    /// Shot starts as both backends store them (nil for none): varint gaps, see `ShotStarts.decode`.
    public static func encode(_ starts: ShotStarts) -> Data? {
        guard !starts.frames.isEmpty else { return nil }
        var out: [UInt8] = []
        var last = 0
        for f in starts.frames {
            OffsetCodec.varint(UInt64(f - last), &out)
            last = f
        }
        return Data(out)
    }

    /// The shot starts of `v` inside `range` (what a copied chunk carries).
    public static func shotStarts(of v: VideoRecord, in range: Range<Int>) -> [Int] {
        v.shotStarts.frames.filter(range.contains)
    }

    public static func encodeChunk(
        store: String, _ v: VideoRecord, dim: Int, offsets: [FrameOffsetRecord],
        iFeatures: [(index: Int, vector: [Float])]
    ) throws -> RawChunk {
        let first = offsets.first?.index ?? v.frameCount
        guard first == v.frameCount else {
            throw StoreError.invalidArgument(
                "\(store): \(name(v)): chunk starts at frame \(first) but \(v.frameCount) frames are committed")
        }
        let expected = offsets.map(\.index).filter { v.layout.kind(of: $0) == .i }
        guard iFeatures.map(\.index) == expected else {
            throw StoreError.invalidArgument(
                """
                \(store): \(name(v)): chunk at frame \(first) needs I-features for frames \(expected), got \
                \(iFeatures.map(\.index))
                """
            )
        }
        guard let codec = FeatureCodec(rawValue: v.codec) else {
            throw StoreError.invalidArgument("unknown codec \(v.codec)")
        }
        if let bad = iFeatures.first(where: { $0.vector.count != dim }) {
            throw StoreError.invalidArgument(
                "\(store): \(name(v)) frame \(bad.index): feature has \(bad.vector.count) dimensions, the model \(dim)")
        }
        do {
            return RawChunk(
                firstFrame: first, frameCount: offsets.count, offsets: try OffsetCodec.encode(offsets),
                features: try codec.encode(iFeatures.flatMap(\.vector), dim: dim))
        } catch {
            throw StoreError.invalidArgument("\(store): \(name(v)) chunk at frame \(first): \(error)")
        }
    }

    /// A chunk copied from another store: it must continue the video and decode to this
    /// video's layout, codec and the model's dimension.
    public static func checkRaw(store: String, _ v: VideoRecord, _ c: RawChunk, dim: Int) throws {
        guard c.firstFrame == v.frameCount, c.frameCount > 0 else {
            throw StoreError.invalidArgument(
                "\(store): \(name(v)): chunk starts at frame \(c.firstFrame) but \(v.frameCount) frames are committed")
        }
        _ = try decodeOffsets(store: store, c, v)
        let features = try decodeFeatures(store: store, c, v)
        let h = try? FeatureCodec.header(c.features)
        guard features.allSatisfy({ $0.vector.count == dim }), h == nil || h!.codec.rawValue == v.codec else {
            throw StoreError.invalidArgument(
                "\(store): \(name(v)) chunk at frame \(c.firstFrame): features are not \(v.codec) x \(dim)")
        }
    }

    public static func decodeOffsets(store: String, _ c: RawChunk, _ v: VideoRecord) throws -> [FrameOffsetRecord] {
        do {
            let o = try OffsetCodec.decode(c.offsets)
            guard o.count == c.frameCount, o.first?.index == c.firstFrame else {
                throw BlobError(
                    """
                    offsets blob holds \(o.count) frames from \(o.first?.index ?? -1), the row says \(c.frameCount) \
                    from \(c.firstFrame)
                    """
                )
            }
            return o
        } catch {
            throw StoreError.corruptBlob(
                path: store, video: name(v), frame: c.firstFrame,
                reason: "frame offsets: \(error) (chunk of frames \(c.firstFrame)..<\(c.firstFrame + c.frameCount))")
        }
    }

    public static func decodeFeatures(store: String, _ c: RawChunk, _ v: VideoRecord) throws -> [(
        index: Int, vector: [Float]
    )] {
        let indices = Array(v.layout.iFrames(in: c.firstFrame..<(c.firstFrame + c.frameCount)))
        do {
            let (dim, values) = try FeatureCodec.decode(c.features)
            guard values.count == indices.count * dim else {
                throw BlobError(
                    "features blob holds \(values.count / max(1, dim)) vectors, the chunk has \(indices.count) I-frames"
                )
            }
            return indices.enumerated().map { ($1, Array(values[$0 * dim..<($0 + 1) * dim])) }
        } catch {
            throw StoreError.corruptBlob(
                path: store, video: name(v), frame: indices.first ?? c.firstFrame,
                reason: "I-features: \(error) (chunk of frames \(c.firstFrame)..<\(c.firstFrame + c.frameCount))")
        }
    }

    /// Problems of one video's chunks: undecodable blobs, a codec or dimension other than the
    /// row's, frames missing or stored twice, a frame count that is not what is stored.
    public static func verify(store: String, _ v: VideoRecord, chunks: [RawChunk], dim: Int?) -> [String] {
        var it = chunks.makeIterator()
        return (try? verify(store: store, v, dim: dim, next: { it.next() })) ?? []
    }

    /// As above, chunks in frame order from `next` (nil at the end), one at a time: a store can
    /// stream them from a cursor instead of holding a whole video's blobs.
    public static func verify(store: String, _ v: VideoRecord, dim: Int?, next nextChunk: () throws -> RawChunk?) throws
        -> [String]
    {
        if let problem = v.columnProblem {
            return [StoreError.corruptRow(path: store, video: name(v), reason: problem).description]
        }
        var problems: [String] = []
        var next = 0
        while let c = try nextChunk() {
            do {
                _ = try decodeOffsets(store: store, c, v)
                if let dim, let h = try? FeatureCodec.header(c.features), h.dim != dim || h.codec.rawValue != v.codec {
                    problems.append(
                        """
                        \(store): \(name(v)) frame \(c.firstFrame): features are \(h.codec.rawValue) x \(h.dim), the \
                        video says \(v.codec) x \(dim)
                        """
                    )
                }
                _ = try decodeFeatures(store: store, c, v)
            } catch { problems.append("\(error)") }
            if c.firstFrame != next {
                problems.append(
                    c.firstFrame > next
                        ? "\(store): \(name(v)): frames \(next)..<\(c.firstFrame) missing"
                        : "\(store): \(name(v)): frames \(c.firstFrame)..<\(next) stored twice")
            }
            next = c.firstFrame + c.frameCount
        }
        if next != v.frameCount {
            problems.append("\(store): \(name(v)): \(v.frameCount) frames recorded, \(next) stored")
        }
        return problems
    }
}
