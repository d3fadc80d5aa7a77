import CLIP
import Foundation
import Timeline

/// Settings of a run that trains the residual tokenizer A.
public struct TokenizerTrainingConfig: Sendable, Equatable {
    /// P-frames per I-frame.
    public var n = 2
    /// Token drop ratio of the P-frames.
    public var p = 0.85
    public var strategy: ReductionStrategy = .motion
    /// Where the I-frames are: fixed every N+1 samples, or also at each video's shot starts
    /// (`TrainingVideo.shotStarts`), so A learns from anchors of the P-frame's own shot.
    public var iframes: IFramePlacement = .fixed
    public var epochs = 5
    public var batchSize = 256
    public var learningRate: Float = 5e-4
    /// AdamW's decoupled weight decay, applied to A's weight (not its bias).
    public var weightDecay: Float = 0.01
    /// Seeds the shuffles, the video split and the random strategy.
    public var seed: UInt64 = 0
    /// Fraction held out for evaluation (0 disables it).
    public var holdout = 0.2
    public var split: HoldoutSplit = .auto
    /// The loss when there are no captions.
    public var visualLoss: VisualLoss = .cosine
    /// How the anchors A sees are rounded: set it to the store's codec so A is trained on the
    /// I-features reconstruction will read back (`exact`: float32, for the reference tests).
    public var anchor: AnchorQuantizer = .exact

    public init() {}

    public func validate() throws {
        guard n >= 0 else { throw TrainingError.badParameter("N (P-frames per I-frame) must be >= 0, got \(n)") }
        guard n >= 1 else { throw TrainingError.badParameter("N = 0 has no P-frames, so there is nothing to train A on; use N >= 1") }
        guard p >= 0, p < 1, p.isFinite else { throw TrainingError.badParameter("token drop ratio p must be in [0, 1), got \(p)") }
        guard epochs >= 0 else { throw TrainingError.badParameter("epochs must be >= 0, got \(epochs)") }
        guard batchSize >= 1 else { throw TrainingError.badParameter("batch size must be >= 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw TrainingError.badParameter("learning rate must be > 0, got \(learningRate)") }
        guard weightDecay >= 0 else { throw TrainingError.badParameter("weight decay must be >= 0, got \(weightDecay)") }
        guard holdout >= 0, holdout < 1 else { throw TrainingError.badParameter("holdout must be in [0, 1), got \(holdout)") }
    }
}

