import CLIP
import Foundation
import TestSupport
import Video
import XCTest

@testable import ResidualStore

/// The motion strategy's source is recorded per video and used again by reconstruction: codec
/// motion vectors where the codec has them (the patches ingest would pick, measured by
/// seek-and-decode), the pixel difference for intra-only codecs and for rows indexed before
/// the source was recorded (motion_source NULL).
final class MotionSourceTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("motion-source") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func ffmpeg(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-v", "error", "-y"] + args
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// H.264 with B-frames, a keyframe every 2 s (not on every anchor), moving content.
    func bFrameClip() throws -> URL {
        let url = dir.appendingPathComponent("bframes.mp4")
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "5", "-c:v", "libx264", "-preset", "veryfast",
            "-bf", "2", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-pix_fmt", "yuv420p", url.path,
        ])
        return url
    }

    /// Codec vectors unless `source` says otherwise (the default source is the pixel difference).
    func library(_ name: String, tierBytes: Int = 0, source: MotionSource? = .vectors) throws -> Library {
        var config = Library.Configuration()
        config.recipe.strategy = .motion
        config.motionSource = source
        config.frameTierBytes = tierBytes
        return try Library(
            store: dir.appendingPathComponent(name), model: try TinyCLIP.model.get(), configuration: config)
    }

    /// Normalised model inputs of every sampled frame, and the sequential pass's span motion.
    func inputs(_ url: URL, grid: Int, n: Int) throws -> (crops: [[Float]], motion: [Int: [Float]]) {
        var crops: [[Float]] = []
        var deltas: [PatchMotion] = []
        try VideoReader(url: url).forEachFrame(fps: 2, motion: MotionGrid(imageSize: 224, grid: grid)) { f in
            crops.append(CLIPPreprocessor.normalize(CLIPPreprocessor.resizeAndCrop(f.image, size: 224)))
            deltas.append(f.motion!)
        }
        var motion: [Int: [Float]] = [:]
        for k in crops.indices where k % (n + 1) != 0 {
            motion[k] = PatchMotion.span(deltas[(k - k % (n + 1) + 1)...k])
        }
        return (crops, motion)
    }

    /// With A = 0 a P-feature is the ViT over its kept patches alone.
    func feature(_ model: CLIPModel, _ crop: [Float], keep: [Int]) -> [Float] {
        crop.withUnsafeBufferPointer { model.vision.encode([.init(pixels: $0.baseAddress!, keep: keep)]) }
    }

    func testVectorsAreRecordedAndReconstructionPicksTheIngestOrderPatches() async throws {
        let url = try bFrameClip()
        let model = try TinyCLIP.model.get()
        let library = try library("v.rstore")
        _ = try await library.index([url])
        let v = try library.video(url.path)
        XCTAssertEqual(v.motionSource, "vectors", "H.264 exports motion vectors; the column is read back")
        let dense = try library.embeddings(v, from: 0, to: v.duration)
        let c = model.config
        let n = v.n
        let (crops, motion) = try inputs(url, grid: c.gridSize, n: n)
        XCTAssertEqual(dense.count, crops.count)
        let reduction = try TokenReduction(p: v.p, strategy: .motion)
        var differFromPixels = 0
        for k in crops.indices where k % (n + 1) != 0 {
            let scores = try XCTUnwrap(motion[k], "frame \(k) has codec motion")
            let a = k - k % (n + 1)
            let (keep, byPixels) = crops[k].withUnsafeBufferPointer { f in
                crops[a].withUnsafeBufferPointer {
                    (
                        reduction.select(
                            grid: c.gridSize, patchSize: c.patchSize, frameIndex: k, frame: f.baseAddress,
                            anchor: $0.baseAddress, motion: scores),
                        reduction.select(
                            grid: c.gridSize, patchSize: c.patchSize, frameIndex: k, frame: f.baseAddress,
                            anchor: $0.baseAddress)
                    )
                }
            }
            let expected = feature(model, crops[k], keep: keep)
            XCTAssertLessThan(
                zip(dense[k].vector, expected).map { abs($0 - $1) }.max()!, 1e-5,
                "P-frame \(k): the ingest-order patches")
            if byPixels != keep { differFromPixels += 1 }
        }
        XCTAssertGreaterThan(differFromPixels, 0, "codec motion keeps other patches than the pixel difference")
    }

    func testIngestTierHoldsTheSamePatchesReconstructionPicks() async throws {
        let url = try bFrameClip()
        let library = try library("t.rstore", tierBytes: 1 << 30)
        _ = try await library.index([url])
        let v = try library.video(url.path)
        let src = try library.source(v)
        let rec = try library.reconstructor(for: v)
        XCTAssertEqual(src.motionSource, .vectors)
        let pFrames = (0..<v.frameCount).filter { !v.layout.isIFrame($0) }
        let tier = try XCTUnwrap(library.frameTier)
        let entries = tier.read(src, frames: pFrames, encoder: rec.encoder.withMaskSeed(src.maskSeed))
        XCTAssertEqual(entries.count, pFrames.count, "ingest filled the tier under the vectors recipe")
        XCTAssertTrue(
            tier.read(src, frames: pFrames, encoder: rec.encoder.withMaskSeed(src.maskSeed)).count == pFrames.count)
        let scores = try rec.motionScores(of: src, frames: pFrames)
        XCTAssertEqual(scores.count, pFrames.count)
        let c = rec.encoder.model.config
        let (crops, _) = try inputs(url, grid: c.gridSize, n: v.n)
        for k in pFrames {
            let a = v.layout.anchor(of: k)
            let keep = crops[k].withUnsafeBufferPointer { f in
                crops[a].withUnsafeBufferPointer {
                    rec.encoder.reduction.select(
                        grid: c.gridSize, patchSize: c.patchSize, frameIndex: k, frame: f.baseAddress,
                        anchor: $0.baseAddress, motion: scores[k])
                }
            }
            XCTAssertEqual(entries[k]?.keep, keep, "P-frame \(k): seek-and-decode picks the patches ingest stored")
        }
        // The recipe names the source: tiers written for the pixel difference are not served.
        XCTAssertNotEqual(
            tier.recipe(rec.encoder, motionSource: .vectors), tier.recipe(rec.encoder, motionSource: .pixels))
        XCTAssertEqual(
            tier.recipe(rec.encoder), tier.recipe(rec.encoder, motionSource: .pixels),
            "old recipes stay valid for the pixel source")
    }

    /// The default source, the pixel difference: ingest skips the unsampled non-reference frames,
    /// stores the offsets a full decode gives, and the patches it stores in the tier are the ones
    /// query time picks from random-access pixels (the tier off).
    func testDefaultPixelSourceSkipsAndIngestPatchesEqualRandomAccessPatches() async throws {
        let url = try bFrameClip()
        let library = try library("d.rstore", tierBytes: 1 << 30, source: nil)
        let summary = try await library.index([url])
        let v = try library.video(url.path)
        XCTAssertEqual(v.motionSource, "pixels", "the default source is recorded")
        let cost = try XCTUnwrap(summary.cost)
        XCTAssertGreaterThan(cost.framesSkipped, 0, "unsampled non-reference frames are skipped")
        XCTAssertEqual(cost[.motion], StageCost(), "no vectors read")
        // Offsets: those of a full decode (no frame skipped).
        var full: [FrameOffset] = []
        try VideoReader(url: url).forEachFrame(fps: 2, skipNonReference: false) { full.append($0.offset) }
        let src = try library.source(v)
        XCTAssertEqual(src.offsets, full, "stored offsets bit-identical to a full decode")
        XCTAssertEqual(src.motionSource, .pixels)

        let rec = try library.reconstructor(for: v)
        let pFrames = (0..<v.frameCount).filter { !v.layout.isIFrame($0) }
        let tier = try XCTUnwrap(library.frameTier)
        let entries = tier.read(src, frames: pFrames, encoder: rec.encoder.withMaskSeed(src.maskSeed))
        XCTAssertEqual(entries.count, pFrames.count, "ingest filled the tier under the pixels recipe")
        // Query time without the tier: seek-and-decode pixels of the P-frames and their anchors.
        let anchors = pFrames.map { v.layout.anchor(of: $0) }
        let px = try rec.pixels(of: src, frames: pFrames + anchors)
        let c = rec.encoder.model.config
        for k in pFrames {
            let f = CLIPPreprocessor.normalize(try XCTUnwrap(px[k]))
            let a = CLIPPreprocessor.normalize(try XCTUnwrap(px[v.layout.anchor(of: k)]))
            let keep = f.withUnsafeBufferPointer { fb in
                a.withUnsafeBufferPointer {
                    rec.encoder.reduction.select(
                        grid: c.gridSize, patchSize: c.patchSize, frameIndex: k, frame: fb.baseAddress,
                        anchor: $0.baseAddress)
                }
            }
            XCTAssertEqual(entries[k]?.keep, keep, "P-frame \(k): random access picks the patches ingest stored")
        }
    }

    /// Stage 2 beyond the tier over two videos at once (`.vectors`: pixels and motion from one
    /// decode per GOP, the videos decoded in parallel): the features of each video alone, every
    /// decoded frame charged to the query, and a decode budget that runs out stops it typed.
    func testTwoVideosDecodedTogetherGiveTheFeaturesOfEachAlone() async throws {
        let a = try bFrameClip()
        let b = dir.appendingPathComponent("second.mp4")
        try ffmpeg([
            "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25", "-t", "4", "-c:v", "libx264", "-preset",
            "veryfast", "-bf", "2", "-g", "50", "-pix_fmt", "yuv420p", b.path,
        ])
        _ = try await library("p.rstore").index([a, b])
        func sources(_ lib: Library) throws -> [(source: Reconstructor.Source, frames: [Int])] {
            try [a, b].map { url in
                let v = try lib.video(url.path)
                return (try lib.source(v), (0..<v.frameCount).filter { !v.layout.isIFrame($0) })
            }
        }
        let together = try library("p.rstore")
        let parts = try sources(together)
        let v = try together.video(a.path)
        let control = QueryControl()
        let both = try together.reconstructor(for: v).features(of: parts, control: control)
        let used = control.usage
        XCTAssertEqual(control.frameSources.tierHits, 0)
        XCTAssertGreaterThan(control.frameSources.decoded, 0)
        XCTAssertGreaterThanOrEqual(used.decodedFrames, control.frameSources.decoded, "every decoded frame charged")
        for (i, part) in parts.enumerated() {
            let alone = try library("p.rstore")  // fresh caches
            let aloneParts = try sources(alone)
            let f = try alone.reconstructor(for: v).features(of: [aloneParts[i]])[0]
            XCTAssertEqual(f.count, part.frames.count)
            for (x, y) in zip(both[i], f) {
                XCTAssertLessThan(zip(x, y).map { abs($0 - $1) }.max()!, 1e-4, "video \(i)")
            }
        }
        // A decode budget of a few frames: the query stops, typed, whichever video hits it.
        let fresh = try library("p.rstore")
        let small = QueryControl(limits: .init(maxDecodedFrames: 3))
        XCTAssertThrowsError(try fresh.reconstructor(for: v).features(of: try sources(fresh), control: small)) {
            guard case QueryError.overBudget(.decoding, _, _) = $0 else { return XCTFail("\($0)") }
        }
        let cancelled = QueryControl()
        cancelled.cancel()
        XCTAssertThrowsError(try fresh.reconstructor(for: v).features(of: try sources(fresh), control: cancelled)) {
            XCTAssertEqual($0 as? QueryError, .cancelled)
        }
    }

    func testIntraOnlyVideoRecordsPixelsAndOldRowsMeanPixels() async throws {
        let model = try TinyCLIP.model.get()
        let c = model.config
        let mjpeg = dir.appendingPathComponent("intra.mkv")
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "3", "-c:v", "mjpeg", "-q:v", "4", mjpeg.path,
        ])
        let h264 = try bFrameClip()
        let store = dir.appendingPathComponent("old.rstore")
        do {
            let library = try library("old.rstore")
            _ = try await library.index([mjpeg, h264])
            XCTAssertEqual(try library.video(mjpeg.path).motionSource, "pixels", "MJPEG has no vectors")
            XCTAssertEqual(try library.video(h264.path).motionSource, "vectors")
        }
        // A store written before migration 0005: the column is NULL.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // .timeout waits out a lock.
        p.arguments = ["sqlite3", "-cmd", ".timeout 20000", store.path, "UPDATE videos SET motion_source = NULL"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let library = try library("old.rstore")
        for url in [mjpeg, h264] {
            let v = try library.video(url.path)
            XCTAssertNil(v.motionSource)
            XCTAssertEqual(
                try library.source(v).motionSource, .pixels, "NULL: the pixel difference, what such rows always used")
            let dense = try library.embeddings(v, from: 0, to: v.duration)
            let (crops, _) = try inputs(url, grid: c.gridSize, n: v.n)
            let reduction = try TokenReduction(p: v.p, strategy: .motion)
            for k in crops.indices where k % (v.n + 1) != 0 {
                let a = k - k % (v.n + 1)
                let keep = crops[k].withUnsafeBufferPointer { f in
                    crops[a].withUnsafeBufferPointer {
                        reduction.select(
                            grid: c.gridSize, patchSize: c.patchSize, frameIndex: k, frame: f.baseAddress,
                            anchor: $0.baseAddress)
                    }
                }
                XCTAssertLessThan(
                    zip(dense[k].vector, feature(model, crops[k], keep: keep)).map { abs($0 - $1) }.max()!, 1e-5,
                    "\(url.lastPathComponent) P-frame \(k): pixel-difference patches")
            }
        }
    }
}
