import CLIP
import Foundation
import Store
import Timeline
import Video

// The store keeps a video's settings as plain columns (it knows no ViTs or codecs); the engine
// reads them back as the typed values they were written from.
extension VideoRecord {
    /// The token reduction this video was indexed with (`LibraryError.settingsMismatch` for a
    /// name this rstore does not know, e.g. a store written by a newer one).
    public func reductionStrategy() throws -> ReductionStrategy {
        guard let s = ReductionStrategy(rawValue: strategy) else {
            throw LibraryError.settingsMismatch(video: path, stored: strategy, current: ReductionStrategy.allCases.map(\.rawValue).joined(separator: "|"))
        }
        return s
    }

    /// How this video's I-frames are placed (rows from before migration 0006 say fixed), so a
    /// resumed ingest goes on as it began; an unknown name (a newer rstore's) is refused.
    public func iframePlacement() throws -> IFramePlacement {
        guard let placement = IFramePlacement(rawValue: iframes) else {
            throw LibraryError.settingsMismatch(video: path, stored: iframes, current: IFramePlacement.allCases.map(\.rawValue).joined(separator: "|"))
        }
        return placement
    }

    /// The stream facts probed at indexing time (size, codec, frame rate); nil when unreadable.
    public var streamInfo: VideoInfo? { try? JSONDecoder().decode(VideoInfo.self, from: Data(info.utf8)) }
}
