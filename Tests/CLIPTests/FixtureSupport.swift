import CLIP
import Foundation
import XCTest

/// Paths of the committed fixtures made by Tools/fixtures/*.py.
enum Fixtures {
    static var root: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }
    static var tinyModel: URL { root.appendingPathComponent("tiny-clip") }
    static var reference: URL { root.appendingPathComponent("tiny-clip-reference") }

    static func referenceTensors() throws -> SafeTensorsFile {
        try SafeTensorsFile(url: reference.appendingPathComponent("reference.safetensors"))
    }

    struct Cases: Decodable {
        let prompts: [String]
        let ids: [[Int32]]
        let keep: [Int]
        let n_images: Int
        let image_size: Int
        let logit_scale: Float
    }

    static func cases() throws -> Cases {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: reference.appendingPathComponent("cases.json")))
    }

    /// The closed-form pixels of make_clip_fixture.py's `synthetic_pixels`.
    static func syntheticPixels(count n: Int, size: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * 3 * size * size)
        var i = 0
        for b in 0..<n {
            for c in 0..<3 {
                for y in 0..<size {
                    for x in 0..<size {
                        let v = 1.5 * sin(0.05 * Double(x) * Double(b + 1) + 0.07 * Double(y) + Double(c))
                            + 0.3 * cos(0.9 * Double((x * y) % 17))
                        out[i] = Float(v)
                        i += 1
                    }
                }
            }
        }
        return out
    }
}

func assertClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): length", file: file, line: line)
    guard a.count == b.count else { return }
    var worst: Float = 0
    for i in 0..<a.count { worst = max(worst, abs(a[i] - b[i])) }
    XCTAssertLessThanOrEqual(worst, tolerance, "\(what): max abs diff \(worst)", file: file, line: line)
}
