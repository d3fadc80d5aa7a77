import CLIP
import Foundation
import Store
import Timeline
import Video

// The store keeps a video's recipe as plain columns (it knows no ViTs); the engine writes
// them from an `IndexRecipe` and reads them back as one, here and nowhere else.
extension VideoRecord {
    /// A new row for a file about to be indexed with `recipe` (its placement resolved: nil
    /// means the default for new files); `id`, status, counts and dates are set by the store.
    public init(
        file path: String, contentHash: String, size: Int64, mtime: Double, duration: Double, timeBaseNum: Int,
        timeBaseDen: Int,
        info: String, fingerprint: String, recipe: IndexRecipe
    ) {
        self.init(
            path: path, contentHash: contentHash, size: size, mtime: mtime, duration: duration,
            timeBaseNum: timeBaseNum,
            timeBaseDen: timeBaseDen, fps: recipe.fps, n: recipe.n, p: recipe.p, strategy: recipe.strategy.rawValue,
            codec: recipe.codec, info: info, fingerprint: fingerprint,
            iframes: recipe.iframes ?? IndexRecipe.defaultIFrames)
    }

    /// The recipe this video was indexed with, committing chunks of `chunkFrames` (not stored:
    /// the caller's); `LibraryError.settingsMismatch` for a strategy, placement or codec this
    /// rstore does not know (a store written by a newer one).
    public func recipe(chunkFrames: Int = IndexRecipe.default.chunkFrames) throws -> IndexRecipe {
        guard let stored = FeatureCodec(rawValue: codec) else {
            throw LibraryError.settingsMismatch(
                video: path, stored: codec, current: FeatureCodec.allCases.map(\.rawValue).joined(separator: "|"))
        }
        return IndexRecipe(
            fps: fps, n: n, p: p, strategy: try reductionStrategy(), iframes: try iframePlacement(), codec: stored,
            chunkFrames: chunkFrames)
    }

    /// The token reduction this video was indexed with (`LibraryError.settingsMismatch` for a
    /// name this rstore does not know, e.g. a store written by a newer one).
    package func reductionStrategy() throws -> ReductionStrategy {
        guard let s = ReductionStrategy(rawValue: strategy) else {
            throw LibraryError.settingsMismatch(
                video: path, stored: strategy,
                current: ReductionStrategy.allCases.map(\.rawValue).joined(separator: "|"))
        }
        return s
    }

    /// How this video's I-frames are placed (rows from before migration 0006 say fixed), so a
    /// resumed ingest goes on as it began; an unknown name (a newer rstore's) is refused.
    package func iframePlacement() throws -> IFramePlacement {
        guard let placement = IFramePlacement(rawValue: iframes) else {
            throw LibraryError.settingsMismatch(
                video: path, stored: iframes, current: IFramePlacement.allCases.map(\.rawValue).joined(separator: "|"))
        }
        return placement
    }

    /// The stream facts probed at indexing time (size, codec, frame rate); nil when unreadable.
    public var streamInfo: VideoInfo? { try? JSONDecoder().decode(VideoInfo.self, from: Data(info.utf8)) }
}
