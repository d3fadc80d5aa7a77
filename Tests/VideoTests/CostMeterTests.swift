import Foundation
import TestSupport
import XCTest

@testable import Video

/// The ingest cost breakdown as the video layer measures it: the metered stream yields the
/// frames a full decode gives while skipping, and charges decode, conversion and motion.
final class CostMeterTests: XCTestCase {
    /// Every sampled frame of the full decode (no skipping, on the calling thread).
    func fullDecode(_ url: URL) throws -> [SampledFrame] {
        var out: [SampledFrame] = []
        try VideoReader(url: url).sequentialPass(fps: 2, skipNonReference: false) {
            out.append($0)
            return true
        }
        return out
    }

    func stream(_ url: URL, meter: CostMeter, motion: MotionGrid? = nil) async throws -> [SampledFrame] {
        var out: [SampledFrame] = []
        for try await f in try VideoReader(url: url).frames(fps: 2, motion: motion, meter: meter) { out.append(f) }
        return out
    }

    func testMeteredStreamSkipsYetGivesTheFullDecodesFramesBitForBit() async throws {
        let url = try TestVideos.video("bframes.mp4")
        let full = try fullDecode(url)
        let meter = CostMeter()
        let sampled = try await stream(url, meter: meter)
        XCTAssertEqual(sampled.map(\.offset), full.map(\.offset))
        for (a, b) in zip(sampled, full) { XCTAssertEqual(a.image, b.image, "sample \(a.offset.index)") }
        let cost = meter.finish(videoSeconds: 4)
        XCTAssertGreaterThan(cost.framesSkipped, 0, "non-reference frames that are not sampled are skipped")
        XCTAssertLessThan(
            cost.framesDecoded, try VideoReader(url: url).info.frameCountEstimate,
            "fewer frames decoded than the file has")
        XCTAssertEqual(cost.framesSampled, full.count)
        XCTAssertEqual(cost.framesConverted, Set(full.map(\.offset.pts)).count, "each decoded picture converted once")
        XCTAssertGreaterThan(cost[.decode].cpuSeconds, 0)
        XCTAssertGreaterThan(cost[.convert].cpuSeconds, 0)
        XCTAssertEqual(cost[.motion], StageCost(), "no motion asked, none charged")
    }

    func testMotionDecodesEveryFrameAndIsChargedApartFromDecoding() async throws {
        let url = try TestVideos.video("bframes.mp4")
        let meter = CostMeter()
        let frames = try await stream(url, meter: meter, motion: MotionGrid(imageSize: 224, grid: 7))
        XCTAssertTrue(frames.allSatisfy { $0.motion != nil })
        let cost = meter.finish(videoSeconds: 4)
        XCTAssertEqual(cost.framesSkipped, 0, "codec vectors need every frame")
        XCTAssertEqual(cost.framesDecoded, try VideoReader(url: url).info.frameCountEstimate)
        XCTAssertGreaterThan(cost[.motion].cpuSeconds, 0)
        XCTAssertGreaterThan(cost[.decode].cpuSeconds, 0)
    }

    /// The decode thread's name is the pass's own, so its decoder's threads are told apart
    /// from another pass's.
    func testEveryPassGetsADecodeThreadNameOfItsOwnWithinTheKernelLimit() {
        let a = VideoReader.decodeThreadName()
        let b = VideoReader.decodeThreadName()
        XCTAssertNotEqual(a, b)
        XCTAssertTrue(a.hasPrefix("rstore.dec"))
        XCTAssertLessThanOrEqual(a.utf8.count, 15)
    }

    /// Helper threads' CPU is charged to a stage that fans out (GEMMs on worker pools), and
    /// the pipeline's own threads are not.
    func testMeasureWithHelpersChargesWorkerThreadsCPU() {
        let meter = CostMeter()
        meter.measure(.encode, helpers: true) {
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                let t0 = ThreadCPU.current()
                var x = 1.0
                while ThreadCPU.current() - t0 < 0.05 { x = (x * 1.000001).truncatingRemainder(dividingBy: 7) }
                XCTAssertGreaterThan(x, -1)
            }
        }
        let cost = meter.finish(videoSeconds: 1)
        XCTAssertGreaterThanOrEqual(cost[.encode].cpuSeconds, 0.095, "both workers' CPU, whichever threads ran them")
        XCTAssertLessThanOrEqual(cost[.encode].cpuSeconds, cost.processCPUSeconds + 0.01)
    }
}
