import CLIP
import ResidualStore
import XCTest

final class IFeatureMatrixTests: XCTestCase {
    /// Rows are quantised in C (`rs_quantize_int8`): the codes are Swift's own formula's
    /// (round half away from zero, clamp to +-127), ties and the extreme value included.
    func testQuantisedCodesAreTheRoundingFormulas() {
        var rng = SplitMix(seed: 3)
        let dim = 515  // not a multiple of any vector width
        for trial in 0..<40 {
            var v = (0..<dim).map { _ in rng.normal() * 2 }
            if trial % 2 == 0 {
                // Values whose scaled value is exactly k + 0.5 (maxAbs 127: inv = 1).
                v = (0..<dim).map { Float($0 % 255) - 127 + ($0 % 3 == 0 ? 0.5 : 0) }
                v[0] = 127
            }
            var m = IFeatureMatrix(dim: dim)
            m.append(.init(video: 1, frame: 0), v)
            let maxAbs = v.reduce(0) { max($0, abs($1)) }
            let inv = 127 / maxAbs
            let want = v.map { Int8(max(-127, min(127, ($0 * inv).rounded()))) }
            XCTAssertEqual(m.codes, want, "trial \(trial)")
        }
    }

    /// The int8 x int16 scan gives the exact float cosines to within quantisation error.
    func testScoresMatchFloatCosines() {
        var rng = SplitMix(seed: 11)
        let dim = 512
        let rows = 5000
        var m = IFeatureMatrix(dim: dim)
        var vectors: [[Float]] = []
        for r in 0..<rows {
            let v = (0..<dim).map { _ in rng.normal() * 3 }
            vectors.append(v)
            m.append(.init(video: Int64(r / 100), frame: r % 100), v)
        }
        var q = (0..<dim).map { _ in rng.normal() }
        let qn = q.reduce(0) { $0 + $1 * $1 }.squareRoot()
        q = q.map { $0 / qn }
        let scores = m.scores(q)
        XCTAssertEqual(scores.count, rows)
        var worst: Float = 0
        for (v, s) in zip(vectors, scores) {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let exact = zip(v, q).reduce(0) { $0 + $1.0 * $1.1 } / n
            worst = max(worst, abs(exact - s))
        }
        XCTAssertLessThan(worst, 0.005, "max abs cosine error \(worst)")
        XCTAssertEqual(m.scores([Float](repeating: 0, count: dim)), [Float](repeating: 0, count: rows))
    }
}
