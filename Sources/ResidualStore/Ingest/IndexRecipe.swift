import CLIP
import Foundation
import Store
import Timeline

/// How a video is indexed: the sampling rate, ResidualViT's N and p, the token reduction, where
/// I-frames go, how I-features are coded, and the chunk size of a crash-safe commit. The one
/// shape of these settings: the CLI's defaults, `Library.Configuration.recipe`,
/// `IngestPipeline.Settings.recipe` and the stored row (`VideoRecord.recipe`,
/// `VideoRecord(file:recipe:)`) all hold this value, and the defaults below are written nowhere else.
///
/// A stored video keeps the recipe it was indexed with (all but the chunk size, which only
/// decides where a resume may start): a file is reused or resumed only under the same recipe.
public struct IndexRecipe: Sendable, Equatable, Codable {
    /// Sampled frames per second.
    public var fps: Double
    /// At most this many P-frames follow an I-frame (ResidualViT's N).
    public var n: Int
    /// Fraction of patch tokens dropped on P-frames.
    public var p: Double
    /// Which patches a P-frame keeps.
    public var strategy: ReductionStrategy
    /// I-frames every N+1 sampled frames (the paper), or also at every shot cut. nil: adaptive
    /// (`defaultIFrames`) for files not indexed yet, while an indexed, unchanged file keeps the
    /// placement it has, so a library indexed before adaptive became the default is not
    /// re-encoded by the next `index`. Set explicitly, it re-indexes the other placement. A
    /// stored row's recipe always names its placement.
    public var iframes: IFramePlacement?
    /// How I-features are stored (f32+lz4 is for evaluation only: `validate` refuses it).
    public var codec: FeatureCodec
    /// Frames per committed chunk (the unit of crash-safe resume).
    public var chunkFrames: Int

    /// The index defaults (the paper's N = 2 at 2 fps, p = 0.85; f16 features; 2-minute chunks
    /// at 2 fps).
    public static let `default` = IndexRecipe(
        fps: 2, n: 2, p: 0.85, strategy: .motion, iframes: nil, codec: .f16, chunkFrames: 240)

    /// The placement a new file gets when `iframes` is nil: adaptive measured better after
    /// cuts with a trained A and costs nothing on video without cuts (docs/DESIGN.md).
    public static let defaultIFrames = IFramePlacement.adaptive

    public init(
        fps: Double = IndexRecipe.default.fps, n: Int = IndexRecipe.default.n, p: Double = IndexRecipe.default.p,
        strategy: ReductionStrategy = IndexRecipe.default.strategy,
        iframes: IFramePlacement? = IndexRecipe.default.iframes,
        codec: FeatureCodec = IndexRecipe.default.codec, chunkFrames: Int = IndexRecipe.default.chunkFrames
    ) {
        self.fps = fps
        self.n = n
        self.p = p
        self.strategy = strategy
        self.iframes = iframes
        self.codec = codec
        self.chunkFrames = chunkFrames
    }

    /// Throws `IndexRecipeError` naming the first field out of range and what is allowed: fps,
    /// N and p within `SamplingLimits` (the bounds every command shares), a storage codec, a
    /// chunk of at least one frame. The engine checks every recipe it indexes with, once, before
    /// anything is opened.
    public func validate() throws {
        if let problem = SamplingLimits.problem(fps: fps) { throw IndexRecipeError(field: .fps, description: problem) }
        if let problem = SamplingLimits.problem(n: n) { throw IndexRecipeError(field: .n, description: problem) }
        if let problem = SamplingLimits.problem(p: p) { throw IndexRecipeError(field: .p, description: problem) }
        guard codec != .f32 else {
            throw IndexRecipeError(
                field: .codec, description: "codec must be f16+lz4 or i8+lz4 (f32+lz4 is for evaluation only)")
        }
        guard chunkFrames >= 1 else {
            throw IndexRecipeError(field: .chunkFrames, description: "chunk-frames must be >= 1, got \(chunkFrames)")
        }
    }
}

/// A recipe field out of range: `field` names it, `description` gives the value and what is
/// allowed, in the words the CLI prints after `--`.
public struct IndexRecipeError: Error, Equatable, CustomStringConvertible {
    /// The field, spelled as its command-line option.
    public enum Field: String, Sendable {
        case fps, n, p, codec
        case chunkFrames = "chunk-frames"
    }
    public let field: Field
    public let description: String
}
