import CLIP
import Foundation
import TestSupport
import Timeline
import Video
import XCTest

@testable import ResidualStore

/// `index` reports where an ingest's time went (`IngestCost`), and the motion source decides
/// how much is decoded: codec vectors need every frame, the pixel difference only the sampled
/// ones; either way the stored offsets and I-features are those of a full decode.
final class IngestCostTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TempDirectory.make("ingest-cost") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// H.264 with B-frames (non-reference frames to skip), 25 fps, moving content.
    func clip() throws -> URL {
        let url = dir.appendingPathComponent("bframes.mp4")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "6",
            "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "50", "-pix_fmt", "yuv420p", url.path,
        ]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        return url
    }

    func library(_ name: String, source: MotionSource?) throws -> Library {
        var config = Library.Configuration()
        config.recipe.strategy = .motion
        config.motionSource = source
        return try Library(
            store: dir.appendingPathComponent(name), model: try TinyCLIP.model.get(), configuration: config)
    }

    func testIndexReportsEveryStageAndNeverMoreCPUThanTheProcessSpent() async throws {
        let url = try clip()
        let summary = try await library("v.rstore", source: .vectors).index([url])
        let cost = try XCTUnwrap(summary.cost)
        XCTAssertEqual(summary.files.first?.cost, cost, "one file: the summary is its cost")
        for stage in CostStage.allCases {
            XCTAssertGreaterThan(cost[stage].wallSeconds, 0, "\(stage.rawValue) measured")
        }
        for stage in [CostStage.decode, .convert, .motion, .encode, .tier] {
            XCTAssertGreaterThan(cost[stage].cpuSeconds, 0, "\(stage.rawValue) charged CPU")
        }
        let charged = cost.stages.values.reduce(0) { $0 + $1.cpuSeconds }
        XCTAssertLessThanOrEqual(charged, cost.processCPUSeconds * 1.02 + 0.02, "no CPU counted twice")
        XCTAssertEqual(cost.unattributedCPUSeconds, max(0, cost.processCPUSeconds - charged), accuracy: 1e-9)
        XCTAssertEqual(cost.framesSampled, summary.files[0].frames)
        XCTAssertEqual(cost.framesDecoded, 150, "vectors: every frame decoded")
        XCTAssertEqual(cost.framesSkipped, 0)
        XCTAssertEqual(cost.videoSeconds, 6, accuracy: 0.1)
        XCTAssertTrue(cost.table.contains("demux_decode"))
        // Codable as `index --json` prints it.
        XCTAssertEqual(try JSONDecoder().decode(IngestCost.self, from: JSONEncoder().encode(cost)), cost)
    }

    func testPixelSourceDecodesOnlyWhatIsSampledAndStoresWhatAFullDecodeGives() async throws {
        let url = try clip()
        let byVectors = try library("v.rstore", source: .vectors)
        let byPixels = try library("p.rstore", source: .pixels)
        let a = try await byVectors.index([url])
        let b = try await byPixels.index([url])
        let v = try byVectors.video(url.path)
        let w = try byPixels.video(url.path)
        XCTAssertEqual(v.motionSource, "vectors")
        XCTAssertEqual(w.motionSource, "pixels", "the configured source is recorded")
        let full = try XCTUnwrap(a.cost)
        let skipping = try XCTUnwrap(b.cost)
        XCTAssertGreaterThan(skipping.framesSkipped, 0)
        XCTAssertLessThan(skipping.framesDecoded, full.framesDecoded)
        XCTAssertEqual(skipping[.motion], StageCost(), "no vectors read")
        // Offsets, layout and I-features: those of the full decode.
        XCTAssertEqual(try byPixels.timeline(w).map(\.time), try byVectors.timeline(v).map(\.time))
        XCTAssertEqual(w.shotStarts, v.shotStarts)
        let iv = try byVectors.embeddings(v, from: 0, to: v.duration).filter { $0.kind == .i }
        let iw = try byPixels.embeddings(w, from: 0, to: w.duration).filter { $0.kind == .i }
        XCTAssertEqual(iv.map(\.index), iw.map(\.index))
        XCTAssertEqual(iv.map(\.vector), iw.map(\.vector), "I-features bit-identical")
    }

    /// N = 0 has no P-frames: the tier gets nothing, so no vectors are read and the decoder
    /// may skip (it decoded every frame on one thread before).
    func testFullCLIPOnEveryFrameNeverDecodesForMotion() async throws {
        let url = try clip()
        var config = Library.Configuration()
        config.recipe.n = 0
        config.recipe.strategy = .motion
        config.motionSource = .vectors
        let library = try Library(
            store: dir.appendingPathComponent("n0.rstore"), model: try TinyCLIP.model.get(), configuration: config)
        XCTAssertNotNil(library.frameTier)
        let summary = try await library.index([url])
        let cost = try XCTUnwrap(summary.cost)
        XCTAssertEqual(cost[.motion], StageCost())
        XCTAssertGreaterThan(cost.framesSkipped, 0)
        XCTAssertEqual(cost[.tier].cpuSeconds, 0, accuracy: 0.01)
    }

    func testAnIndexedFileKeepsItsMotionSourceWhenTheDefaultChanges() async throws {
        let url = try clip()
        _ = try await library("s.rstore", source: .vectors).index([url])
        let again = try await library("s.rstore", source: .pixels).index([url])
        XCTAssertEqual(again.files.first?.outcome, .unchanged)
        XCTAssertEqual(try library("s.rstore", source: .pixels).video(url.path).motionSource, "vectors")
    }
}
