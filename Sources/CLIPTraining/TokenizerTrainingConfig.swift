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
    /// AdamW's decoupled weight decay, applied to A's weight (not its bias). The optimiser's
    /// defaults are the authors' (weight decay 0, betas (0.9, 0.98), eps 1e-6), not PyTorch's.
    public var weightDecay: Float = 0
    public var beta1: Float = 0.9
    public var beta2: Float = 0.98
    public var eps: Float = 1e-6
    /// What A is trained to preserve; text distillation needs the model's text tower.
    public var loss: DistillationLoss = .text
    /// The text loss's softmax directions (the authors' script: image -> text).
    public var textDirections: TextDirections = .imageToText
    /// Texts every step scores against: the batch's captions, topped up from the corpus's
    /// other captions and the prompt set (the authors: 512 a GPU).
    public var textsPerStep = 512
    /// Multiplies the cosines in the text loss (CLIP's trained temperature, 1 / 0.01).
    public var logitScale: Float = 100
    /// The fixed text set (one sentence a line); nil: the prompt set shipped with rstore.
    public var textSet: URL?
    /// Folder of the text-embedding cache; nil: `TextBankCache.defaultLocation`.
    public var textCache: URL?
    /// How training P-frames get their kept patches (held-out frames always use inference's).
    public var masks: MaskSchedule = .fresh
    /// Build the text bank even for a visual loss, to report the text-retrieval proxy on the
    /// held-out frames (needs the text tower; the CLI turns it on when there is one).
    public var textProxy = false
    /// With fresh masks and the motion strategy: the share of samples that get a random mask
    /// instead of the motion ranking at each step (measured on held-out frames, see DESIGN.md).
    public var motionRandomShare = 0.5
    /// Seeds the shuffles, the video split and the random strategy.
    public var seed: UInt64 = 0
    /// Fraction held out for evaluation (0 disables it).
    public var holdout = 0.2
    public var split: HoldoutSplit = .auto
    /// How the anchors A sees are rounded: set it to the store's codec so A is trained on the
    /// I-features reconstruction will read back (`exact`: float32, for the reference tests).
    public var anchor: AnchorQuantizer = .exact

    public init() {}

    public func validate() throws {
        guard n >= 0 else { throw TrainingError.badParameter("N (P-frames per I-frame) must be >= 0, got \(n)") }
        guard n >= 1 else {
            throw TrainingError.badParameter("N = 0 has no P-frames, so there is nothing to train A on; use N >= 1")
        }
        guard p >= 0, p < 1, p.isFinite else {
            throw TrainingError.badParameter("token drop ratio p must be in [0, 1), got \(p)")
        }
        guard epochs >= 0 else { throw TrainingError.badParameter("epochs must be >= 0, got \(epochs)") }
        guard batchSize >= 1 else { throw TrainingError.badParameter("batch size must be >= 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw TrainingError.badParameter("learning rate must be > 0, got \(learningRate)")
        }
        guard weightDecay >= 0 else {
            throw TrainingError.badParameter("weight decay must be >= 0, got \(weightDecay)")
        }
        guard holdout >= 0, holdout < 1 else {
            throw TrainingError.badParameter("holdout must be in [0, 1), got \(holdout)")
        }
        guard beta1 >= 0, beta1 < 1, beta2 >= 0, beta2 < 1 else {
            throw TrainingError.badParameter("AdamW betas must be in [0, 1), got (\(beta1), \(beta2))")
        }
        guard eps > 0, eps.isFinite else { throw TrainingError.badParameter("AdamW eps must be > 0, got \(eps)") }
        guard textsPerStep >= 2 else {
            throw TrainingError.badParameter(
                "texts per step must be >= 2 (a softmax over one text is constant), got \(textsPerStep)")
        }
        guard logitScale > 0, logitScale.isFinite else {
            throw TrainingError.badParameter("logit scale must be > 0, got \(logitScale)")
        }
        guard motionRandomShare >= 0, motionRandomShare <= 1 else {
            throw TrainingError.badParameter("motion random share must be in [0, 1], got \(motionRandomShare)")
        }
    }
}
