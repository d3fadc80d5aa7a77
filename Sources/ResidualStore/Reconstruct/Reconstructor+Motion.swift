import CLIP
import Foundation
import Video

extension Reconstructor {
    /// The model's patch grid, on which codec motion is measured.
    var motionGrid: MotionGrid {
        MotionGrid(imageSize: encoder.model.config.imageSize, grid: encoder.model.config.gridSize)
    }

    /// Per-patch codec motion of P-frames `frames` of a `.vectors` source, from their anchor to
    /// them, exactly as ingest measured it (one seek and decode per anchor, see
    /// `VideoReader.motionDeltas`). Frames whose span has no usable vectors are left out: they
    /// fall back to the pixel difference, as at ingest.
    func motionScores(of source: Source, frames: [Int]) throws -> [Int: [Float]] {
        let layout = source.layout  // the video's own (adaptive layouts restart at cuts), not the encoder's fixed N+1
        let byAnchor = Dictionary(grouping: frames.filter { !layout.isIFrame($0) }) { layout.anchor(of: $0) }
        guard !byAnchor.isEmpty else { return [:] }
        try source.checkFile()
        let anchors = byAnchor.keys.sorted()
        let reader = try VideoReader(url: source.url, threads: source.damaged ? 1 : 0, concealDamage: true)
        let deltas = try reader.motionDeltas(
            spans: anchors.map { a in (a...byAnchor[a]!.max()!).map(source.offset) }, grid: motionGrid)
        var out: [Int: [Float]] = [:]
        for (a, d) in zip(anchors, deltas) {
            for k in byAnchor[a]! { out[k] = PatchMotion.span(d[0..<(k - a)]) }
        }
        return out
    }
}
