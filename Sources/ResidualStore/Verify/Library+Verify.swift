import Foundation
import Tensor
import Video

extension Library {
    /// What `verify` found: every problem as a line naming the file and frame, and how many
    /// stored I-features were recomputed.
    public struct VerifyReport: Sendable, Equatable {
        public var problems: [String] = []
        public var checked = 0
    }

    /// Decodes every stored blob, checks the model's weights against their recorded hash, and
    /// recomputes up to `sample` I-features of each ready video from its file (at the stored
    /// seek points, damage concealed as at ingest): each must have cosine >= `minCosine` with
    /// the stored one. A changed file is reported, not recomputed.
    public func verify(sample: Int, minCosine: Double) throws -> VerifyReport {
        var report = VerifyReport(problems: try store.verifyBlobs())
        do { try model.verifyWeightsHash() } catch { report.problems.append("\(error)") }
        for v in try store.videos(status: .ready) {
            // Undecodable blobs are already among the problems (verifyBlobs names them).
            guard let stored = try? store.iFeatures(of: v), !stored.isEmpty else { continue }
            let count = max(0, min(sample, stored.count))
            let picks = (0..<count).map { stored[$0 * stored.count / count] }
            let offsets = try offsets(of: v)
            if let stale = staleness(v) {
                report.problems.append("\(stale)")
                continue
            }
            do {
                // Damage concealed at ingest is concealed the same way here.
                let reader = try VideoReader(
                    url: try file(of: v), threads: v.damage != nil ? 1 : 0, concealDamage: v.damage != nil)
                let fresh = model.embed(images: try reader.decode(offsets: picks.map { offsets[$0.index] }))
                for (p, f) in zip(picks, fresh) {
                    let cos = VectorMath.cosine(p.vector, f)
                    if Double(cos) < minCosine {
                        report.problems.append(
                            String(format: "%@ frame %d: stored vs recomputed cosine %.5f", v.path, p.index, cos))
                    }
                    report.checked += 1
                }
            } catch {
                report.problems.append("\(v.path): cannot recompute: \(error)")
            }
        }
        return report
    }
}
