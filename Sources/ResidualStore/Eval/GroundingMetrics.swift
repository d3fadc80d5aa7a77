/// The paper's grounding metrics: R@1 and R@5 at temporal IoU 0.3, 0.5 and 0.7 (a query counts
/// when one of its top-k proposals has an IoU strictly above the threshold, as the authors'
/// evaluation compares), and mIoU (mean IoU of the top proposal).
public struct GroundingMetrics: Sendable, Codable, Equatable {
    public static let thresholds = [0.3, 0.5, 0.7]

    public private(set) var queries = 0
    /// Hits per threshold (same order as `thresholds`).
    public private(set) var hitsAt1 = [0, 0, 0]
    public private(set) var hitsAt5 = [0, 0, 0]
    public private(set) var iouSum = 0.0

    public init() {}

    /// Adds one query: its proposals in rank order, as (start, end) seconds, and the truth.
    public mutating func add(ranked: [(Double, Double)], truth: (Double, Double)) {
        queries += 1
        let ious = ranked.prefix(5).map { Grounding.iou($0, truth) }
        iouSum += ious.first ?? 0
        for (i, t) in Self.thresholds.enumerated() {
            if let top = ious.first, top > t { hitsAt1[i] += 1 }
            if ious.contains(where: { $0 > t }) { hitsAt5[i] += 1 }
        }
    }

    /// Recall in percent at rank 1 or 5 and the threshold's index.
    public func recall(at k: Int, _ threshold: Int) -> Double {
        queries == 0 ? 0 : 100 * Double((k == 1 ? hitsAt1 : hitsAt5)[threshold]) / Double(queries)
    }

    /// Mean IoU of the top proposal, in percent.
    public var mIoU: Double { queries == 0 ? 0 : 100 * iouSum / Double(queries) }
}
