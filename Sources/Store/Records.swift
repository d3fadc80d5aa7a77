import Foundation
import GRDB
import Timeline

/// The CLIP weights a store's features come from (one per store: features are never mixed).
public struct ModelRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "models"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var name: String
    public var config: String
    public var weightsSha256: String
    public var tokenizerSha256: String
    public var embedDim: Int
    public var createdAt: Double
    /// SHA-256 of `config` normalised (canonical sorted-key JSON); '' until a store written
    /// before migration 3 is first opened.
    public var configSha256: String = ""
}

/// One indexed (or indexing) version of a video file.
public struct VideoRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "videos"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public enum Status: String, Codable, Sendable { case indexing, ready, failed }

    public var id: Int64?
    public var path: String
    public var contentHash: String
    public var size: Int64
    public var mtime: Double
    public var duration: Double
    public var timeBaseNum: Int
    public var timeBaseDen: Int
    public var fps: Double
    public var n: Int
    public var p: Double
    public var strategy: String
    public var codec: String
    public var modelId: Int64
    public var status: Status
    public var error: String?
    public var frameCount: Int
    public var info: String
    /// Seed of the random strategy's masks (migration 0004; 0 for rows indexed before it).
    public var maskSeed: Int64 = 0
    /// Where the motion strategy's scores come from: "vectors" or "pixels" (migration 0005;
    /// nil for rows indexed before it, which used the pixel difference). The engine owns the values.
    public var motionSource: String? = nil
    public var createdAt: Double
    public var updatedAt: Double
    /// SHA-256 (hex) of the file's first and last MiB and its size at indexing time ('' when
    /// indexed before fingerprints existed): with `size` and `mtime`, how a changed file is told.
    public var fingerprint: String = ""
    /// JSON report of damage concealed while indexing (corrupt packets, damaged pictures, a
    /// truncated end), nil for a clean file. The engine owns its format.
    public var damage: String? = nil
    /// The ingest that holds this `indexing` row (host:pid:random), and until when.
    public var leaseOwner: String? = nil
    public var leaseHeartbeatAt: Double? = nil
    public var leaseExpiresAt: Double? = nil

    /// How I-frames were placed: "fixed" or "adaptive" (`IFramePlacement`; migration 0006,
    /// "fixed" for rows indexed before it).
    public var iframes: String = IFramePlacement.fixed.rawValue
    /// Frames that start a new shot (adaptive placement), grown with each committed chunk.
    public var shotStarts: ShotStarts = .none

    /// The I/P layout of this video's sampled frames (ask only of a row whose `columnProblem`
    /// is nil: the stores hand out no other).
    public var layout: FrameLayout { FrameLayout(n: n, shotStarts: shotStarts) }

    /// Why this row's columns cannot describe an index this or any rstore wrote (a damaged or
    /// hand-edited row: a negative N divides by zero, a NaN fps samples forever), or nil. The
    /// stores check it on every row they read, so no caller computes with such values.
    public var columnProblem: String? {
        if n < 0 || n > 10_000 { return "N = \(n) is outside 0...10000" }
        if !(fps.isFinite && fps > 0 && fps <= 1_000) { return "fps = \(fps) is outside (0, 1000]" }
        if !(p.isFinite && p >= 0 && p <= 1) { return "p = \(p) is outside [0, 1]" }
        if frameCount < 0 { return "frame count \(frameCount) is negative" }
        if !(duration.isFinite && duration >= 0) { return "duration \(duration) is not a length of time" }
        if timeBaseNum <= 0 || timeBaseDen <= 0 { return "time base \(timeBaseNum)/\(timeBaseDen) is not positive" }
        if let last = shotStarts.frames.last, status == .ready, last >= frameCount {
            return "shot start \(last) lies beyond its \(frameCount) frames"
        }
        return nil
    }

    /// A new row; `id`, `status`, counts and dates are set by the store.
    public init(
        path: String, contentHash: String, size: Int64, mtime: Double, duration: Double,
        timeBaseNum: Int, timeBaseDen: Int, fps: Double, n: Int, p: Double, strategy: String,
        codec: FeatureCodec, info: String, fingerprint: String = "", iframes: IFramePlacement = .fixed
    ) {
        self.id = nil
        self.iframes = iframes.rawValue
        self.path = path
        self.contentHash = contentHash
        self.size = size
        self.mtime = mtime
        self.duration = duration
        self.timeBaseNum = timeBaseNum
        self.timeBaseDen = timeBaseDen
        self.fps = fps
        self.n = n
        self.p = p
        self.strategy = strategy
        self.codec = codec.rawValue
        self.modelId = 0
        self.status = .indexing
        self.error = nil
        self.frameCount = 0
        self.info = info
        self.fingerprint = fingerprint
        self.createdAt = 0
        self.updatedAt = 0
    }

    /// Same file, same model and same recipe: a stored version can be reused or resumed.
    func sameIndexing(as other: VideoRecord) -> Bool {
        contentHash == other.contentHash && modelId == other.modelId && sameRecipe(as: other)
    }

    /// The same stored recipe: the columns the engine writes from its `IndexRecipe` (fps, N,
    /// p, strategy, I-frame placement, codec; the chunk size is not stored), compared as
    /// written, so a name only a newer rstore knows matches only itself.
    func sameRecipe(as other: VideoRecord) -> Bool {
        fps == other.fps && n == other.n && p == other.p && strategy == other.strategy && iframes == other.iframes
            && codec == other.codec
    }
}

/// What one chunk row holds.
struct ChunkRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "chunks"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    var videoId: Int64
    var firstFrame: Int
    var frameCount: Int
    var offsets: Data
    var features: Data

    var raw: RawChunk { RawChunk(firstFrame: firstFrame, frameCount: frameCount, offsets: offsets, features: features) }
}
