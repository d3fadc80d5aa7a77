import Foundation

/// Sizes of what a store holds (`FeatureStoring.stats`), the same shape from either backend.
public struct StoreStats: Sendable, Codable, Equatable {
    /// Ready videos (the others are counted apart).
    public var videos: Int
    public var indexingVideos: Int
    public var failedVideos: Int
    /// Duration of the ready videos.
    public var hours: Double
    public var frames: Int
    public var iFrames: Int
    /// The whole file: `(page_count - freelist_count) * page_size`, every table and index.
    public var fileBytes: Int64
    public var featureBytes: Int64
    public var offsetBytes: Int64
    /// Bytes of each table and index (SQLite's dbstat), when the SQLite build has it.
    public var tableBytes: [String: Int64]?
    /// `fileBytes / hours`.
    public var bytesPerHour: Double
    /// The same hours as dense float32, one vector per sampled frame (`frames * dim * 4`).
    public var denseFloat32BytesPerHour: Double
    public init(
        videos: Int, indexingVideos: Int, failedVideos: Int, hours: Double, frames: Int, iFrames: Int, fileBytes: Int64,
        featureBytes: Int64, offsetBytes: Int64, tableBytes: [String: Int64]?, bytesPerHour: Double,
        denseFloat32BytesPerHour: Double
    ) {
        self.videos = videos
        self.indexingVideos = indexingVideos
        self.failedVideos = failedVideos
        self.hours = hours
        self.frames = frames
        self.iFrames = iFrames
        self.fileBytes = fileBytes
        self.featureBytes = featureBytes
        self.offsetBytes = offsetBytes
        self.tableBytes = tableBytes
        self.bytesPerHour = bytesPerHour
        self.denseFloat32BytesPerHour = denseFloat32BytesPerHour
    }
}
