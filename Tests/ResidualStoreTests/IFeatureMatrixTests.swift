import CLIP
import ResidualStore
import XCTest

final class IFeatureMatrixTests: XCTestCase {
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
