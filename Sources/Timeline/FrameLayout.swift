/// Whether a sampled frame's feature is stored (I) or recomputed from its anchor (P).
public enum FrameKind: String, Sendable, Codable {
    case i = "I"
    case p = "P"
}

/// How a video's I-frames were placed: at fixed positions (every N+1 sampled frames, as the
/// paper does) or also at every detected shot cut (the fixed spacing restarts there).
public enum IFramePlacement: String, Sendable, Codable, CaseIterable { case fixed, adaptive }

/// The one source of truth for which sampled frames are I-frames and which I-frame a P-frame
/// leans on, shared by the model (what to encode in full), the store (which features exist)
/// and the engine (what to reconstruct). Kind and anchor are derived, never stored per frame.
///
/// A layout is N plus the frames where a new shot starts (`shotStarts`, empty for the fixed
/// layout): frame k is an I-frame when its distance to the last shot start at or before it
/// (frame 0 if none) is a multiple of N+1. So I-frames stay at most N+1 apart, a shot cut
/// always gets an I-frame, and no P-frame's anchor lies before the cut it follows. With no
/// shot starts this is exactly the paper's k % (N+1) == 0. Callers only ask the layout (kind,
/// anchor, I-frames in a range), never compute with N themselves.
public struct FrameLayout: Sendable, Equatable, Hashable {
    /// At most this many P-frames follow an I-frame (ResidualViT's N).
    public let n: Int
    /// Frames (> 0, ascending) that start a new shot; each is an I-frame.
    public var shotStarts: [Int] { starts.frames }
    private let starts: ShotStarts

    public init(n: Int, shotStarts: ShotStarts = .none) {
        precondition(n >= 0, "N must be >= 0")
        self.n = n
        self.starts = shotStarts
    }

    public var placement: IFramePlacement { shotStarts.isEmpty ? .fixed : .adaptive }

    /// The widest gap between consecutive I-frames (N+1): bounds a group's size.
    public var maxSpacing: Int { n + 1 }

    public func kind(of k: Int) -> FrameKind { isIFrame(k) ? .i : .p }

    public func isIFrame(_ k: Int) -> Bool { (k - shotStart(atOrBefore: k)) % (n + 1) == 0 }

    /// The I-frame whose feature P-frame `k` is reconstructed from (k itself for an I-frame).
    public func anchor(of k: Int) -> Int { k - (k - shotStart(atOrBefore: k)) % (n + 1) }

    /// The last frame reconstructed from I-frame `i` (the frame before the next I-frame).
    public func lastFrame(anchoredOn i: Int) -> Int {
        let next = nextShotStart(after: i).map { $0 - 1 } ?? Int.max
        return min(i + n, next)
    }

    /// I-frames among frames `0..<frameCount`.
    public func iFrameCount(frames frameCount: Int) -> Int {
        guard frameCount > 0 else { return 0 }
        var count = 0
        forEachShot(upTo: frameCount) { start, end in count += (end - start + n) / (n + 1) }
        return count
    }

    /// The I-frame indices within `range`, ascending.
    public func iFrames(in range: Range<Int>) -> [Int] {
        guard !range.isEmpty, range.upperBound > 0 else { return [] }
        let lower = max(0, range.lowerBound)
        var out: [Int] = []
        forEachShot(upTo: range.upperBound) { start, end in
            guard end > lower else { return }
            let first = lower <= start ? start : start + (lower - start + n) / (n + 1) * (n + 1)
            out += stride(from: first, to: end, by: n + 1)
        }
        return out
    }

    /// The most P-frames any run of `frames` consecutive sampled frames can hold (a window
    /// placed anywhere holds at least frames / (N+1) I-frames; shot starts only add I-frames):
    /// an upper bound for budgets.
    public func maxPFrames(inAnyRunOf frames: Int) -> Int { max(0, frames - frames / (n + 1)) }

    /// This layout with a new shot starting at frame `k` (an I-frame from there on): how an
    /// ingest grows the layout as it finds cuts. A `k` at or before the last shot start (or 0)
    /// changes nothing.
    public func startingShot(at k: Int) -> FrameLayout {
        guard k > (shotStarts.last ?? 0) else { return self }
        // Ascending, distinct and > 0 by the guard: the check cannot fail.
        return FrameLayout(n: n, shotStarts: try! ShotStarts(shotStarts + [k]))
    }

    /// The shot start at or before `k` (0 when none).
    func shotStart(atOrBefore k: Int) -> Int {
        guard let first = shotStarts.first, k >= first else { return 0 }
        var lo = 0
        var hi = shotStarts.count - 1  // last index with shotStarts[i] <= k
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if shotStarts[mid] <= k { lo = mid } else { hi = mid - 1 }
        }
        return shotStarts[lo]
    }

    func nextShotStart(after k: Int) -> Int? {
        var lo = 0
        var hi = shotStarts.count  // first index with shotStarts[i] > k
        while lo < hi {
            let mid = (lo + hi) / 2
            if shotStarts[mid] <= k { lo = mid + 1 } else { hi = mid }
        }
        return lo < shotStarts.count ? shotStarts[lo] : nil
    }

    /// Calls `body(start, end)` for each shot's frames `start..<end`, clipped to `0..<limit`.
    private func forEachShot(upTo limit: Int, _ body: (Int, Int) -> Void) {
        var start = 0
        for s in shotStarts where s < limit {
            body(start, s)
            start = s
        }
        if start < limit { body(start, limit) }
    }
}

/// The frames where a video's shots start after its first: ascending, distinct, > 0. Checked
/// once when built (they come from stored bytes: hostile until checked), so a layout never
/// meets a list it cannot work with.
public struct ShotStarts: Sendable, Hashable {
    public let frames: [Int]
    public static let none = ShotStarts(checked: [])

    public init(_ frames: [Int]) throws {
        guard frames.first.map({ $0 > 0 }) ?? true, zip(frames, frames.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw FrameLayoutError.badShotStarts(Array(frames.prefix(8)))
        }
        self.frames = frames
    }

    private init(checked frames: [Int]) { self.frames = frames }
}

/// As a plain list of frames (the store keeps its own compact form); decoding checks it.
extension ShotStarts: Codable {
    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode([Int].self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(frames)
    }
}

/// A stored layout that cannot be one.
public enum FrameLayoutError: Error, CustomStringConvertible, Equatable {
    case badShotStarts([Int])

    public var description: String {
        switch self {
        case .badShotStarts(let s): return "shot starts must be ascending, distinct and > 0; got \(s)…"
        }
    }
}
