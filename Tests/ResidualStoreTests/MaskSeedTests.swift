import CLIP
import Foundation
import ResidualStore
import TestSupport
import Timeline
import Video
import XCTest

/// The random strategy's mask seed is recorded per video at ingest and used by reconstruction;
/// cache keys carry the sampling rate.
final class MaskSeedTests: XCTestCase {
    func testReconstructionUsesTheVideosStoredMaskSeed() async throws {
        let model = try TinyCLIP.model.get()
        let url = try PipelineTests.video.get()
        let dir = try TempDirectory.make("seed")
        defer { TempDirectory.remove(dir) }
        var config = Library.Configuration()
        config.recipe.strategy = .random
        // Pixels straight from the source: the decoded-frame tier's JPEG patches add an error of
        // their own (FrameTierTests measures it) that would hide the one this test looks for.
        config.frameTierBytes = 0
        let library = try Library(store: dir.appendingPathComponent("s.sqlite"), model: model, configuration: config)
        _ = try await library.index([url])
        let v = try library.video(url.path)
        XCTAssertEqual(
            UInt64(bitPattern: v.maskSeed), UInt64(v.contentHash.prefix(16), radix: 16), "seed from the content hash")
        let seed = UInt64(bitPattern: v.maskSeed)
        XCTAssertNotEqual(seed, 0)
        let dense = try library.embeddings(v, from: 0, to: 1)
        XCTAssertEqual(dense.map(\.kind), [.i, .p, .p])

        var crops: [[Float]] = []
        try VideoReader(url: url).forEachFrame(fps: 2) { f in
            if crops.count < 3 {
                crops.append(CLIPPreprocessor.normalize(CLIPPreprocessor.resizeAndCrop(f.image, size: 224)))
            }
        }
        for k in 1...2 {
            // A = 0: the P-feature is the ViT over the kept patches alone.
            func feature(seed: UInt64) throws -> [Float] {
                let keep = try TokenReduction(p: 0.85, strategy: .random, seed: seed).select(
                    grid: 14, patchSize: 16, frameIndex: k)
                return crops[k].withUnsafeBufferPointer {
                    model.vision.encode([.init(pixels: $0.baseAddress!, keep: keep)])
                }
            }
            let stored = try feature(seed: seed)
            let constant = try feature(seed: 0)
            XCTAssertLessThan(
                zip(dense[k].vector, stored).map { abs($0 - $1) }.max()!, 1e-5, "P-frame \(k) uses the stored seed")
            XCTAssertGreaterThan(
                zip(dense[k].vector, constant).map { abs($0 - $1) }.max()!, 1e-3, "not the old constant seed")
        }
        // The encoder's copy with a seed changes only the seed.
        let enc = try ResidualEncoder(
            model: model, tokenizer: .zero(for: model), n: 2, reduction: TokenReduction(p: 0.85, strategy: .random))
        XCTAssertEqual(enc.withMaskSeed(seed).reduction, try TokenReduction(p: 0.85, strategy: .random, seed: seed))
    }

    func testFrameKeysIncludeTheSamplingRate() {
        let cache = FrameCache(byteBudget: 1 << 20)
        let image = RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6])
        cache.put(FrameKey(videoHash: "h", fps: 2, index: 3), image)
        XCTAssertNotNil(cache.get(FrameKey(videoHash: "h", fps: 2, index: 3)))
        XCTAssertNil(cache.get(FrameKey(videoHash: "h", fps: 1, index: 3)), "frame 3 at 1 fps is another frame")
        XCTAssertNotEqual(
            FrameKey(videoHash: "h", fps: 2, index: 3).description,
            FrameKey(videoHash: "h", fps: 1, index: 3).description)
    }
}
