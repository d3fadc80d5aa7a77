import Foundation
import GRDB

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
    public var createdAt: Double
    public var updatedAt: Double

    /// Frame k is an I-frame when k % (N+1) == 0: the one rule deciding which features exist.
    public static func isIFrame(_ k: Int, n: Int) -> Bool { k % (n + 1) == 0 }

    /// A new row; `id`, `status`, counts and dates are set by the store.
    public init(path: String, contentHash: String, size: Int64, mtime: Double, duration: Double,
                timeBaseNum: Int, timeBaseDen: Int, fps: Double, n: Int, p: Double, strategy: String,
                codec: FeatureCodec, info: String) {
        self.id = nil
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
        self.createdAt = 0
        self.updatedAt = 0
    }

    /// Same file and same sampling/encoding settings: a stored version can be reused or resumed.
    func sameIndexing(as other: VideoRecord) -> Bool {
        contentHash == other.contentHash && fps == other.fps && n == other.n && p == other.p
            && strategy == other.strategy && codec == other.codec && modelId == other.modelId
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
}
