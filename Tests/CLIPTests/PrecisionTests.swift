import CLIP
import Foundation
import Tensor
import XCTest

/// bf16 image features of a ViT-B/32-wide tower stay within the stated cosine of fp32's (the
/// reference), so a store indexed on a machine with AVX512-BF16 means what one indexed without it
/// does. Four of the twelve layers keep the test short; `rstore bench encoder --precision bf16`
/// states the full model's cosine.
final class PrecisionTests: XCTestCase {
    override func tearDown() {
        Precision.current =
            Precision.resolve(ProcessInfo.processInfo.environment["RSTORE_PRECISION"] ?? "auto") ?? .fp32
    }

    func testBF16FeaturesAreWithinTheStatedCosineOfFP32() throws {
        guard Precision.bf16Available else { throw XCTSkip("this CPU has no AVX512-BF16") }
        var config = CLIPConfig.standard("B/32")!
        config.vision.layers = 4
        let model = CLIPModel(randomWith: config, seed: 5)
        let s = model.config.imageSize
        var seed: UInt64 = 11
        let count = 2
        // Smooth random images (normalized pixel range), not white noise.
        let pixels: [Float] = (0..<(count * 3 * s * s)).map { i in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let x = Float(i % s) / Float(s)
            let y = Float((i / s) % s) / Float(s)
            return sinf(6 * x + Float(i / (s * s))) * cosf(4 * y) + Float(Int64(bitPattern: seed >> 11) % 100) / 500
        }
        Precision.current = .fp32
        let reference = model.encodeImages(pixels: pixels, count: count)
        Precision.current = .bf16
        let fast = model.encodeImages(pixels: pixels, count: count)
        let d = model.config.embedDim
        for i in 0..<count {
            let a = Array(reference[(i * d)..<((i + 1) * d)])
            let b = Array(fast[(i * d)..<((i + 1) * d)])
            let cos = VectorMath.cosine(a, b)
            XCTAssertGreaterThanOrEqual(cos, 0.9995, "image \(i): bf16 vs fp32 cosine")
            XCTAssertLessThan(cos, 1, "image \(i): the bf16 path ran (it rounds)")
        }
    }
}
