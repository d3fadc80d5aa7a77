import CLIP
import Foundation
import TestSupport
import XCTest

@testable import Video

/// CLIP preprocessing against the Hugging Face / Pillow reference made by
/// Tools/fixtures/make_preprocess_fixture.py (Tests/VideoTests/Fixtures/preprocess).
final class PreprocessTests: XCTestCase {
    // MARK: fixture

    struct Manifest: Decodable {
        struct PixelValues: Decodable {
            struct Sample: Decodable { let c: Int, y: Int, x: Int, bits: UInt32 }
            let sum: [Double]
            let min: [Float]
            let max: [Float]
            let samples: [Sample]
        }
        struct Case: Decodable {
            let name: String
            let kind: String
            let width: Int
            let height: Int
            let seed: Int?
            let file: String?
            let resized: [Int]
            let crop_offset: [Int]
            let crop: String
            let pixel_values: PixelValues
        }
        struct ResampleCase: Decodable {
            let name: String
            let width: Int, height: Int, seed: Int
            let out_width: Int, out_height: Int
            let file: String
            let order: String?
        }
        struct SweepCase: Decodable {
            let width: Int, height: Int, seed: Int
            let out_width: Int, out_height: Int
            let checksum: String
        }
        let versions: [String: String]
        let cases: [Case]
        let resample_cases: [ResampleCase]
        let resample_sweep: [SweepCase]
    }

    static let dir: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("preprocess")

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: dir.appendingPathComponent("manifest.json")))
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
    }

    static func input(_ c: Manifest.Case) throws -> RGBImage {
        switch c.kind {
        case "synthetic": return SyntheticImage.make(width: c.width, height: c.height, seed: c.seed!)
        default: return try ImageFile.load(dir.appendingPathComponent(c.file!))
        }
    }

    /// Independent restatement of HF's rescale + normalize for one uint8 value (what the fixture
    /// script asserts pixel_values equal bitwise).
    static func reference(_ v: UInt8, channel c: Int) -> Float {
        let x = Float(Double(v) * (1.0 / 255.0))
        return (x - CLIPPreprocessor.mean[c]) / CLIPPreprocessor.std[c]
    }

    // MARK: resize geometry

    func testResizedSizeMatchesHF() {
        // get_resize_output_image_size(default_to_square=False): int(224 * long / short).
        let cases: [(Int, Int, Int, Int)] = [
            (1280, 720, 398, 224), (640, 272, 527, 224), (176, 144, 273, 224), (300, 1000, 224, 746),
            (224, 224, 224, 224), (225, 300, 224, 298), (720, 1280, 224, 398), (1920, 1080, 398, 224),
            (640, 480, 298, 224), (3840, 2160, 398, 224), (1, 1, 224, 224), (1000, 1, 224000, 224),
        ]
        for (w, h, ew, eh) in cases {
            let s = CLIPPreprocessor.resizedSize(width: w, height: h, shortestEdge: 224)
            XCTAssertEqual(s.width, ew, "\(w)x\(h)")
            XCTAssertEqual(s.height, eh, "\(w)x\(h)")
        }
    }

    // MARK: end to end against CLIPImageProcessor

    func testMatchesCLIPImageProcessor() throws {
        let m = try Self.manifest()
        XCTAssertEqual(m.versions["transformers"], "4.46.3")
        XCTAssertEqual(m.cases.count, 8)
        for c in m.cases {
            let image = try Self.input(c)
            XCTAssertEqual(image.width, c.width, c.name)
            XCTAssertEqual(image.height, c.height, c.name)
            let size = CLIPPreprocessor.resizedSize(width: image.width, height: image.height, shortestEdge: 224)
            XCTAssertEqual([size.width, size.height], c.resized, c.name)
            XCTAssertEqual([(size.width - 224) / 2, (size.height - 224) / 2], c.crop_offset, c.name)

            let crop = CLIPPreprocessor.resizeAndCrop(image, size: 224)
            let ref = try Self.bytes(c.crop)
            XCTAssertEqual(crop.width, 224)
            XCTAssertEqual(crop.height, 224)
            XCTAssertEqual(crop.pixels.count, ref.count)

            var maxU8 = 0
            var differing = 0
            for (a, b) in zip(crop.pixels, ref) where a != b {
                differing += 1
                maxU8 = max(maxU8, abs(Int(a) - Int(b)))
            }
            let pv = CLIPPreprocessor.normalize(crop)
            var sumAbs = 0.0
            var maxAbs: Float = 0
            let plane = 224 * 224
            for i in 0..<plane {
                for ch in 0..<3 {
                    let d = abs(pv[ch * plane + i] - Self.reference(ref[3 * i + ch], channel: ch))
                    sumAbs += Double(d)
                    maxAbs = max(maxAbs, d)
                }
            }
            let meanAbs = sumAbs / Double(3 * plane)
            print(
                String(
                    format: "preprocess %@ (%dx%d): max |uint8 diff| %d (%d differing), "
                        + "pixel_values mean |diff| %.3g, max |diff| %.3g",
                    c.name, c.width, c.height, maxU8, differing, meanAbs, Double(maxAbs)))
            XCTAssertLessThanOrEqual(meanAbs, 0.01, c.name)
            XCTAssertLessThanOrEqual(maxU8, 1, c.name)
            // What this implementation achieves: Pillow's fixed-point arithmetic reproduced exactly.
            XCTAssertEqual(differing, 0, "\(c.name): \(differing) bytes differ from Pillow/HF (max \(maxU8))")
        }
    }

    func testNormalizeIsBitExactToPixelValues() throws {
        let m = try Self.manifest()
        for c in m.cases {
            let ref = try Self.bytes(c.crop)
            let image = RGBImage(width: 224, height: 224, pixels: ref)
            let pv = CLIPPreprocessor.normalize(image)
            XCTAssertEqual(pv.count, 3 * 224 * 224)
            for s in c.pixel_values.samples {
                let v = pv[(s.c * 224 + s.y) * 224 + s.x]
                XCTAssertEqual(v.bitPattern, s.bits, "\(c.name) [\(s.c),\(s.y),\(s.x)]: \(v)")
            }
            for ch in 0..<3 {
                let slice = pv[(ch * 224 * 224)..<((ch + 1) * 224 * 224)]
                let sum = slice.reduce(0.0) { $0 + Double($1) }
                XCTAssertEqual(
                    sum, c.pixel_values.sum[ch], accuracy: 1e-6 * max(1, abs(c.pixel_values.sum[ch])),
                    "\(c.name) channel \(ch) sum")
                XCTAssertEqual(slice.min(), c.pixel_values.min[ch], c.name)
                XCTAssertEqual(slice.max(), c.pixel_values.max[ch], c.name)
            }
            // The pointer variant writes the same values at an offset into a batch buffer.
            var batch = [Float](repeating: .nan, count: 2 * pv.count)
            batch.withUnsafeMutableBufferPointer { CLIPPreprocessor.normalize(image, into: $0.baseAddress! + pv.count) }
            XCTAssertTrue(batch[..<pv.count].allSatisfy { $0.isNaN })
            XCTAssertEqual(Array(batch[pv.count...]), pv)
        }
    }

    func testNormalizeLookupMatchesFormula() {
        // (x/255 - mean)/std for every level, as numpy computes it (float64 rescale, float32 normalize).
        for ch in 0..<3 {
            for v in 0...255 {
                let img = RGBImage(width: 1, height: 1, pixels: [UInt8(v), UInt8(v), UInt8(v)])
                XCTAssertEqual(CLIPPreprocessor.normalize(img)[ch], Self.reference(UInt8(v), channel: ch))
            }
        }
        XCTAssertEqual(
            CLIPPreprocessor.normalize(RGBImage(width: 1, height: 1, pixels: [0, 0, 0]))[0],
            -1.7922626, accuracy: 1e-6)
    }

    // MARK: resampler against Pillow

    func testResampleCasesMatchPillow() throws {
        let m = try Self.manifest()
        XCTAssertGreaterThanOrEqual(m.resample_cases.count, 10)
        for c in m.resample_cases {
            let src = SyntheticImage.make(width: c.width, height: c.height, seed: c.seed)
            let order: BicubicResampler.PassOrder = c.order == "horizontalFirst" ? .horizontalFirst : .pillow
            let out = BicubicResampler.resize(src, width: c.out_width, height: c.out_height, order: order)
            XCTAssertEqual(out.width, c.out_width)
            XCTAssertEqual(out.height, c.out_height)
            let ref = try Self.bytes(c.file)
            let differing = zip(out.pixels, ref).filter { $0 != $1 }.count
            XCTAssertEqual(out.pixels.count, ref.count, c.name)
            XCTAssertEqual(differing, 0, "\(c.name): \(differing) bytes differ from Pillow")
        }
    }

    func testResampleSweepMatchesPillow() throws {
        let m = try Self.manifest()
        XCTAssertGreaterThanOrEqual(m.resample_sweep.count, 200)
        var failures: [String] = []
        for c in m.resample_sweep {
            let src = SyntheticImage.make(width: c.width, height: c.height, seed: c.seed)
            let out = BicubicResampler.resize(src, width: c.out_width, height: c.out_height)
            if String(SyntheticImage.checksum(out.pixels)) != c.checksum {
                failures.append("\(c.width)x\(c.height)->\(c.out_width)x\(c.out_height)")
            }
        }
        XCTAssertEqual(failures, [], "resizes differing from Pillow")
    }

    func testCroppedResizeEqualsResizeThenCrop() {
        var rng = SplitMix(seed: 42)
        for i in 0..<60 {
            let w = Int(rng.next() % 90) + 1
            let h = Int(rng.next() % 90) + 1
            let ow = Int(rng.next() % 120) + 1
            let oh = Int(rng.next() % 120) + 1
            let cw = Int(rng.next() % UInt64(ow)) + 1
            let ch = Int(rng.next() % UInt64(oh)) + 1
            let cx = Int(rng.next() % UInt64(ow - cw + 1))
            let cy = Int(rng.next() % UInt64(oh - ch + 1))
            let src = SyntheticImage.make(width: w, height: h, seed: 500 + i)
            for order in [BicubicResampler.PassOrder.pillow, .horizontalFirst, .verticalFirst] {
                let full = BicubicResampler.resize(src, width: ow, height: oh, order: order)
                let part = BicubicResampler.resize(
                    src, width: ow, height: oh, cropX: cx, cropY: cy,
                    cropWidth: cw, cropHeight: ch, order: order)
                var expected = [UInt8]()
                for y in cy..<(cy + ch) {
                    expected += full.pixels[((y * ow + cx) * 3)..<((y * ow + cx + cw) * 3)]
                }
                XCTAssertEqual(
                    part, RGBImage(width: cw, height: ch, pixels: expected),
                    "\(w)x\(h) -> \(ow)x\(oh) crop \(cx),\(cy) \(cw)x\(ch) \(order)")
            }
        }
    }

    func testIdentityAndKernelInvariants() {
        let src = SyntheticImage.make(width: 224, height: 224, seed: 9)
        XCTAssertEqual(CLIPPreprocessor.resizeAndCrop(src, size: 224), src)
        for (i, o) in [(1280, 398), (720, 224), (176, 273), (1, 224), (224, 1), (3000, 7)] {
            let k = BicubicResampler.kernel(inSize: i, outSize: o)
            XCTAssertTrue(k === BicubicResampler.kernel(inSize: i, outSize: o), "kernel cached")
            for x in 0..<o {
                XCTAssertGreaterThan(k.counts[x], 0)
                XCTAssertLessThanOrEqual(k.counts[x], k.ksize)
                XCTAssertGreaterThanOrEqual(k.starts[x], 0)
                XCTAssertLessThanOrEqual(k.starts[x] + k.counts[x], i)
                let sum = (0..<k.counts[x]).reduce(0) { $0 + Int(k.coeffs[x * k.ksize + $1]) }
                XCTAssertEqual(Double(sum), Double(1 << 22), accuracy: Double(k.ksize), "\(i)->\(o) [\(x)]")
            }
        }
    }

    /// Speed report, not a timed assertion. Run in release:
    /// `RSTORE_BENCH=1 swift test -c release --filter PreprocessTests/testBenchmarkReport`.
    func testBenchmarkReport() throws {
        guard ProcessInfo.processInfo.environment["RSTORE_BENCH"] != nil else {
            throw XCTSkip("set RSTORE_BENCH=1 (and build with -c release) for the speed report")
        }
        let frame = SyntheticImage.make(width: 1280, height: 720, seed: 1)
        var out = [Float](repeating: 0, count: 3 * 224 * 224)
        for _ in 0..<5 { _ = CLIPPreprocessor.resizeAndCrop(frame) }
        let n = 300
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<n {
            let crop = CLIPPreprocessor.resizeAndCrop(frame)
            out.withUnsafeMutableBufferPointer { CLIPPreprocessor.normalize(crop, into: $0.baseAddress!) }
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        print(
            String(
                format: "CLIP preprocessing 1280x720 -> 224x224 float CHW: %.3f ms/frame (%d frames, one thread)",
                Double(t1 - t0) / Double(n) / 1e6, n))
    }
}

/// The fixture script's synthetic test image (Tools/fixtures/make_preprocess_fixture.py,
/// `synthetic_image`): 40x40 blocks of gradient, hash noise, hard stripes and gradient + small noise.
enum SyntheticImage {
    static func hash32(_ x: UInt32, _ y: UInt32, _ c: UInt32, _ seed: UInt32) -> UInt32 {
        var v = (x &* 0x9E37_79B1) ^ (y &* 0x85EB_CA77) ^ (c &* 0xC2B2_AE3D) ^ (seed &* 0x27D4_EB2F)
        v ^= v >> 15
        v = v &* 0x2C1B_3C6D
        v ^= v >> 12
        v = v &* 0x297A_2D39
        v ^= v >> 15
        return v
    }

    static func make(width w: Int, height h: Int, seed: Int) -> RGBImage {
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let region = (x / 40 + 2 * (y / 40)) % 4
                for c in 0..<3 {
                    let hv = Int(hash32(UInt32(x), UInt32(y), UInt32(c), UInt32(seed)))
                    let g: Int
                    switch c {
                    case 0: g = x * 255 / max(w - 1, 1)
                    case 1: g = y * 255 / max(h - 1, 1)
                    default: g = (x + y) * 255 / max(w + h - 2, 1)
                    }
                    let v: Int
                    switch region {
                    case 0: v = g
                    case 1: v = hv & 255
                    case 2: v = 255 * (((x + (c + 1) * y) / (c + 2)) % 2)
                    default: v = min(255, max(0, g + (hv & 31) - 16))
                    }
                    px[(y * w + x) * 3 + c] = UInt8(v)
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: px)
    }

    /// The fixture's resample-sweep checksum.
    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var s: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            let w = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019
            s &+= (UInt64(b) + 1) &* w
        }
        return s
    }
}

/// Preprocessing + CLIP end to end: our pixels through our tiny CLIP against the reference
/// processor's pixel_values through transformers (Tools/fixtures/make_preprocess_embeddings.py).
final class PreprocessEmbeddingTests: XCTestCase {
    func testEmbeddingsOfPreprocessedInputsMatchReference() throws {
        let model = try TinyCLIP.model.get()
        let reference = try JSONDecoder().decode(
            [String: [Float]].self,
            from: Data(contentsOf: PreprocessTests.dir.appendingPathComponent("tiny_clip_embeddings.json")))
        let cases = try PreprocessTests.manifest().cases
        XCTAssertEqual(Set(cases.map(\.name)), Set(reference.keys))
        for c in cases {
            let pixels = CLIPPreprocessor.normalize(
                CLIPPreprocessor.resizeAndCrop(try PreprocessTests.input(c), size: 224))
            let ours = model.encodeImages(pixels: pixels, count: 1)
            let ref = try XCTUnwrap(reference[c.name])
            var dot: Float = 0
            var na: Float = 0
            var nb: Float = 0
            for (a, b) in zip(ours, ref) {
                dot += a * b
                na += a * a
                nb += b * b
            }
            XCTAssertGreaterThanOrEqual(dot / (na * nb).squareRoot(), 0.9999, c.name)
        }
    }
}
