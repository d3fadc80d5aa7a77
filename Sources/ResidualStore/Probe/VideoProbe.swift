import Foundation
import Video

/// What `rstore probe` shows of a file, without a model or a store: the stream's facts and the
/// frames sampling at `fps` would index (index, pts, time, seek point).
public struct VideoProbe: Encodable {
    public let info: VideoInfo
    public let fps: Double
    public let frames: [FrameOffset]
    /// Set when decoding failed part-way (the frames before the failure are listed).
    public let error: String?
    /// The failure itself, to rethrow once the frames before it are shown.
    public let failure: (any Error)?

    enum CodingKeys: String, CodingKey { case info, fps, frames, error }

    /// Opens `url` (throws when it is no readable video) and samples it to the end or to the
    /// first decoding failure, which is kept in `failure` rather than thrown.
    public init(_ url: URL, fps: Double) throws {
        let reader = try VideoReader(url: url)
        var offsets: [FrameOffset] = []
        var failure: (any Error)? = nil
        do {
            try reader.forEachOffset(fps: fps) { offsets.append($0) }
        } catch {
            failure = error
        }
        info = reader.info
        self.fps = fps
        frames = offsets
        self.failure = failure
        error = failure.map { "\($0)" }
    }
}
