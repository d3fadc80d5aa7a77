import Foundation

/// How a grounding dataset is scored: the sampling rate, the smoothing window and the
/// threshold shift of the proposals. The presets are the settings the zero-shot baseline
/// ResidualViT reports against uses per dataset; the window (15 frames) spans 5 s at
/// Charades-STA's 3 fps (moments average ~8 s) and 15 s at ActivityNet's 1 fps.
public struct GroundingProtocol: Sendable, Equatable, Codable {
    public var name: String
    /// Frames sampled per second.
    public var fps: Double
    /// Moving-average window in sampled frames.
    public var window: Int
    /// The threshold is `thresholdShift` x the smoothed curve's mean.
    public var thresholdShift: Float

    public init(name: String = "custom", fps: Double, window: Int = 15, thresholdShift: Float = 1) {
        self.name = name
        self.fps = fps
        self.window = window
        self.thresholdShift = thresholdShift
    }

    /// Charades-STA: 3 fps, threshold at the mean.
    public static let charadesSTA = GroundingProtocol(name: "charades-sta", fps: 3, window: 15, thresholdShift: 1.0)
    /// ActivityNet Captions: 1 fps, threshold at 0.95 x the mean (longer, flatter curves).
    public static let activityNet = GroundingProtocol(name: "activitynet", fps: 1, window: 15, thresholdShift: 0.95)
    /// No preset: the library's sampling rate (2 fps), threshold at the mean.
    public static let library = GroundingProtocol(name: "library", fps: 2, window: 15, thresholdShift: 1.0)

    public static let presets = [charadesSTA, activityNet]

    /// A preset by name ("charades-sta", "activitynet"), nil when there is none.
    public static func preset(named name: String) -> GroundingProtocol? {
        presets.first { $0.name == name.lowercased() }
    }

    /// This protocol with any of its values replaced; a changed value renames it
    /// "<name>+overrides" so a report never passes a modified preset off as the preset.
    public func overriding(fps: Double? = nil, window: Int? = nil, thresholdShift: Float? = nil) -> GroundingProtocol {
        var p = self
        if let fps { p.fps = fps }
        if let window { p.window = window }
        if let thresholdShift { p.thresholdShift = thresholdShift }
        if p != self { p.name = name + "+overrides" }
        return p
    }

    /// A problem with the values, or nil.
    public var problem: String? {
        if let s = SamplingLimits.problem(fps: fps) { return s }
        if window < 1 { return "smoothing window must be >= 1, got \(window)" }
        if !(thresholdShift.isFinite && thresholdShift > 0) {
            return "threshold shift must be a positive number, got \(thresholdShift)"
        }
        return nil
    }

    /// Ranked proposals of a curve over frames at `times` as (start, end) seconds: a run ends
    /// one sampling interval after its last frame's time, within the video; the whole video last.
    public func rankedSpans(curve: [Float], times: [Double], duration: Double) -> [(Double, Double)] {
        Grounding.proposals(curve: curve, window: window, thresholdShift: thresholdShift).map { p in
            (times[p.first], min(duration, times[p.last] + 1 / fps))
        }
    }

    /// The ground truth as scored: both ends clamped to [0, duration] (annotations of
    /// Charades-STA and ActivityNet run past the end of the file now and then).
    public static func clamped(_ truth: (Double, Double), duration: Double) -> (Double, Double) {
        (min(max(0, truth.0), duration), min(max(0, truth.1), duration))
    }
}
