import Foundation
import Store

extension Library {
    /// What a range of a stored video costs at least, known before any work: the engine's one
    /// estimate, which a front end compares with its per-request limits.
    public struct FrameBudget: Sendable, Equatable {
        /// Sampled frames in the range.
        public var frames: Int
        /// The most of them that must be reconstructed (all but the I-frames the layout
        /// guarantees in any run of that many frames).
        public var pFrames: Int
        /// The least decoding those P-frames cost, in 720p frames (`QueryControl.decodeEstimate`).
        public var decodedFrames: Double
    }

    /// The frame budget of `v` between `from` and `to` seconds, counted from the stored frame
    /// count and sampling rate (a hostile range is clamped to the video). A video that is not
    /// ready is refused first (`StoreError.notReady`): its frame count is still growing.
    public func frameBudget(_ v: VideoRecord, from: Double, to: Double) throws -> FrameBudget {
        try requireReady(v)
        let span = max(0, min(to, v.duration) - max(0, from))
        let byTime =
            v.fps > 0 && v.fps.isFinite ? Int(min(Double(Int32.max), (span * v.fps).rounded(.down))) + 1 : v.frameCount
        let frames = max(0, min(v.frameCount, byTime))
        let pFrames = v.layout.maxPFrames(inAnyRunOf: frames)
        return FrameBudget(
            frames: frames, pFrames: pFrames, decodedFrames: QueryControl.decodeEstimate(v, frames: pFrames))
    }
}
