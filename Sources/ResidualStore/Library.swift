import CLIP
import Digest
import Foundation
import Store
import Support
import Tensor
import Timeline
import Video

/// The engine: a video library backed by a feature store. Composes the video layer, the
/// (residual) CLIP encoder and the store; the CLI and the HTTP server are thin layers on it.
public final class Library: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// How files are indexed from now on (fps, N, p, strategy, I-frame placement, codec,
        /// chunk size); checked once when the library opens. A stored video keeps its own.
        public var recipe = IndexRecipe.default
        /// What ranks patches for the motion strategy in files indexed from now on: codec
        /// vectors (where the codec exports them; they need every frame decoded, on one
        /// thread) or the pixel difference to the anchor (the sampled frames suffice). nil:
        /// `defaultMotionSource`. A file keeps the source it was indexed with.
        public var motionSource: MotionSource? = nil
        /// The pixel difference: measured no less faithful than codec vectors and it lets ingest
        /// skip unsampled non-reference frames on frame threads (docs/DESIGN.md, "Motion source").
        public static let defaultMotionSource = MotionSource.pixels
        public var frameCacheBytes = 512 << 20
        /// Byte budget of the on-disk decoded-frame tier's P-frames beside the store (0: no
        /// tier); nil: follows the library's size, capped by free disk (`TierBudget`).
        public var frameTierBytes: Int? = nil
        public var featureCacheBytes = 128 << 20
        /// Stage 2 decoding an original (frames the tier does not hold) skips the deblocking
        /// filter of the frames it decodes only to reach a wanted one: ~25% less decode time
        /// on deblocked H.264, but P-features drift from a full decode's (measured mean cosine
        /// 0.998, min 0.885 on the `bench search` library: docs/DESIGN.md, "Stage 2 beyond the
        /// tier"), so off by default: every frame decoded in full, as ingest decodes.
        public var deblockTargetsOnly = false
        /// What stage 2 of one search may plan to decode from originals (frames neither the
        /// memory nor the tier holds), in 720p frames from each needed keyframe, each weighted
        /// by its pixels and its share of the file's bytes (`Library.refineDecodeBudget(_:videos:)`):
        /// candidates past it keep coarse boundaries, flagged, in rank order, the best one always
        /// refined. Measured ~2 s a first query beyond the tier on two cores (docs/DESIGN.md,
        /// "Stage 2 beyond the tier"); `.infinity`: refine every candidate.
        public var refineDecodeBudget = Configuration.defaultRefineDecodeBudget
        public static let defaultRefineDecodeBudget = 3000.0
        public var batch = 16
        /// Fail damaged or truncated files (as `--strict`) instead of indexing what decodes.
        public var strict = false
        /// A file another live ingest is indexing: wait for it (true) or skip it (false).
        public var waitForLeases = true
        /// Lease lifetime without a heartbeat (see `Lease`).
        public var leaseSeconds = Lease.defaultSeconds
        /// Named library roots mounted here: files under one are stored root-relative, and
        /// stored root-relative paths become files through them (see `RootMounts`).
        public var roots = RootMounts()
        /// Stage 1 of search: exact scan, approximate index, or by library size (see `Stage1Settings`).
        public var stage1 = Stage1Settings()

        public init() {}
    }

    // The store and the model are the engine's own: front ends (CLI, server) go through the
    // methods below, so every rule (readiness, freshness, layout, limits) is applied once.
    // The store is any backend behind the one protocol (SQLite, PostgreSQL).
    let store: any FeatureStoring
    let model: CLIPModel
    public let configuration: Configuration
    /// The residual tokenizer A in use (A = 0 when none was given).
    public let tokenizer: ResidualTokenizer
    /// Decoded frames shared by every reconstructor.
    public let frameCache: FrameCache
    /// The on-disk decoded-frame tier (`<store>.frames`), nil when disabled or unusable.
    package let frameTier: FrameTier?
    let modelRecord: ModelRecord
    private let reconstructorLock = NSLock()
    private var reconstructors: [String: Reconstructor] = [:]
    /// Stage 1's matrix and ready videos, following the store's generation.
    let stage1 = Stage1Cache()
    /// Stage 1's approximate index over large libraries, following the store's generation.
    let stage1ANN = Stage1ANNCache()
    /// Files found unchanged since indexing, in this process (see `checkFresh`).
    let freshness = FreshnessCache()

    /// Opens (or creates) the store at `storeURL` for `model`; `tokenizer` is the residual
    /// tokenizer A (nil: A = 0, token reduction only).
    public convenience init(
        store storeURL: URL, model: CLIPModel, tokenizer: ResidualTokenizer? = nil,
        configuration: Configuration = .init()
    ) throws {
        try self.init(
            opening: { try SQLiteStore(url: storeURL) }, model: model, tokenizer: tokenizer,
            configuration: configuration)
    }

    /// Opens the store `open` gives (SQLite, PostgreSQL: any `FeatureStoring`) for `model`,
    /// after the settings are validated; side files go beside `store.localBase`.
    public init(
        opening open: () throws -> any FeatureStoring, model: CLIPModel, tokenizer: ResidualTokenizer? = nil,
        configuration: Configuration = .init()
    ) throws {
        let a = tokenizer ?? .zero(for: model)
        self.model = model
        self.configuration = configuration
        self.tokenizer = a
        // Validates the recipe, then N, p and A against the model, before anything is opened.
        try configuration.recipe.validate()
        _ = try ResidualEncoder(
            model: model, tokenizer: a, n: configuration.recipe.n,
            reduction: TokenReduction(p: configuration.recipe.p, strategy: configuration.recipe.strategy))
        store = try open()
        let config = String(decoding: try JSONEncoder().encode(model.config), as: UTF8.self)
        modelRecord = try store.bindModel(
            name: model.config.archName, config: config, weightsSha256: model.weightsSHA256,
            tokenizerSha256: a.isZero ? "" : Self.sha(of: a), embedDim: model.config.embedDim)
        frameCache = FrameCache(byteBudget: configuration.frameCacheBytes, compress: true)
        frameTier = Self.openFrameTier(
            store: URL(fileURLWithPath: store.localBase), model: model, bytes: configuration.frameTierBytes)
        refreshTierBudget()
    }

    /// The reconstructor for a video's own N, p and strategy (videos may be indexed with
    /// different settings; all share the frame cache).
    package func reconstructor(for v: VideoRecord) throws -> Reconstructor {
        let key = "\(v.n)/\(v.p)/\(v.strategy)"
        reconstructorLock.lock()
        defer { reconstructorLock.unlock() }
        if let r = reconstructors[key] { return r }
        let encoder = try ResidualEncoder(
            model: model, tokenizer: tokenizer, n: v.n,
            reduction: TokenReduction(p: v.p, strategy: v.reductionStrategy()))
        let r = Reconstructor(encoder: encoder, frameCache: frameCache, featureBudget: configuration.featureCacheBytes)
        r.tier = frameTier
        r.deblockTargetsOnly = configuration.deblockTargetsOnly
        reconstructors[key] = r
        return r
    }

    static func sha(of a: ResidualTokenizer) -> String {
        var d = Data()
        for v in a.weight + a.bias { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return SHA256.hex(d)
    }

    // MARK: Videos

    /// A stored video by id ("42") or path.
    public func video(_ ref: String) throws -> VideoRecord {
        if let id = Int64(ref) { return try store.video(id: id) }
        if case .rooted = StoredPath(ref) { return try store.readyVideo(path: ref) }
        let url = URL(fileURLWithPath: ref).standardizedFileURL
        let stored = try configuration.roots.storedPath(for: url)
        do { return try store.readyVideo(path: stored) } catch StoreError.unknownVideo where stored != url.path {
            return try store.readyVideo(path: url.path)  // indexed before the root was named
        }
    }

    /// A stored video (one indexed version of a file) as front ends see it; the store's row.
    public typealias StoredVideo = VideoRecord
    /// What was concealed while a video was indexed (see `VideoRecord.damageReport`).
    public typealias DamageReport = Video.DamageReport

    /// A stored video by id (`StoreError.unknownVideo` when there is none).
    public func video(id: Int64) throws -> VideoRecord { try store.video(id: id) }

    /// Every stored video, or those with `status`.
    public func videos(status: VideoRecord.Status? = nil) throws -> [VideoRecord] { try store.videos(status: status) }

    /// Row counts and sizes of the store.
    public func stats() throws -> StoreStats { try store.stats() }

    /// Where the store lives (for messages).
    public var storePath: String { store.path }

    /// A number that changes whenever the set of ready videos changes (another process finished
    /// or replaced one): a long-running front end compares it to know when to look again.
    public func generation() throws -> Int64 { try store.generation() }
    /// The CLIP architecture name, its embedding width and its weights' SHA-256.
    public var modelName: String { model.config.archName }
    public var embedDim: Int { model.config.embedDim }
    public var weightsSHA256: String { model.weightsSHA256 }

    /// One sampled frame of a video's timeline: when it is, and whether its feature is stored
    /// (I) or reconstructed from `anchor` (P).
    public struct TimelineFrame: Sendable, Codable, Equatable {
        public var index: Int
        public var time: Double
        public var kind: FrameKind
        public var anchor: Int
    }

    /// The sampled-frame timeline of a stored video (no decoding, no features).
    public func timeline(_ v: VideoRecord) throws -> [TimelineFrame] { try timeline(v, frames: 0..<Int.max) }

    /// The stored sample points of `v` as the video layer seeks them.
    func offsets(of v: VideoRecord) throws -> [FrameOffset] { try store.offsets(of: v).map(FrameOffset.init) }

    /// Fails with `StoreError.notReady` unless `v` is ready: the one readiness check of every
    /// query (embeddings, curves, grounding). Public so front ends can say "not ready" before
    /// weighing a request's size (a range over budget of a video still indexing is not ready first).
    package func requireReady(_ v: VideoRecord) throws {
        guard v.status == .ready else {
            throw StoreError.notReady(path: store.path, video: v.path, status: v.status.rawValue)
        }
    }

    /// A frame of a stored video as the library knows it.
    public struct FrameEmbedding: Sendable, Codable {
        public var index: Int
        public var time: Double
        public var kind: FrameKind
        public var anchor: Int
        public var vector: [Float]
    }

    /// Decoded offsets and I-features of recently used videos (keyed by id and version), so
    /// repeated queries of a video do not decode its blobs again; bounded by bytes.
    private let sources = ByteBudgetLRU<String, Reconstructor.Source>(byteBudget: 64 << 20)
    /// Embeddings of recent query texts.
    private let queries = ByteBudgetLRU<String, [Float]>(byteBudget: 4 << 20)

    func source(_ v: VideoRecord) throws -> Reconstructor.Source {
        let key = "\(v.id ?? -1)@\(v.updatedAt)"
        if let cached = sources.get(key) { return cached }
        let src = try loadSource(v)
        let iFrames = v.layout.iFrameCount(frames: v.frameCount)
        sources.put(
            key, src, cost: v.frameCount * MemoryLayout<FrameOffset>.stride + iFrames * (model.config.embedDim * 4 + 64)
        )
        return src
    }

    private func loadSource(_ v: VideoRecord) throws -> Reconstructor.Source {
        let offsets = try offsets(of: v)
        let stored = try store.iFeatures(of: v)
        try checkConsistent(v, offsets: offsets, iFeatures: stored)
        return makeSource(v, offsets: offsets, iFeatures: stored)
    }

    /// The source of the sampled frames of `v` in `frames` and their anchors, read from the
    /// chunks of that window only (a ranged request of a month-long file reads its range, not
    /// millions of offsets); the whole video's source (cached) when the window is all of it.
    func source(_ v: VideoRecord, frames: Range<Int>) throws -> Reconstructor.Source {
        guard let id = v.id, !frames.isEmpty else { return try source(v) }
        let window = v.layout.anchor(of: frames.lowerBound)..<frames.upperBound
        if window.count >= v.frameCount { return try source(v) }
        let offsets = try store.frameOffsets(video: id, range: window).map(FrameOffset.init)
        let stored = try store.iFeatures(video: id, frames: window)
        try checkConsistent(v, offsets: offsets, iFeatures: stored, window: window)
        var src = makeSource(v, offsets: offsets, iFeatures: stored)
        src.firstIndex = window.lowerBound
        return src
    }

    private func makeSource(_ v: VideoRecord, offsets: [FrameOffset], iFeatures stored: [(index: Int, vector: [Float])])
        -> Reconstructor.Source
    {
        let features = Dictionary(uniqueKeysWithValues: stored.map { ($0.index, $0.vector) })
        let path = store.path
        let name = v.path
        // A root not mounted here leaves the stored name: `checkFile` (before any pixel is read)
        // then answers `RootError.notMounted`.
        let url = (try? file(of: v)) ?? URL(fileURLWithPath: v.path)
        var source = Reconstructor.Source(
            url: url, contentHash: v.contentHash, fps: v.fps,
            maskSeed: UInt64(bitPattern: v.maskSeed), offsets: offsets, layout: v.layout,
            iFeature: { k in
                guard let f = features[k] else {
                    throw StoreError.corruptBlob(path: path, video: name, frame: k, reason: "no stored I-feature")
                }
                return f
            }, checkFile: { [weak self] in try self?.checkFresh(v) })
        source.damaged = v.damage != nil
        source.motionSource = MotionSource(stored: v.motionSource)
        return source
    }

    /// What was read of `v` is the whole of one version: every frame's offset in order and every
    /// I-feature at the model's width. Otherwise either the row was re-indexed or removed while
    /// it was being read (its chunks went with it: `notReady`, a clean 409, never a trap on a
    /// short list) or its bytes are damaged (`corruptBlob`, naming the video).
    private func checkConsistent(
        _ v: VideoRecord, offsets: [FrameOffset], iFeatures: [(index: Int, vector: [Float])],
        window: Range<Int>? = nil
    ) throws {
        let window = window ?? 0..<v.frameCount
        let offsetsWhole =
            offsets.count == window.count
            && offsets.enumerated().allSatisfy { window.lowerBound + $0.offset == $0.element.index }
        let featuresWhole = iFeatures.map(\.index) == v.layout.iFrames(in: window)
        if offsetsWhole && featuresWhole { return try checkWidth(v, iFeatures) }
        let now = try? store.video(id: v.id ?? -1)
        if now == nil || now!.updatedAt != v.updatedAt || now!.status != .ready {
            throw StoreError.notReady(
                path: store.path, video: v.path, status: "re-indexed or removed while this query read it")
        }
        throw StoreError.corruptBlob(
            path: store.path, video: v.path, frame: min(offsets.count, iFeatures.count),
            reason:
                """
                \(offsets.count) frame offsets and \(iFeatures.count) I-features stored, the row says \(v.frameCount) \
                frames
                """
        )
    }

    /// `v`'s stored I-features for stage 1, width-checked (and by `check`); nil when its bytes are
    /// damaged, after `skip` got the message: one damaged video is left out (and named) rather
    /// than taking every search down; `rstore verify` reports it too.
    func stage1IFeatures(
        _ v: VideoRecord, check: ([(index: Int, vector: [Float])]) throws -> Void = { _ in },
        skip: (String) -> Void
    ) throws -> [(index: Int, vector: [Float])]? {
        do {
            let features = try store.iFeatures(of: v)
            try checkWidth(v, features)
            try check(features)
            return features
        } catch let e as StoreError {
            guard case .corruptBlob = e else { throw e }
            skip(e.description)
            return nil
        }
    }

    /// Stored I-features of `v` have the model's width; else `corruptBlob` naming the video and
    /// frame (a blob of another width decodes fine but would trap the matrix and the encoder).
    func checkWidth(_ v: VideoRecord, _ iFeatures: [(index: Int, vector: [Float])]) throws {
        let dim = model.config.embedDim
        guard let bad = iFeatures.first(where: { $0.vector.count != dim }) else { return }
        throw StoreError.corruptBlob(
            path: store.path, video: StoreRules.name(v), frame: bad.index,
            reason: "I-feature of \(bad.vector.count) values, the model's have \(dim)")
    }

    /// Dense embeddings of frames whose time lies in [from, to]: I-features from the store,
    /// P-features reconstructed (batched, cached). Reads the range's chunks only.
    public func embeddings(_ v: VideoRecord, from: Double, to: Double, control: QueryControl = QueryControl()) throws
        -> [FrameEmbedding]
    {
        try requireReady(v)
        guard from.isFinite, to.isFinite, from <= to else {
            throw LibraryError.badRange(video: v.path, from: from, to: to, duration: v.duration)
        }
        guard from <= v.duration + 1e-6, to >= 0 else {
            throw LibraryError.badRange(video: v.path, from: from, to: to, duration: v.duration)
        }
        // Only the range's chunks are read (see `similarityCurve` for the window).
        let window = Self.sampleWindow(v, from: from, to: to + 1)
        guard !window.isEmpty else { return [] }
        let src = try source(v, frames: window)
        let inRange = src.offsets.filter { $0.time >= from - 1e-9 && $0.time <= to + 1e-9 }.map(\.index)
        guard let lo = inRange.first, let hi = inRange.last else { return [] }
        let feats = try reconstructor(for: v).features(of: src, range: lo..<(hi + 1), control: control)
        return (lo...hi).map { k in
            FrameEmbedding(
                index: k, time: src.offset(k).time, kind: v.layout.kind(of: k), anchor: v.layout.anchor(of: k),
                vector: feats[k - lo])
        }
    }

    // MARK: Text queries

    func textQuery(_ text: String) throws -> [Float] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw LibraryError.emptyQuery }
        if let cached = queries.get(trimmed) { return cached }
        let unit = VectorMath.normalized(try model.encodeTexts([trimmed]).embeddings)
        queries.put(trimmed, unit, cost: unit.count * 4 + trimmed.utf8.count + 64)
        return unit
    }

    /// Text-to-moment search over the library (two stages, see `MomentSearch`).
    public func search(_ text: String, k: Int, control: QueryControl = QueryControl()) throws -> [Moment] {
        try searchReport(text, k: k, control: control).moments
    }

    /// Zero-shot temporal grounding of `text` in one video over its dense features.
    public func ground(_ v: VideoRecord, text: String, control: QueryControl = QueryControl()) throws -> [Moment] {
        let query = try textQuery(text)
        let dense = try embeddings(v, from: 0, to: v.duration + 1, control: control)
        guard !dense.isEmpty else { return [] }
        let curve = dense.map { VectorMath.cosine($0.vector, query) }
        let ctx = MomentSearch.VideoContext(
            id: v.id!, path: v.path, times: dense.map(\.time), fps: v.fps, layout: v.layout)
        return Grounding.proposals(curve: curve).map {
            MomentSearch().moment(ctx, first: $0.first, last: $0.last, score: $0.score)
        }
    }
}

/// Bad requests to the library.
public enum LibraryError: Error, CustomStringConvertible, Equatable {
    case emptyQuery
    case badK(Int)
    case badRange(video: String, from: Double, to: Double, duration: Double)
    case settingsMismatch(video: String, stored: String, current: String)  // unknown strategy name
    case notAVideo(path: String)
    /// Queueing needs a store shared with workers (PostgreSQL).
    case notShared(store: String)
    /// A query vector the search cannot use (wrong width, NaN or infinite values, zero length).
    case badVector(String)
    /// A query image that does not decode (`path` names the file, `reason` says why).
    case badImage(path: String, reason: String)
    /// A query image larger than the pixel limit (known from its header, before decoding).
    case imageTooLarge(path: String, width: Int, height: Int, limit: Int)
    /// A "more like this" time outside the stored video.
    case timeOutsideVideo(video: String, time: Double, duration: Double)
    /// A search or export filter that cannot be applied.
    case badFilter(String)

    public var description: String {
        switch self {
        case .emptyQuery: return "the query text is empty"
        case .badK(let k): return "k must be in 1...1000, got \(k)"
        case .badRange(let v, let f, let t, let d):
            return String(format: "%@: time range %.3f-%.3f s is outside the video (0-%.3f s) or reversed", v, f, t, d)
        case .settingsMismatch(let v, let s, let c): return "\(v) was indexed with \(s), but this library uses \(c)"
        case .notAVideo(let p): return "\(p): not a file or folder"
        case .notShared(let s): return "\(s) has no ingest queue: queueing needs a shared (PostgreSQL) store"
        case .badVector(let why): return "the query vector cannot be used: \(why)"
        case .badImage(let p, let why): return "\(p): not a usable query image: \(why)"
        case .imageTooLarge(let p, let w, let h, let limit):
            return "\(p): the query image is \(w)x\(h) = \(w * h) pixels, over the limit of \(limit) pixels"
        case .timeOutsideVideo(let v, let t, let d):
            return String(format: "%@: time %.3f s is outside the video (0-%.3f s)", v, t, d)
        case .badFilter(let why): return "bad filter: \(why)"
        }
    }
}
