/// A span of one video that answers a query, with timestamps ready to seek a player.
public struct Moment: Sendable, Codable, Equatable {
    public var videoID: Int64
    public var path: String
    public var start: Double
    public var end: Double
    public var score: Float
    /// Sampled-frame range the moment covers.
    public var firstFrame: Int
    public var lastFrame: Int
    /// False when the query's P-frame budget ran out before this moment was refined: its
    /// boundaries come from the I-frames alone (coarse, up to N+1 frames off).
    public var refined: Bool

    public init(
        videoID: Int64, path: String, start: Double, end: Double, score: Float, firstFrame: Int, lastFrame: Int,
        refined: Bool = true
    ) {
        self.videoID = videoID
        self.path = path
        self.start = start
        self.end = end
        self.score = score
        self.firstFrame = firstFrame
        self.lastFrame = lastFrame
        self.refined = refined
    }
}
