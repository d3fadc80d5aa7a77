import CLIP
import Foundation
import Video

extension Reconstructor {
    /// The model's patch grid, on which codec motion is measured.
    var motionGrid: MotionGrid {
        MotionGrid(imageSize: encoder.model.config.imageSize, grid: encoder.model.config.gridSize)
    }

    /// Per-patch codec motion of P-frames `frames` of a `.vectors` source, from their anchor to
    /// them, exactly as ingest measured it (one seek and decode per GOP of anchors, see
    /// `VideoReader.motionDeltas`). Frames whose span has no usable vectors are left out: they
    /// fall back to the pixel difference, as at ingest.
    func motionScores(of source: Source, frames: [Int]) throws -> [Int: [Float]] {
        try sourceFrames(of: source, pixels: [], motionOf: frames, control: QueryControl()).motion
    }
}
