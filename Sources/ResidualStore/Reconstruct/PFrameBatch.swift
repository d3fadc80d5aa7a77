import CLIP
import Video

/// Sampled frame `frame` of part `part` of a batch (a video's share of one forward pass, or of
/// one `features(of:)` request): the key of every per-frame table of a batch.
struct PartFrame: Hashable {
    var part: Int
    var frame: Int
}

/// The P-frames of one forward pass of the residual encoder, across videos, and everything the
/// pass reads: built by `Reconstructor.gather`, its kept patches completed by `select`, read by
/// `encode` and `refill`.
///
/// Shapes: S = the model's image size, G = its patch grid (G x G patches of S / G pixels),
/// D = the embedding width, I = distinct images in the pass, P = P-frames in the pass (the sum
/// of the parts' `frameIndices` counts).
struct PFrameBatch {
    /// One video's share of the pass.
    struct Part {
        var source: Reconstructor.Source
        /// [P_s] the P-frames to compute, in the order asked (the order of the output rows).
        var frameIndices: [Int]
        /// The reconstructor's encoder with this video's stored mask seed (the random
        /// strategy's patches follow it).
        var encoder: ResidualEncoder
        /// P-frame -> [G * G] codec motion from its anchor, per patch: only P-frames whose
        /// patches are still to choose, of a `.vectors` source under the motion strategy.
        var motion: [Int: [Float]] = [:]
        /// Anchor I-frame -> [D] its stored I-feature.
        var anchorFeatures: [Int: [Float]] = [:]
    }

    var parts: [Part]
    /// [I] distinct crops, S x S x 3 uint8: every P-frame of the pass and, for the motion
    /// strategy, the anchors of those that were decoded.
    var images: [RGBImage] = []
    /// (part, sampled frame) -> its row in `images` and `pixels`.
    var imageRow: [PartFrame: Int] = [:]
    /// [I, 3, S, S] the model inputs: row i is `images[i]` normalised (filled by `gather`).
    var pixels: [Float] = []
    /// (part, P-frame) -> kept patch indices: from the tier (chosen at ingest or by an earlier
    /// query), else chosen by `select`.
    var keep: [PartFrame: [Int]] = [:]
    /// The P-frames whose patches `select` chose, in pass order: what `refill` writes to the tier.
    var chosen: [PartFrame] = []

    init(parts: [Part]) { self.parts = parts }

    /// Appends `image` as the input of `frame` of `part`, unless that frame has one.
    mutating func addImage(_ image: RGBImage, part: Int, frame: Int) {
        let key = PartFrame(part: part, frame: frame)
        guard imageRow[key] == nil else { return }
        imageRow[key] = images.count
        images.append(image)
    }
}
