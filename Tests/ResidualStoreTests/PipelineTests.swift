import CLIP
import Foundation
import ResidualStore
import TestSupport
import Timeline
import Video
import XCTest

/// Ingest pipeline and lazy reconstruction on a real generated video and the tiny CLIP.
final class PipelineTests: XCTestCase {
    static let video = Result { () throws -> URL in
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rstore-pipeline-\(getpid()).mp4")
        if !FileManager.default.fileExists(atPath: url.path) {
            try ExternalCommand.ffmpeg([
                "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "6",
                "-c:v", "libx264", "-g", "40", "-bf", "2", "-pix_fmt", "yuv420p", url.path,
            ])
        }
        return url
    }

    /// Every sampled frame, preprocessed, straight from the sequential decoder.
    func sequentialPixels(_ url: URL, size: Int) throws -> (offsets: [FrameOffset], pixels: [Float]) {
        var offsets: [FrameOffset] = []
        var pixels: [Float] = []
        try VideoReader(url: url).forEachFrame(fps: 2) { f in
            offsets.append(f.offset)
            pixels += CLIPPreprocessor.normalize(CLIPPreprocessor.resizeAndCrop(f.image, size: size))
        }
        return (offsets, pixels)
    }

    func testChunksCoverEveryFrameAndIFeaturesAreFullCLIP() async throws {
        let model = try TinyCLIP.model.get()
        let url = try Self.video.get()
        let (offsets, pixels) = try sequentialPixels(url, size: 224)
        XCTAssertEqual(offsets.count, 12)
        let pipeline = try IngestPipeline(
            model: model, settings: .init(recipe: IndexRecipe(fps: 2, n: 2, chunkFrames: 4), batch: 3))
        var chunks: [IngestPipeline.Chunk] = []
        try await pipeline.run(url: url) { chunks.append($0) }
        XCTAssertEqual(chunks.flatMap(\.offsets), offsets)
        XCTAssertTrue(chunks.allSatisfy { FrameLayout(n: 2).isIFrame($0.offsets[0].index) }, "chunks start on I-frames")
        let iFeatures = chunks.flatMap(\.iFeatures)
        XCTAssertEqual(iFeatures.map(\.index), [0, 3, 6, 9])
        let stride = 3 * 224 * 224
        let expected = model.encodeImages(
            pixels: iFeatures.flatMap { Array(pixels[$0.index * stride..<($0.index + 1) * stride]) }, count: 4)
        assertNear(iFeatures.flatMap(\.vector), expected, 1e-5)

        // Resuming from frame 6 yields exactly the rest.
        var resumed: [IngestPipeline.Chunk] = []
        try await pipeline.run(url: url, resumeFrom: 6) { resumed.append($0) }
        XCTAssertEqual(resumed.flatMap(\.offsets), Array(offsets[6...]))
        XCTAssertEqual(resumed.flatMap(\.iFeatures).map(\.index), [6, 9])
    }

    func testReconstructedPFeaturesEqualInterleavedEncoding() throws {
        let model = try TinyCLIP.model.get()
        let url = try Self.video.get()
        let (offsets, pixels) = try sequentialPixels(url, size: 224)
        let a = TinyCLIP.randomTokenizer(for: model, seed: 5, scale: 0.2, bias: 0.01)
        let b = model.config.embedDim
        let encoder = try ResidualEncoder(
            model: model, tokenizer: a, n: 2, reduction: TokenReduction(p: 0.75, strategy: .motion))
        let (reference, kinds) = encoder.encodeSequence(pixels: pixels, count: offsets.count)
        let iFeatures = Dictionary(
            uniqueKeysWithValues: kinds.indices.filter { kinds[$0] }.map {
                ($0, Array(reference[$0 * b..<($0 + 1) * b]))
            })
        let cache = FrameCache(byteBudget: 1 << 20)  // small: forces evictions and re-decodes
        let recon = Reconstructor(encoder: encoder, frameCache: cache, featureBudget: 1 << 20, batch: 3)
        let source = Reconstructor.Source(url: url, contentHash: "h", fps: 2, offsets: offsets, layout: encoder.layout)
        { iFeatures[$0]! }
        let dense = try recon.features(of: source, range: 2..<11)
        assertNear(dense.flatMap { $0 }, Array(reference[2 * b..<11 * b]), 1e-4)
        // Second call: P-features come from the feature cache.
        let hitsBefore = recon.pFeatures.stats.hits
        _ = try recon.features(of: source, range: 4..<6)
        XCTAssertEqual(recon.pFeatures.stats.hits, hitsBefore + 2)
    }

    func testSearchFindsAPlantedMoment() throws {
        // 2 videos, 60 frames each at 2 fps, N = 2; video 7 has a bump at frames 30...41.
        let dim = 8
        var query = [Float](repeating: 0, count: dim)
        query[0] = 1
        func feature(_ video: Int64, _ k: Int) -> [Float] {
            var v = [Float](repeating: 0, count: dim)
            v[1] = 1
            v[0] = (video == 7 && (30...41).contains(k)) ? 3 : 0.1 * Float(k % 5) / 5
            return v
        }
        var matrix = IFeatureMatrix(dim: dim)
        var videos: [Int64: MomentSearch.VideoContext] = [:]
        for id: Int64 in [3, 7] {
            videos[id] = .init(
                id: id, path: "/v\(id).mp4", times: (0..<60).map { Double($0) / 2 }, fps: 2, layout: FrameLayout(n: 2))
            for k in stride(from: 0, to: 60, by: 3) { matrix.append(.init(video: id, frame: k), feature(id, k)) }
        }
        let search = MomentSearch()
        let coarse = search.coarse(
            matrix: matrix, query: query, shape: videos.mapValues { ($0.layout, $0.times.count) })
        XCTAssertEqual(coarse.first?.videoID, 7)
        let plan = search.plan(coarse, k: 1, videos: videos)
        XCTAssertEqual(
            Set(plan.requests.map(\.video)).count, plan.requests.count,
            "stage 2 asks for all its frames at once, one request a video")
        let top = search.rank(
            plan, features: plan.requests.map { r in r.frameIndices.map { feature(r.video, $0) } }, query: query, k: 1)
        let best = try XCTUnwrap(top.first)
        XCTAssertEqual(best.videoID, 7)
        XCTAssertEqual(best.path, "/v7.mp4")
        XCTAssertGreaterThan(Grounding.iou((best.start, best.end), (15, 21)), 0.5, "\(best)")
    }

    private func assertNear(
        _ a: [Float], _ b: [Float], _ tol: Float, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tol, "max abs diff \(worst)", file: file, line: line)
    }
}
