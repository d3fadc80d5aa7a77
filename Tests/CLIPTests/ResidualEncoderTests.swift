import CLIP
import Foundation
import TestSupport
import Timeline
import XCTest

/// The residual encoder on the tiny fixture model, each part checked against an independent
/// construction through the plain vision tower (itself checked against transformers).
final class ResidualEncoderTests: XCTestCase {
    static let model = TinyCLIP.model
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TempDirectory.make("residual")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func randomA(_ model: CLIPModel, seed: UInt64 = 7) -> ResidualTokenizer {
        var rng = SplitMix(seed: seed)
        let d = model.config.vision.width
        let b = model.config.embedDim
        return ResidualTokenizer(
            weight: (0..<(d * b)).map { _ in rng.normal() * 0.3 }, bias: (0..<d).map { _ in rng.normal() * 0.1 },
            embedDim: b, width: d, clipSHA256: model.weightsSHA256)
    }

    func testKeepCountsMatchThePaper() throws {
        let r = try TokenReduction(p: 0.85, strategy: .random)
        XCTAssertEqual(r.keepCount(patches: 49), 7)
        XCTAssertEqual(r.keepCount(patches: 196), 29)
        XCTAssertEqual(r.keepCount(patches: 256), 38)
        XCTAssertEqual(try TokenReduction(p: 0.999, strategy: .center).keepCount(patches: 49), 1, "at least one patch")
        XCTAssertEqual(try TokenReduction(p: 0, strategy: .center).keepCount(patches: 49), 49)
    }

    func testBadParametersAreRejected() throws {
        for p in [-0.1, 1.0, 1.5, .nan] {
            XCTAssertThrowsError(try TokenReduction(p: p, strategy: .random)) { e in
                guard case .badParameter(let m) = e as? ResidualError else { return XCTFail("\(e)") }
                XCTAssertTrue(m.contains("[0, 1)"), m)
            }
        }
        let model = try Self.model.get()
        XCTAssertThrowsError(
            try ResidualEncoder(
                model: model, tokenizer: .zero(for: model), n: -1,
                reduction: TokenReduction(p: 0.5, strategy: .center))
        ) { e in
            guard case .badParameter(let m) = e as? ResidualError else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("N"), m)
        }
        let wrongDims = ResidualTokenizer(
            weight: [Float](repeating: 0, count: 8 * 3), bias: [Float](repeating: 0, count: 8),
            embedDim: 3, width: 8, clipSHA256: model.weightsSHA256)
        XCTAssertThrowsError(
            try ResidualEncoder(
                model: model, tokenizer: wrongDims, n: 2, reduction: TokenReduction(p: 0.5, strategy: .center)))
    }

    func testTokenizerFileIsTiedToTheWeights() throws {
        let model = try Self.model.get()
        let a = randomA(model)
        let url = dir.appendingPathComponent("a.safetensors")
        try a.save(to: url)
        XCTAssertEqual(try ResidualTokenizer(contentsOf: url, for: model), a)

        let other = ResidualTokenizer(
            weight: a.weight, bias: a.bias, embedDim: a.embedDim, width: a.width,
            clipSHA256: String(repeating: "0", count: 64))
        let otherURL = dir.appendingPathComponent("other.safetensors")
        try other.save(to: otherURL)
        XCTAssertThrowsError(try ResidualTokenizer(contentsOf: otherURL, for: model)) { e in
            guard case .wrongWeights(let path, let trained, let loaded) = e as? ResidualError else {
                return XCTFail("\(e)")
            }
            XCTAssertEqual(path, otherURL.path)
            XCTAssertEqual(trained, other.clipSHA256)
            XCTAssertEqual(loaded, model.weightsSHA256)
            XCTAssertTrue("\(e)".contains(String(model.weightsSHA256.prefix(16))))
        }
        // Plain CLIP weights are not a residual tokenizer.
        XCTAssertThrowsError(
            try ResidualTokenizer(
                contentsOf: Fixtures.tinyModel.appendingPathComponent("model.safetensors"), for: model)
        ) { e in
            guard case .notAResidualTokenizer = e as? ResidualError else { return XCTFail("\(e)") }
        }
    }

    func testStrategies() throws {
        let g = 14
        let p = 16
        let random = try TokenReduction(p: 0.85, strategy: .random, seed: 1)
        XCTAssertEqual(
            random.select(grid: g, patchSize: p, frameIndex: 5), random.select(grid: g, patchSize: p, frameIndex: 5),
            "reproducible")
        XCTAssertNotEqual(
            random.select(grid: g, patchSize: p, frameIndex: 5), random.select(grid: g, patchSize: p, frameIndex: 6))
        XCTAssertNotEqual(
            random.select(grid: g, patchSize: p, frameIndex: 5),
            try TokenReduction(p: 0.85, strategy: .random, seed: 2).select(grid: g, patchSize: p, frameIndex: 5))
        XCTAssertEqual(Set(random.select(grid: g, patchSize: p, frameIndex: 5)).count, 29)

        // 8 of 16 on a 4x4 grid: rows 0, 2, 3 carry 3, 2, 3 patches (not every other index in raster order).
        let uniform = try TokenReduction(p: 0.5, strategy: .uniform).select(grid: 4, patchSize: p, frameIndex: 0)
        XCTAssertEqual(uniform, [0, 2, 3, 9, 11, 12, 14, 15])

        let center = try TokenReduction(p: 1 - 4.0 / 16, strategy: .center).select(grid: 4, patchSize: p, frameIndex: 0)
        XCTAssertEqual(center, [5, 6, 9, 10])

        // Motion: the patch whose pixels changed is kept.
        let s = g * p
        var anchor = [Float](repeating: 0, count: 3 * s * s)
        var frame = anchor
        for y in 0..<p { for x in 0..<p { frame[(3 * p + y) * s + 7 * p + x] = 2 } }  // patch (3, 7) in channel 0
        for y in 0..<p { frame[s * s + (10 * p + y) * s + 2 * p] = 1 }  // a smaller change in patch (10, 2)
        anchor[0] = 0
        let motion = try TokenReduction(p: 1 - 2.0 / Double(g * g), strategy: .motion)
        let kept = frame.withUnsafeBufferPointer { f in
            anchor.withUnsafeBufferPointer { a in
                motion.select(grid: g, patchSize: p, frameIndex: 1, frame: f.baseAddress!, anchor: a.baseAddress!)
            }
        }
        XCTAssertEqual(kept, [3 * g + 7, 10 * g + 2])
    }

    /// `linspace` is the authors' "uniform": torch.linspace(0, P - 1, K).long() over raster
    /// order. Expected values from numpy float32 with torch's two-ended formula (see the type).
    func testLinspaceIsTheAuthorsRasterSpacing() throws {
        let r = try TokenReduction(p: 0.85, strategy: .linspace)
        XCTAssertEqual(
            r.select(grid: 7, patchSize: 32, frameIndex: 1), [0, 8, 16, 24, 32, 40, 48], "B/32: the diagonal")
        XCTAssertEqual(
            r.select(grid: 14, patchSize: 16, frameIndex: 5),
            [
                0, 6, 13, 20, 27, 34, 41, 48, 55, 62, 69, 76, 83, 90, 97, 104, 111, 118, 125, 132, 139, 146, 153, 160,
                167, 174, 181, 188, 195,
            ])
        XCTAssertEqual(
            r.select(grid: 16, patchSize: 14, frameIndex: 2),
            [
                0, 6, 13, 20, 27, 34, 41, 48, 55, 62, 68, 75, 82, 89, 96, 103, 110, 117, 124, 130, 137, 144, 151, 158,
                165, 172, 179, 186, 192, 199, 206, 213, 220, 227, 234, 241, 248, 255,
            ])
        for g in 1...16 {
            for k in 1...(g * g) {
                let kept = TokenReduction.linspace(patches: g * g, count: k)
                XCTAssertEqual(Set(kept).count, k, "g \(g) k \(k): distinct")
                XCTAssertEqual(kept, kept.sorted())
                XCTAssertEqual(kept.first, 0)
                if k > 1 { XCTAssertEqual(kept.last, g * g - 1) }
            }
        }
    }

    /// `uniform` at the paper's p = 0.85 on every architecture: a 2-D grid whose rows and
    /// columns spread over the image (raster-order spacing gave one column on B/32).
    func testUniformIsATwoDimensionalGridOnEveryArchitecture() throws {
        let r = try TokenReduction(p: 0.85, strategy: .uniform)
        // B/32: the 7 patches of a die's seven: rows 1, 3, 5 with 2, 3, 2 patches.
        XCTAssertEqual(r.select(grid: 7, patchSize: 32, frameIndex: 1), [8, 12, 22, 24, 26, 36, 40])
        for (name, g, patch, want) in [("B/32", 7, 32, 7), ("B/16", 14, 16, 29), ("L/14", 16, 14, 38)] {
            let kept = r.select(grid: g, patchSize: patch, frameIndex: 3)
            XCTAssertEqual(kept.count, want, name)
            XCTAssertEqual(Set(kept).count, want, "\(name): distinct")
            XCTAssertEqual(
                r.select(grid: g, patchSize: patch, frameIndex: 4), kept, "\(name): the same for every frame")
            let rows = kept.map { $0 / g }
            let cols = kept.map { $0 % g }
            let side = Int(Double(want).squareRoot())
            XCTAssertGreaterThanOrEqual(Set(rows).count, side, "\(name): rows used \(Set(rows).sorted())")
            XCTAssertGreaterThanOrEqual(Set(cols).count, side, "\(name): columns used \(Set(cols).sorted())")
            // Spread: the outermost rows and columns lie within a spacing of the borders.
            let spacing = (g + side - 1) / side
            for (axis, v) in [("rows", rows), ("columns", cols)] {
                XCTAssertLessThan(v.min()!, spacing, "\(name) \(axis) start at \(v.min()!)")
                XCTAssertGreaterThan(v.max()!, g - 1 - spacing, "\(name) \(axis) end at \(v.max()!)")
                let mean = Double(v.reduce(0, +)) / Double(v.count)
                XCTAssertEqual(mean, Double(g - 1) / 2, accuracy: Double(g) / 8, "\(name) \(axis) centred")
            }
            // Even: the patches per row differ by at most one.
            let perRow = Dictionary(grouping: rows, by: { $0 }).values.map(\.count)
            XCTAssertLessThanOrEqual(perRow.max()! - perRow.min()!, 1, "\(name): \(perRow)")
        }
        // Any count on any grid: exactly that many distinct in-range patches.
        for g in 1...16 {
            for k in 1...(g * g) {
                let kept = TokenReduction.uniformGrid(grid: g, count: k)
                XCTAssertEqual(Set(kept).count, k, "grid \(g) count \(k)")
                XCTAssertTrue(kept.allSatisfy { (0..<(g * g)).contains($0) }, "grid \(g) count \(k)")
            }
        }
    }

    func testZeroTokenizerReproducesTokenReductionBaseline() throws {
        let model = try Self.model.get()
        let reduction = try TokenReduction(p: 0.85, strategy: .motion)
        let enc = try ResidualEncoder(model: model, tokenizer: .zero(for: model), n: 2, reduction: reduction)
        let pixels = SyntheticPixels.make(count: 3, size: 224)
        let stride = 3 * 224 * 224
        let (features, kinds) = enc.encodeSequence(pixels: pixels, count: 3)
        XCTAssertEqual(kinds, [true, false, false])
        let b = model.config.embedDim
        pixels.withUnsafeBufferPointer { px in
            let base = px.baseAddress!
            for k in 1...2 {
                let keep = reduction.select(
                    grid: 14, patchSize: 16, frameIndex: k, frame: base + k * stride, anchor: base)
                XCTAssertEqual(keep.count, 29)
                let baseline = model.vision.encode([.init(pixels: base + k * stride, keep: keep)])
                assertClose(
                    Array(features[k * b..<(k + 1) * b]), baseline, tolerance: 1e-6,
                    "A = 0 P-frame \(k) vs reduction only")
            }
            assertClose(
                Array(features[0..<b]), model.vision.encode([.init(pixels: base)]), tolerance: 1e-6,
                "I-frame = full CLIP")
        }
    }

    func testResidualTokenIsTheLinearMapOfTheUnitAnchorFeature() throws {
        let model = try Self.model.get()
        let a = randomA(model)
        let reduction = try TokenReduction(p: 0.75, strategy: .uniform)
        let enc = try ResidualEncoder(model: model, tokenizer: a, n: 2, reduction: reduction)
        let pixels = SyntheticPixels.make(count: 3, size: 224)
        let stride = 3 * 224 * 224
        let b = model.config.embedDim
        let d = model.config.vision.width
        let (features, _) = enc.encodeSequence(pixels: pixels, count: 3)
        pixels.withUnsafeBufferPointer { px in
            let base = px.baseAddress!
            let iFeature = model.vision.encode([.init(pixels: base)])
            let norm = iFeature.reduce(0) { $0 + $1 * $1 }.squareRoot()
            var token = [Float](repeating: 0, count: d)
            for o in 0..<d {
                var acc = Double(a.bias[o])
                for i in 0..<b { acc += Double(a.weight[o * b + i]) * Double(iFeature[i] / norm) }
                token[o] = Float(acc)
            }
            let keep = reduction.select(grid: 14, patchSize: 16, frameIndex: 2)
            let expected = model.vision.encode([.init(pixels: base + 2 * stride, keep: keep, extraTokens: token)])
            assertClose(Array(features[2 * b..<3 * b]), expected, tolerance: 1e-5, "P-frame with residual token")
            let baseline = model.vision.encode([.init(pixels: base + 2 * stride, keep: keep)])
            let diff = zip(baseline, expected).map { abs($0 - $1) }.max()!
            XCTAssertGreaterThan(diff, 1e-3, "the residual token must change the P-feature")
        }
    }

    /// With an anchor quantizer, the sequence returns I-features as stored and feeds A exactly
    /// those (the library's path), not the float ones.
    func testSequenceWithRoundedAnchorsFeedsAWhatIsStored() throws {
        let model = try Self.model.get()
        let enc = try ResidualEncoder(
            model: model, tokenizer: randomA(model), n: 2, reduction: TokenReduction(p: 0.75, strategy: .center))
        let coarse = AnchorQuantizer(name: "coarse") { rows, _ in rows.map { ($0 * 4).rounded() / 4 } }
        let pixels = SyntheticPixels.make(count: 3, size: 224)
        let b = model.config.embedDim
        let float = enc.encodeSequence(pixels: pixels, count: 3).features
        let rounded = try enc.encodeSequence(pixels: pixels, count: 3, anchor: coarse).features
        XCTAssertEqual(Array(rounded[0..<b]), try coarse(Array(float[0..<b]), dim: b), "the I-feature as stored")
        // The P-frame from the rounded anchor equals a P-frame encoded from that anchor directly.
        let direct = pixels.withUnsafeBufferPointer { px in
            enc.encodePFrames([
                .init(
                    index: 1, pixels: px.baseAddress! + 3 * 224 * 224, anchorPixels: px.baseAddress!,
                    anchorFeature: rounded[0..<b])
            ])
        }
        assertClose(Array(rounded[b..<2 * b]), direct, tolerance: 1e-6, "P-frame from the stored anchor")
        let diff = zip(rounded[b..<2 * b], float[b..<2 * b]).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(diff, 1e-4, "a rounded anchor changes the P-feature")
    }

    func testBatchedSequenceEqualsFrameByFrame() throws {
        let model = try Self.model.get()
        let enc = try ResidualEncoder(
            model: model, tokenizer: randomA(model), n: 1, reduction: TokenReduction(p: 0.5, strategy: .random, seed: 3)
        )
        let pixels = SyntheticPixels.make(count: 3, size: 224) + SyntheticPixels.make(count: 1, size: 224)
        let stride = 3 * 224 * 224
        let b = model.config.embedDim
        let (all, kinds) = enc.encodeSequence(pixels: pixels, count: 4)
        XCTAssertEqual(kinds, [true, false, true, false])
        for first in [0, 2] {
            let part = Array(pixels[first * stride..<(first + 2) * stride])
            let (two, _) = enc.encodeSequence(pixels: part, count: 2, first: first)
            assertClose(Array(all[first * b..<(first + 2) * b]), two, tolerance: 1e-5, "frames \(first)..<\(first + 2)")
        }
        XCTAssertEqual(FrameLayout(n: 2).anchor(of: 5), 3)
        XCTAssertEqual(FrameLayout(n: 2).anchor(of: 6), 6)
    }

    func testCostModel() throws {
        let model = try Self.model.get()
        let enc = try ResidualEncoder(
            model: model, tokenizer: randomA(model), n: 2, reduction: TokenReduction(p: 0.85, strategy: .center))
        XCTAssertLessThan(enc.flopsP, enc.flopsFull * 0.25)
        XCTAssertEqual(enc.flopsAverage, (enc.flopsFull + 2 * enc.flopsP) / 3, accuracy: 1)
        XCTAssertEqual(ResidualEncoder.paperCostRatio(n: 2, p: 0.85), 1.3 / 3, accuracy: 1e-12)
    }
}
