import Foundation
import TestSupport
import XCTest

@testable import Video

/// Random access: frames decoded from stored offsets are byte-identical to the sequential pass.
final class SeekTests: XCTestCase {
    func allVideos() throws -> [URL] {
        var files = try SampleVideos.all()
        files += try (TestVideos.generated + ["rawh264.h264"]).map { try TestVideos.video($0) }
        return files
    }

    /// Every sampled frame, decoded alone from its offset in random order, equals the sequential pass.
    func testSingleFrameRandomAccessIsByteIdentical() throws {
        var rng = SystemRandomNumberGenerator()
        for url in try allVideos() {
            let sequential = try DecodeTestSupport.sampleAll(url)
            XCTAssertFalse(sequential.isEmpty, url.lastPathComponent)
            let reader = try VideoReader(url: url)
            for i in Array(sequential.indices).shuffled(using: &rng) {
                let f = sequential[i]
                let img = try reader.decode(f.offset)
                XCTAssertTrue(
                    img == f.image, "\(url.lastPathComponent): sample \(f.offset.index) (pts \(f.offset.pts)) differs")
            }
        }
    }

    /// The batched API, in shuffled order with duplicates, returns the same pixels in input order.
    func testBatchedRandomAccessIsByteIdentical() throws {
        var rng = SystemRandomNumberGenerator()
        for url in try allVideos() {
            let sequential = try DecodeTestSupport.sampleAll(url)
            let reader = try VideoReader(url: url)
            var order = Array(sequential.indices).shuffled(using: &rng)
            if let first = order.first { order.append(first) }  // a duplicate request
            let seeksBefore = reader.input.seeks
            let images = try reader.decode(offsets: order.map { sequential[$0].offset })
            XCTAssertEqual(images.count, order.count)
            // One seek per GOP (distinct seek point), except where a container needs a retry.
            let gops = Set(sequential.map(\.offset.seekPTS)).count
            if url.pathExtension == "mp4" || url.pathExtension == "mkv" {
                XCTAssertEqual(reader.input.seeks - seeksBefore, gops, "\(url.lastPathComponent): seeks per GOP")
            }
            for (img, i) in zip(images, order) {
                XCTAssertTrue(img == sequential[i].image, "\(url.lastPathComponent): batched sample \(i) differs")
            }
            // A subset sharing GOPs.
            let some = stride(from: 0, to: sequential.count, by: 2).map { sequential[$0] }
            let imgs = try reader.decode(offsets: some.map(\.offset))
            XCTAssertTrue(zip(imgs, some).allSatisfy { $0 == $1.image }, url.lastPathComponent)
        }
    }

    /// A long-GOP video: many samples share a GOP; the batch decodes each GOP once.
    func testBatchSharesGOPs() throws {
        let url = try DecodeTestSupport.makeVideo(
            TestVideos.dir, "longgop.mp4", seconds: 5,
            extra: ["-g", "300", "-bf", "3", "-pix_fmt", "yuv420p"])
        let sequential = try DecodeTestSupport.sampleAll(url)
        XCTAssertEqual(Set(sequential.map(\.offset.seekPTS)).count, 1, "one GOP")
        let reader = try VideoReader(url: url)
        let images = try reader.decode(offsets: sequential.reversed().map(\.offset))
        XCTAssertTrue(zip(images, sequential.reversed()).allSatisfy { $0 == $1.image })
        XCTAssertEqual(reader.input.seeks, 1, "one seek for the one GOP")
    }

    /// Offsets that do not belong to the file fail with a typed error naming the file.
    func testUnknownOffsetFails() throws {
        let url = try TestVideos.video("bframes.mp4")
        let reader = try VideoReader(url: url)
        let bogus = FrameOffset(index: 3, pts: 123_456_789, time: 1.5, seekPTS: 0)
        XCTAssertThrowsError(try reader.decode(bogus)) { e in
            guard case VideoError.frameNotFound = e else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("bframes.mp4"))
        }
        XCTAssertEqual(try reader.decode(offsets: []).count, 0)
    }
}

/// `deblockTargetsOnly`: the frames decoded only on the way to a wanted one skip the deblocking
/// filter (stage 2 beyond the tier). Pictures drift a little from a full decode; the model's
/// crops stay within the cosine docs/DESIGN.md states.
final class DeblockTargetsOnlyTests: XCTestCase {
    func testSkippedDeblockingDriftsLittleAndSparesTheKeyframe() throws {
        // One 10 s GOP, B-frames, coarse quantiser: deblocking does work on every frame.
        let url = try DecodeTestSupport.makeVideo(
            TestVideos.dir, "deblock-gop.mp4", source: "testsrc2=size=320x240:rate=25", seconds: 8,
            extra: ["-g", "250", "-bf", "3", "-crf", "32", "-pix_fmt", "yuv420p"])
        let sequential = try DecodeTestSupport.sampleAll(url)
        XCTAssertEqual(Set(sequential.map(\.offset.seekPTS)).count, 1, "one GOP")
        let reader = try VideoReader(url: url)
        XCTAssertFalse(reader.deblockTargetsOnly, "off by default: ingest decodes in full")
        reader.deblockTargetsOnly = true
        let images = try reader.decode(offsets: sequential.map(\.offset))
        XCTAssertEqual(images.count, sequential.count)
        // The keyframe is decoded from nothing before it: identical.
        XCTAssertTrue(images[0] == sequential[0].image, "the keyframe is a target and has no reference")
        var changed = 0
        var worst: Float = 1
        for (img, f) in zip(images, sequential) {
            if img != f.image { changed += 1 }
            let a = Self.centred(CLIPPreprocessor.resizeAndCrop(img, size: 224))
            let b = Self.centred(CLIPPreprocessor.resizeAndCrop(f.image, size: 224))
            worst = min(worst, Self.cosine(a, b))
        }
        XCTAssertGreaterThan(changed, sequential.count / 2, "the filter was skipped on the way")
        XCTAssertGreaterThan(worst, 0.99, "crops within the stated cosine of a full decode")

        // Off again: byte-identical to the sequential pass.
        reader.deblockTargetsOnly = false
        let full = try reader.decode(offsets: sequential.map(\.offset))
        XCTAssertTrue(zip(full, sequential).allSatisfy { $0 == $1.image })
    }

    /// Pixels minus their mean: the cosine then measures the picture, not its brightness.
    static func centred(_ img: RGBImage) -> [Float] {
        let v = img.pixels.map(Float.init)
        let mean = v.reduce(0, +) / Float(max(1, v.count))
        return v.map { $0 - mean }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var (ab, aa, bb): (Float, Float, Float) = (0, 0, 0)
        for (x, y) in zip(a, b) {
            ab += x * y
            aa += x * x
            bb += y * y
        }
        return ab / max(1e-12, (aa * bb).squareRoot())
    }
}
