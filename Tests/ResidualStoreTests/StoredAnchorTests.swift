import CLIP
import Foundation
import ResidualStore
import Store
import TestSupport
import Timeline
import Video
import XCTest

/// The path the library actually runs: index a real clip (i8 store), reconstruct P-features
/// through `Library.embeddings`, and compare with an independent construction that feeds A the
/// I-feature as i8 storage returns it.
final class StoredAnchorTests: XCTestCase {
    func testLibraryFeedsATheStoredQuantisedAnchor() async throws {
        let model = try TinyCLIP.model.get()
        let url = try PipelineTests.video.get()
        let dir = try TempDirectory.make("anchor")
        defer { TempDirectory.remove(dir) }
        let a = TinyCLIP.randomTokenizer(for: model, seed: 11, scale: 0.5, bias: 0.02)
        let d = model.config.vision.width
        let b = model.config.embedDim
        var config = Library.Configuration()
        config.recipe.codec = .i8
        config.recipe.strategy = .uniform
        config.recipe.p = 0.75
        // Pixels straight from the source: the decoded-frame tier's JPEG patches add an error of
        // their own (FrameTierTests measures it) that would hide the one this test looks for.
        config.frameTierBytes = 0
        let library = try Library(
            store: dir.appendingPathComponent("s.sqlite"), model: model, tokenizer: a, configuration: config)
        let summary = try await library.index([url])
        XCTAssertEqual(summary.failed, 0, "\(summary.files)")
        let v = try library.video(url.path)
        let dense = try library.embeddings(v, from: 0, to: 2)
        XCTAssertEqual(dense.map(\.kind), [.i, .p, .p, .i, .p])

        // Independently: decode, full CLIP on the I-frame, i8 round trip written out here.
        var crops: [[Float]] = []
        try VideoReader(url: url).forEachFrame(fps: 2) { f in
            if crops.count < 3 {
                crops.append(CLIPPreprocessor.normalize(CLIPPreprocessor.resizeAndCrop(f.image, size: 224)))
            }
        }
        let iFeature = crops[0].withUnsafeBufferPointer { model.vision.encode([.init(pixels: $0.baseAddress!)]) }
        let scale = iFeature.map(abs).max()! / 127
        let stored = iFeature.map { max(-127, min(127, ($0 / scale).rounded())) * scale }
        // (Ingest batches its I-frames, so the float feature may differ in the last bit.)
        XCTAssertLessThan(
            zip(dense[0].vector, stored).map { abs($0 - $1) }.max()!, 1e-5, "the I-feature is what i8 storage returns")
        XCTAssertGreaterThan(zip(stored, iFeature).map { abs($0 - $1) }.max()!, 1e-4, "i8 really rounds")

        func expected(anchor: [Float], frame k: Int) -> [Float] {
            let norm = anchor.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let token = (0..<d).map { o in
                Float(
                    (0..<b).reduce(Double(a.bias[o])) { $0 + Double(a.weight[o * b + $1]) * Double(anchor[$1] / norm) })
            }
            let keep = TokenReduction.uniformGrid(grid: model.config.gridSize, count: 49)
            return crops[k].withUnsafeBufferPointer {
                model.vision.encode([.init(pixels: $0.baseAddress!, keep: keep, extraTokens: token)])
            }
        }
        XCTAssertEqual(model.config.patchCount, 196)
        for k in 1...2 {
            let viaStored = expected(anchor: stored, frame: k)
            let viaFloat = expected(anchor: iFeature, frame: k)
            let errStored = zip(dense[k].vector, viaStored).map { abs($0 - $1) }.max()!
            let errFloat = zip(dense[k].vector, viaFloat).map { abs($0 - $1) }.max()!
            print(
                """
                P-frame \(k): |library - stored-anchor construction| \(errStored), |library - float-anchor \
                construction| \(errFloat)
                """
            )
            XCTAssertLessThan(errStored, 1e-5, "P-frame \(k) is built from the stored anchor")
            XCTAssertGreaterThan(
                errFloat, 10 * errStored, "P-frame \(k): the float anchor gives a measurably different feature")
        }

        // Training and evaluation round the anchor with the same codec.
        let q = AnchorQuantizer.stored(.i8)
        XCTAssertEqual(q.name, "i8+lz4")
        XCTAssertEqual(try q(iFeature, dim: b), stored)
        XCTAssertEqual(try AnchorQuantizer.stored(.f16)(iFeature, dim: b), iFeature.map { Float(Float16($0)) })
    }
}
