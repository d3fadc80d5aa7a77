/// What the trainer reports while it runs.
public enum TrainingEvent: Sendable {
    /// Teacher features: `done` of `total` frames through the full ViT.
    case teacher(done: Int, total: Int)
    /// Data ready: sample counts, the split and loss used, and mean cosine(P, full) with A = 0
    /// (the token-reduction-only baseline, no residual token) on both parts.
    case prepared(TrainingSetup)
    /// Resumed after `epochsDone` epochs from the state file.
    case resumed(epochsDone: Int)
    case batch(epoch: Int, index: Int, of: Int, loss: Float)
    case epoch(EpochReport)
}

public struct TrainingSetup: Sendable {
    public var trainSamples: Int
    public var heldOutSamples: Int
    /// "video" or "time" (what `.auto` resolved to), or "none".
    public var split: String
    /// `TokenizerTrainer.lossName`: "text soft-ce (image-to-text)", "visual cosine", ...
    public var loss: String
    /// Texts in the text loss's bank (captions and the text set; 0 for visual losses).
    public var texts: Int
    /// Of them, the corpus's distinct captions.
    public var captionTexts: Int
    public var baselineTrainCosine: Float
    public var baselineHeldOutCosine: Float?
    /// The text-retrieval proxy on the held-out P-frames with A = 0 (nil without a text bank).
    public var baselineHeldOutText: TextRetrievalProxy?
}

public struct EpochReport: Sendable {
    public var epoch: Int
    public var loss: Float
    /// Mean cosine(student, teacher) over the epoch's training batches (as they ran).
    public var trainCosine: Float
    /// Mean cosine(P-feature, full feature) on the held-out P-frames with the epoch's A,
    /// computed as `ResidualEncoder` does.
    public var heldOutCosine: Float?
    /// The text-retrieval proxy on the held-out P-frames with the epoch's A.
    public var heldOutText: TextRetrievalProxy?
    /// Training time of the epoch (the held-out evaluation not included).
    public var seconds: Double
}
