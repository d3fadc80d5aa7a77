/// Whether a sampled frame's feature is stored (I) or recomputed from its anchor (P).
public enum FrameKind: String, Sendable, Codable { case i = "I", p = "P" }

/// The one source of truth for which sampled frames are I-frames and which I-frame a P-frame
/// leans on, shared by the model (what to encode in full), the store (which features exist)
/// and the engine (what to reconstruct). Kind and anchor are derived, never stored per frame.
///
/// Today every video is regular: frame k is an I-frame when k % (N+1) == 0. Callers only ask
/// the layout (kind, anchor, I-frames in a range), never compute with N themselves, so a layout
/// can later become per-video and irregular (I-frames at shot cuts, spacing still <= N+1)
/// without touching them.
public struct FrameLayout: Sendable, Equatable, Hashable {
    /// At most this many P-frames follow an I-frame (ResidualViT's N).
    public let n: Int

    public init(n: Int) {
        precondition(n >= 0, "N must be >= 0")
        self.n = n
    }

    /// The widest gap between consecutive I-frames (N+1): bounds a group's size.
    public var maxSpacing: Int { n + 1 }

    public func kind(of k: Int) -> FrameKind { isIFrame(k) ? .i : .p }

    public func isIFrame(_ k: Int) -> Bool { k % (n + 1) == 0 }

    /// The I-frame whose feature P-frame `k` is reconstructed from (k itself for an I-frame).
    public func anchor(of k: Int) -> Int { k - k % (n + 1) }

    /// The last frame reconstructed from I-frame `i` (the frame before the next I-frame).
    public func lastFrame(anchoredOn i: Int) -> Int { i + n }

    /// I-frames among frames `0..<frameCount`.
    public func iFrameCount(frames frameCount: Int) -> Int { frameCount <= 0 ? 0 : (frameCount + n) / (n + 1) }

    /// The I-frame indices within `range`, ascending.
    public func iFrames(in range: Range<Int>) -> [Int] {
        guard !range.isEmpty else { return [] }
        let lower = max(0, range.lowerBound)
        let first = isIFrame(lower) ? lower : anchor(of: lower) + n + 1
        return Array(stride(from: first, to: range.upperBound, by: n + 1))
    }

    /// The most P-frames any run of `frames` consecutive sampled frames can hold (a window
    /// placed anywhere holds at least frames / (N+1) I-frames): an upper bound for budgets.
    public func maxPFrames(inAnyRunOf frames: Int) -> Int { max(0, frames - frames / (n + 1)) }
}
